/**
 * The MLP benchmark's score module, written as a user would write scoring/score.ts for the
 * 512→2048→2048→512→10 MLP: rows of 512 features in, the 10 outputs of each row back.
 *
 *   POST /score {"data": [[x0, ..., x511]]}  →  {"result": [[y0, ..., y9]]}
 *
 * The rows of a request go to the engine as one binary FP32 tensor; the engine's dynamic
 * batcher merges concurrent requests (the naive deployment runs each alone).
 */
import type { InitContext, RunContext } from '../../src';
import { InferInput, InferRequestedOutput, type InferenceServerClient } from '../../src/client';

const MODEL = 'mlp_bench';
const FEATURES = 512;
const OUTPUTS = 10;

let client: InferenceServerClient;

export function init(context: InitContext): void {
  if (context.client === undefined) throw new Error(`the MLP benchmark module needs the engine (serve it with --model-repository)`);
  client = context.client;
}

export async function run(input: { data?: unknown }, context: RunContext): Promise<{ result: number[][] }> {
  const rows = input?.data;
  if (!Array.isArray(rows) || rows.length === 0 || !rows.every((r) => Array.isArray(r) && r.length === FEATURES)) {
    throw new Error(`expected {"data": [[${FEATURES} numbers], ...]}`);
  }
  const x = new InferInput('INPUT0', [rows.length, FEATURES], 'FP32').setData(Float32Array.from((rows as number[][]).flat()));
  const result = await client.infer(MODEL, [x], { outputs: [new InferRequestedOutput('OUTPUT0')], signal: context.signal });
  const y = result.asTypedArray<Float32Array>('OUTPUT0');
  return { result: rows.map((_, i) => Array.from(y.subarray(i * OUTPUTS, (i + 1) * OUTPUTS))) };
}
