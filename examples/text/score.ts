/**
 * The text example's score module: a spam filter, shaped like the question-answering
 * example of AzureML's Triton guide — the tokenizer runs in the worker, the engine runs
 * the model.
 *
 *   POST /score {"text": "Subject: You WIN!!!\n\nClaim your $1,000,000 prize now"}
 *   → {"label": "spam", "score": 0.99}
 *
 * `text` is an e-mail (headers, a blank line, the body; only the Subject header is read)
 * or plain text. run() tokenizes and hashes it into the model's feature vector with the
 * same code the trainer used (tools/train/text-features.ts), so serving sees features made
 * exactly as in training. `score` is the model's probability of spam; `label` is spam from
 * 0.5 up. Each request is one row; the engine batches concurrent requests.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { InitContext, RunContext } from 'scoreline';
import { InferInput, InferRequestedOutput, type InferenceServerClient } from 'scoreline/client';
import { messageFeatures, writeDense } from '../../tools/train/text-features';

const MODEL = 'spam_classifier';
const INPUT = 'features';
const OUTPUT = 'probabilities';

export const inputSchema = z.object({
  text: z.string().min(1).max(1_000_000).describe('an e-mail (headers, blank line, body) or plain text'),
});

export const outputSchema = z.object({
  label: z.enum(['ham', 'spam']),
  score: z.number().describe('probability that the text is spam'),
});

type Input = z.infer<typeof inputSchema>;
type Output = z.infer<typeof outputSchema>;

let client: InferenceServerClient;
let width: number;
let spamIndex: number;
let classes: number;

export async function init(context: InitContext): Promise<void> {
  if (context.client === undefined || context.modelDir === undefined) {
    throw new Error(`the spam example needs the engine and its model: serve it with --model-repository examples/model_repository`);
  }
  client = context.client;
  // The feature width is the model's, read from the engine, so it cannot drift from training.
  const metadata = await client.getModelMetadata(MODEL);
  const input = metadata.inputs.find((t) => t.name === INPUT);
  if (input === undefined) throw new Error(`model '${MODEL}' has no input '${INPUT}'`);
  width = Number(input.shape[input.shape.length - 1]);
  const labels = (await readFile(join(context.modelDir, MODEL, 'labels.txt'), 'utf8')).split('\n').filter((line) => line !== '');
  classes = labels.length;
  spamIndex = labels.indexOf('spam');
  if (spamIndex < 0) throw new Error(`model '${MODEL}': labels.txt has no 'spam' label`);
  context.logger.info(`spam: ${width} hashed features, labels ${labels.join(', ')}`);
}

export async function run(input: Input, context: RunContext): Promise<Output> {
  const features = writeDense(messageFeatures(input.text, width), new Float32Array(width));
  const tensor = new InferInput(INPUT, [1, width], 'FP32').setData(features);
  const result = await client.infer(MODEL, [tensor], { outputs: [new InferRequestedOutput(OUTPUT)], signal: context.signal });
  const p = result.asTypedArray<Float32Array>(OUTPUT);
  const score = p[spamIndex]!;
  if (p.length !== classes) throw new Error(`model '${MODEL}' returned ${p.length} probabilities for ${classes} labels`);
  return { label: score >= 0.5 ? 'spam' : 'ham', score: Math.round(score * 1e4) / 1e4 };
}
