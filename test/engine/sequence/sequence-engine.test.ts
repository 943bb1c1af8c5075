/**
 * Sequence batching from the outside: a built `scoreline engine` on the generator's
 * accumulator (OUTPUT = INPUT + state), driven the way tritonclient drives Triton —
 * scoreline/client's sequenceId/sequenceStart/sequenceEnd over HTTP, the InferParameter map
 * over gRPC (unary and ModelStreamInfer) — with integer and string correlation IDs. One
 * sequence may be stepped over both protocols: the state lives in the engine. Errors are
 * 400 / INVALID_ARGUMENT with texts that say what is wrong; idle sequences are released and
 * the metrics count them.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { InferInput, InferenceServerClient, InferenceServerError } from '../../../src/client';
import { scaleBy } from '../../../tools/onnx/model-zoo';
import { writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { type RunningEngine, startEngine } from '../../helpers/start-engine';
import { connectGrpc, type GrpcTestClient } from '../grpc/helpers/grpc-test-client';
import { WIDTH, writeAccumulator } from './accumulator-repository';

jest.setTimeout(60_000);

// Long enough that the metrics read right after a step still sees the sequence on a busy machine.
const IDLE_US = 1_500_000;
let repo: string;
let engine: RunningEngine;
let client: InferenceServerClient;
let grpc: GrpcTestClient;

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-sequence-engine-'));
  await writeAccumulator(repo, { name: 'acc', maxBatchSize: 4, strategy: 'oldest { max_candidate_sequences: 16 }' });
  await writeAccumulator(repo, { name: 'acc_string', maxBatchSize: 4, corrid: 'STRING' });
  await writeAccumulator(repo, { name: 'acc_idle', maxBatchSize: 4, idleUs: IDLE_US });
  await writeRepositoryModel(repo, { name: 'plain', versions: { 1: scaleBy(2).bytes } });
  engine = await startEngine({ modelRepository: repo });
  client = new InferenceServerClient({ url: engine.url.replace('http://', '') });
  grpc = connectGrpc(engine.grpcUrl!);
});

afterAll(async () => {
  grpc?.close();
  await client?.close();
  await engine?.stop();
  await fs.rm(repo, { recursive: true, force: true });
});

const values = (x: number) => Array.from({ length: WIDTH }, (_, i) => x + i);
/** The running sum after inputs xs: each element i is sum(x) + i·n. */
const sum = (...xs: number[]) => Array.from({ length: WIDTH }, (_, i) => xs.reduce((a, x) => a + x + i, 0));

async function httpStep(model: string, id: number | string, x: number, flags: { start?: boolean; end?: boolean } = {}) {
  const result = await client.infer(model, [new InferInput('INPUT', [1, WIDTH], 'FP32').setData(values(x))], {
    sequenceId: id,
    sequenceStart: flags.start,
    sequenceEnd: flags.end,
  });
  return {
    output: Array.from(result.asTypedArray('OUTPUT') as Float32Array),
    corrid: (result.asTypedArray('CORRID_SEEN') as ArrayLike<unknown>)[0],
    names: result.getResponse().outputs.map((o) => o.name),
  };
}

const grpcParameters = (id: number | string, flags: { start?: boolean; end?: boolean }) => ({
  sequence_id: typeof id === 'string' ? { string_param: id } : { uint64_param: id },
  sequence_start: { bool_param: flags.start ?? false },
  sequence_end: { bool_param: flags.end ?? false },
});
const grpcRequest = (model: string, id: number | string, x: number, flags: { start?: boolean; end?: boolean } = {}) => ({
  model_name: model,
  inputs: [{ name: 'INPUT', datatype: 'FP32', shape: [1, WIDTH], contents: { fp32_contents: values(x) } }],
  outputs: [{ name: 'OUTPUT' }],
  parameters: grpcParameters(id, flags),
});
const grpcOutput = (response: { raw_output_contents: Buffer[] }) => Array.from(new Float32Array(Uint8Array.from(response.raw_output_contents[0]!).buffer));

async function httpError(model: string, body: object): Promise<{ status: number; error: string }> {
  const response = await fetch(`${engine.url}/v2/models/${model}/infer`, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, error: ((await response.json()) as { error: string }).error };
}
const jsonRequest = (parameters: object) => ({ inputs: [{ name: 'INPUT', datatype: 'FP32', shape: [1, WIDTH], data: values(0) }], parameters });

