/**
 * Small KServe v2 HTTP helpers for the model and control-mode suites, which talk to a real
 * `scoreline engine` child process with fetch, and models built by the project's generator.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { encodeModel } from '../../../../tools/onnx/onnx-builder';
import type { OnnxModel } from '../../../../tools/onnx/model-zoo';
import { RepositoryModel, writeRepositoryModel } from '../../../../tools/onnx/repository-writer';

export interface JsonTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

export interface InferReply {
  status: number;
   
  json: any;
}

export async function inferJson(
  url: string,
  model: string,
  inputs: JsonTensor[],
  options: { version?: string; outputs?: object[] } = {},
): Promise<InferReply> {
  const target = `${url}/v2/models/${model}${options.version ? `/versions/${options.version}` : ''}/infer`;
  const body: Record<string, unknown> = { inputs };
  if (options.outputs) body.outputs = options.outputs;
  const res = await fetch(target, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  return { status: res.status, json: await res.json() };
}

 
export async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

export async function post(url: string, body: unknown = {}): Promise<InferReply> {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
}

export async function isModelReady(url: string, model: string, version?: string): Promise<boolean> {
  const res = await fetch(`${url}/v2/models/${model}${version ? `/versions/${version}` : ''}/ready`);
  await res.arrayBuffer();
  return res.status === 200;
}

export interface IndexEntry {
  name: string;
  version?: string;
  state?: string;
  reason?: string;
}

export async function repositoryIndex(url: string): Promise<IndexEntry[]> {
  return (await post(`${url}/v2/repository/index`)).json as IndexEntry[];
}

/** Polls `check` every 50 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Writes a model next to the repository and renames it into place, so a poll never sees
 * it half written (a user copying a model in should do the same).
 */
export async function placeModel(repo: string, model: RepositoryModel, extraFiles: Record<string, Uint8Array | string> = {}): Promise<void> {
  const staging = await fs.mkdtemp(path.join(path.dirname(repo), '.staging-'));
  try {
    await writeRepositoryModel(staging, model);
    for (const [file, contents] of Object.entries(extraFiles)) {
      await fs.mkdir(path.dirname(path.join(staging, model.name, file)), { recursive: true });
      await fs.writeFile(path.join(staging, model.name, file), contents);
    }
    const target = path.join(repo, model.name);
    const old = path.join(staging, 'old');
    await fs.rename(target, old).catch(() => undefined);
    await fs.rename(path.join(staging, model.name), target);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** FP32 INPUT0, INPUT1 [batch, n] → OUTPUT0 = a + b, OUTPUT1 = a − b. */
export function fp32AddSub(): OnnxModel {
  const io = (name: string) => ({ name, datatype: 'FP32' as const, dims: ['batch', 'n'] });
  const inputs = [io('INPUT0'), io('INPUT1')];
  const outputs = [io('OUTPUT0'), io('OUTPUT1')];
  const nodes = [
    { opType: 'Add', name: 'add', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT0'] },
    { opType: 'Sub', name: 'sub', inputs: ['INPUT0', 'INPUT1'], outputs: ['OUTPUT1'] },
  ];
  return { bytes: encodeModel({ graph: { name: 'fp32_add_sub', inputs, outputs, nodes } }), inputs, outputs };
}

export function closeTo(actual: number[], expected: number[], digits = 5): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, digits));
}
