/**
 * The tabular example's score module: Iris species from flower measurements.
 *
 *   POST /score {"data": [[5.1, 3.5, 1.4, 0.2]]}
 *   → {"predictions": [{"species": "setosa", "probabilities": {"setosa": 0.98, ...}}]}
 *
 * init() keeps the engine client and reads the model's labels from the model directory
 * (AZUREML_MODEL_DIR, or the model repository), as an AzureML entry script reads its
 * model files. run() sends all rows of a request as one binary FP32 tensor; the engine's
 * dynamic batcher merges concurrent requests into larger batches.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { InitContext, RunContext } from 'scoreline';
import { InferInput, InferRequestedOutput, type InferenceServerClient } from 'scoreline/client';

const MODEL = 'iris';
const INPUT = 'measurements';
const OUTPUT = 'probabilities';
/** The model's max_batch_size: a request with more rows would be refused by the engine. */
const MAX_ROWS = 64;

export const inputSchema = z.object({
  data: z
    .array(z.array(z.number()).length(4))
    .min(1)
    .max(MAX_ROWS)
    .describe('flowers, each [sepal length, sepal width, petal length, petal width] in cm'),
});

export const outputSchema = z.object({
  predictions: z.array(
    z.object({
      species: z.string().describe('the most probable species'),
      probabilities: z.record(z.string(), z.number()).describe('probability of each species'),
    }),
  ),
});

type Input = z.infer<typeof inputSchema>;
type Output = z.infer<typeof outputSchema>;

let client: InferenceServerClient;
let labels: string[];

export async function init(context: InitContext): Promise<void> {
  if (context.client === undefined || context.modelDir === undefined) {
    throw new Error(`the iris example needs the engine and its model: serve it with --model-repository examples/model_repository`);
  }
  client = context.client;
  labels = (await readFile(join(context.modelDir, MODEL, 'labels.txt'), 'utf8')).split('\n').filter((line) => line !== '');
  context.logger.info(`iris: species ${labels.join(', ')}`);
}

export async function run(input: Input, context: RunContext): Promise<Output> {
  const rows = input.data;
  const measurements = new InferInput(INPUT, [rows.length, 4], 'FP32').setData(Float32Array.from(rows.flat()));
  const result = await client.infer(MODEL, [measurements], { outputs: [new InferRequestedOutput(OUTPUT)], signal: context.signal });
  const p = result.asTypedArray<Float32Array>(OUTPUT);
  return {
    predictions: rows.map((_, r) => {
      const row = labels.map((label, c) => [label, round(p[r * labels.length + c]!)] as const);
      const best = row.reduce((a, b) => (b[1] > a[1] ? b : a));
      return { species: best[0], probabilities: Object.fromEntries(row) };
    }),
  };
}

function round(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}