/** The sample of `name` whose labels include every fragment (e.g. 'model="m"'). */
async function metricValue(name: string, ...labels: string[]): Promise<number | undefined> {
  const text = await (await fetch(engine.metricsUrl!)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && labels.every((f) => l.includes(f)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('over HTTP with scoreline/client', () => {
  it('keeps interleaved sequences apart (integer IDs), fills CORRID, and returns no state outputs', async () => {
    await httpStep('acc', 1, 1, { start: true });
    await httpStep('acc', 2, 10, { start: true });
    const [a, b] = await Promise.all([httpStep('acc', 1, 2), httpStep('acc', 2, 20)]);
    expect(a.output).toEqual(sum(1, 2));
    expect(b.output).toEqual(sum(10, 20));
    expect(Number(b.corrid)).toBe(2);
    expect(a.names).toEqual(['OUTPUT', 'START_SEEN', 'END_SEEN', 'CORRID_SEEN']);
    expect((await httpStep('acc', 1, 3, { end: true })).output).toEqual(sum(1, 2, 3));
    expect((await httpStep('acc', 2, 30, { end: true })).output).toEqual(sum(10, 20, 30));
  });

  it('carries string correlation IDs into a TYPE_STRING CORRID control', async () => {
    await httpStep('acc_string', 'caller-a', 1, { start: true });
    await httpStep('acc_string', 'caller-b', 5, { start: true });
    const a = await httpStep('acc_string', 'caller-a', 2, { end: true });
    expect(a.output).toEqual(sum(1, 2));
    expect(String(a.corrid)).toBe('caller-a');
    expect((await httpStep('acc_string', 'caller-b', 5, { end: true })).output).toEqual(sum(5, 5));
  });

  it('answers 400 naming what is wrong: never started, ended, wrong ID type, a model without sequence_batching, bad parameters', async () => {
    const never = await httpStep('acc', 404, 1).catch((e: unknown) => e);
    expect(never).toBeInstanceOf(InferenceServerError);
    expect((never as InferenceServerError).status).toBe(400);
    expect((never as Error).message).toBe("inference request for sequence 404 to model 'acc' must specify the START flag on the first request of the sequence");

    await httpStep('acc', 405, 1, { start: true, end: true });
    expect(await httpError('acc', jsonRequest({ sequence_id: 405 }))).toEqual({
      status: 400,
      error:
        "inference request for sequence 405 to model 'acc' must specify the START flag on the first request of the sequence: sequence 405 has ended (sequence_end); send sequence_start to begin a new one",
    });
    expect(await httpError('acc', jsonRequest({ sequence_id: 'named', sequence_start: true }))).toEqual({
      status: 400,
      error: "inference request for sequence named to model 'acc': the correlation ID is a string, but the CONTROL_SEQUENCE_CORRID input 'CORRID' has data type TYPE_UINT64",
    });
    const plain = await httpError('plain', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [1, 2] }], parameters: { sequence_id: 4, sequence_start: true } });
    expect(plain.status).toBe(400);
    expect(plain.error).toContain("inference request to model 'plain' specifies sequence_id 4, but the model has no sequence_batching");
    expect(await httpError('acc', jsonRequest({ sequence_id: true }))).toEqual({ status: 400, error: "parameter 'sequence_id' must be an unsigned integer or a string" });
    expect(await httpError('acc', jsonRequest({ sequence_id: 3, sequence_start: 'yes' }))).toEqual({ status: 400, error: "parameter 'sequence_start' must be a boolean" });
    expect(await httpError('acc', jsonRequest({}))).toEqual({
      status: 400,
      error: "inference request to model 'acc' must specify a non-zero or non-empty correlation ID",
    });
  });
});

describe('over gRPC', () => {
  it('steps a sequence with InferParameters (uint64 and string IDs), and continues one that HTTP started', async () => {
    await httpStep('acc', 50, 1, { start: true });
    expect(grpcOutput(await grpc.rpc('ModelInfer', grpcRequest('acc', 50, 2)))).toEqual(sum(1, 2));
    expect((await httpStep('acc', 50, 3, { end: true })).output).toEqual(sum(1, 2, 3));

    await grpc.rpc('ModelInfer', grpcRequest('acc_string', 'g-1', 4, { start: true }));
    expect(grpcOutput(await grpc.rpc('ModelInfer', grpcRequest('acc_string', 'g-1', 4, { end: true })))).toEqual(sum(4, 4));
  });

  it('refuses a step of a sequence never started with INVALID_ARGUMENT and Triton\'s text', async () => {
    const error = await grpc.rpcError('ModelInfer', grpcRequest('acc', 4040, 1));
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toBe("inference request for sequence 4040 to model 'acc' must specify the START flag on the first request of the sequence");
  });

  it('runs a sequence over ModelStreamInfer, its answers in order', async () => {
    const stream = grpc.openStream();
    stream.send(grpcRequest('acc', 60, 1, { start: true }));
    stream.send(grpcRequest('acc', 60, 2));
    stream.send(grpcRequest('acc', 60, 3, { end: true }));
    const answers = await stream.next(3);
    expect(answers.map((a) => a.error_message)).toEqual(['', '', '']);
    expect(answers.map((a) => grpcOutput(a.infer_response))).toEqual([sum(1), sum(1, 2), sum(1, 2, 3)]);
    expect((await stream.end()).code).toBe(status.OK);
  });
});

describe('idle sequences and metrics', () => {
  it('releases a sequence idle for max_sequence_idle_microseconds, says so, and counts it', async () => {
    const labels = 'model="acc_idle",version="1"';
    await httpStep('acc_idle', 7, 1, { start: true });
    expect(await metricValue('scoreline_sequence_active', labels)).toBe(1);
    expect(await metricValue('scoreline_sequence_started_total', labels)).toBe(1);
    // Idle expiry runs on the engine's clock: poll the metric (bounded), no fixed sleep.
    const deadline = Date.now() + 20_000;
    while ((await metricValue('scoreline_sequence_active', labels)) !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await metricValue('scoreline_sequence_active', labels)).toBe(0);
    expect(await metricValue('scoreline_sequence_released_total', labels, 'reason="idle"')).toBe(1);
    const late = await httpError('acc_idle', jsonRequest({ sequence_id: 7 }));
    expect(late.status).toBe(400);
    expect(late.error).toBe(
      `inference request for sequence 7 to model 'acc_idle' must specify the START flag on the first request of the sequence: sequence 7 was released after ${IDLE_US} us without requests (max_sequence_idle_microseconds), and its state with it; send sequence_start to begin again`,
    );
    // A new START begins from the initial state.
    expect((await httpStep('acc_idle', 7, 2, { start: true, end: true })).output).toEqual(sum(2));
    expect(await metricValue('scoreline_sequence_released_total', labels, 'reason="end"')).toBe(1);
  });

  it('lists sequence metrics only for sequence models', async () => {
    expect(await metricValue('scoreline_sequence_active', 'model="plain"')).toBeUndefined();
  });
});
