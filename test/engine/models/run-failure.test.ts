/**
 * A run that onnxruntime fails (a model fed lengths its Add cannot broadcast: the dims are
 * dynamic, so the request is valid) answers what Triton's onnxruntime backend answers:
 * 500 / INTERNAL with onnxruntime's own text after "onnx runtime error", not a bare
 * "internal error"; source paths are taken out of the reply, the log keeps them; the
 * engine keeps serving and counts the request as a BACKEND failure. From the outside:
 * `scoreline engine` in a child process, raw HTTP (fetch) and a plain gRPC client.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { unbroadcastableAdd } from '../../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { GrpcTestClient, connectGrpc } from '../grpc/helpers/grpc-test-client';

 

let repo: string;
let engine: RunningEngine;
let client: GrpcTestClient;

/**
 * onnxruntime's text for this failure; the kernel's source path (which onnxruntime puts
 * after "Status Message:") is <path> in a reply.
 */
const ORT_TEXT =
  /^onnx runtime error: Non-zero status code returned while running Add node\. Name:'add' Status Message: <path> .*Attempting to broadcast an axis by a dimension other than 1\. 2 by 3$/;

const tensor = (name: string, n: number, value: number) => ({ name, datatype: 'FP32', shape: [n], data: new Array(n).fill(value) });

async function infer(a: number, b: number): Promise<{ status: number; json: any }> {
  const res = await fetch(`${engine.url}/v2/models/adder/infer`, {
    method: 'POST',
    body: JSON.stringify({ inputs: [tensor('A', a, 1), tensor('B', b, 2)] }),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, json: await res.json() };
}

async function stats(): Promise<any> {
  return ((await (await fetch(`${engine.url}/v2/models/adder/stats`)).json()) as any).model_stats[0];
}

async function backendFailures(): Promise<number> {
  const text = await (await fetch(engine.metricsUrl!)).text();
  const line = text.split('\n').find((l) => l.startsWith('nv_inference_request_failure{') && l.includes('model="adder"') && l.includes('reason="BACKEND"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-run-failure-'));
  const fp32 = (name: string) => ({ name, datatype: 'FP32' as const, dims: [-1] });
  await writeRepositoryModel(repo, {
    name: 'adder',
    versions: { 1: unbroadcastableAdd().bytes },
    config: configText({ name: 'adder', maxBatchSize: 0, inputs: [fp32('A'), fp32('B')], outputs: [fp32('SUM')] }),
  });
  engine = await startEngine({ modelRepository: repo, args: ['--model-control-mode=explicit', '--load-model=adder'] });
  client = connectGrpc(engine.grpcUrl!);
});

afterAll(async () => {
  client?.close();
  await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
});

test("HTTP: 500 with onnxruntime's message, no source path in it; the log has the whole text", async () => {
  const res = await infer(2, 3);
  expect(res.status).toBe(500);
  expect(res.json.error).toMatch(ORT_TEXT);
  // The log line is written before the reply, but reaches this process on another pipe: wait for it.
  const logged = /model 'adder' version 1: onnxruntime run failed: Non-zero status code returned while running Add node\. Name:'add' Status Message: \/onnxruntime_src\/\S+element_wise_ops\.h:\d+ /;
  for (const until = Date.now() + 10_000; !logged.test(engine.output()) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
  expect(engine.output()).toMatch(logged);
});

test("gRPC: INTERNAL with the same message", async () => {
  const err = await client.rpcError('ModelInfer', {
    model_name: 'adder',
    inputs: [
      { name: 'A', datatype: 'FP32', shape: [2], contents: { fp32_contents: [1, 1] } },
      { name: 'B', datatype: 'FP32', shape: [3], contents: { fp32_contents: [2, 2, 2] } },
    ],
  });
  expect(err.code).toBe(status.INTERNAL);
  expect(err.details).toMatch(ORT_TEXT);
});

test('the engine keeps serving the model, and counts each failure (BACKEND) apart from the successes', async () => {
  const before = await stats();
  const failuresBefore = await backendFailures();
  expect((await infer(2, 3)).status).toBe(500);
  const ok = await infer(3, 3);
  expect(ok.status).toBe(200);
  expect(ok.json.outputs[0]).toMatchObject({ name: 'SUM', shape: [3], data: [3, 3, 3] });
  const after = await stats();
  expect(after.inference_stats.fail.count).toBe(before.inference_stats.fail.count + 1);
  expect(after.inference_stats.success.count).toBe(before.inference_stats.success.count + 1);
  expect(await backendFailures()).toBe(failuresBefore + 1);
});
