/**
 * Model repositories for the fault scenarios, written by the project's own ONNX generator
 * into temporary directories (the caller removes them).
 *
 *   mlp        FP32 [batch, 8] → [batch, 4], the test repository's MLP (auto-complete config)
 *   slow_mlp   FP32 [batch, 512] → [batch, 10] through 2048-wide layers (about 1 ms a
 *              sample on one thread), batch ≤ 4, one instance, and a queue of at most
 *              SLOW_MLP_QUEUE requests: beyond it the engine answers 503
 *   deadline_mlp the slow MLP with batch ≤ 16 and no queue policy: a request's timeout
 *              counts in its queue (sheddingRepository)
 *   held_mlp   the small MLP whose batches wait HELD_DELAY_MS for company (preferred size 4):
 *              a lone request sits in the queue that long (sheddingRepository)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mlp } from '../../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { testModels } from '../../fixtures/test-repository';

export const SLOW_MLP_QUEUE = 8;
export const SLOW_MLP_FEATURES = 512;
export const MLP_FEATURES = 8;

export interface Repository {
  dir: string;
  remove(): Promise<void>;
}

async function temporary(): Promise<Repository> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-faults-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Just the small MLP: the engine loads it in well under a second. */
export async function mlpRepository(): Promise<Repository> {
  const repo = await temporary();
  await writeRepositoryModel(repo.dir, { name: 'mlp', versions: { 1: testModels().mlp.bytes } });
  return repo;
}

/** The small MLP and the slow one with its bounded queue. */
export async function overloadRepository(): Promise<Repository> {
  const repo = await mlpRepository();
  await writeSlowMlp(repo.dir, 'slow_mlp', 4, `dynamic_batching {\n  max_queue_delay_microseconds: 500\n  default_queue_policy { max_queue_size: ${SLOW_MLP_QUEUE} }\n}`);
  return repo;
}

/** The slow MLP (512 → 2048 → 2048 → 10, one instance on one thread) under `name`, batching as `dynamicBatching` says. */
async function writeSlowMlp(dir: string, name: string, maxBatchSize: number, dynamicBatching: string): Promise<void> {
  const slow = mlp({ layers: [SLOW_MLP_FEATURES, 2048, 2048, 10], seed: 5 });
  await writeRepositoryModel(dir, {
    name,
    versions: { 1: slow.bytes },
    config: configText({
      name,
      maxBatchSize,
      inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [SLOW_MLP_FEATURES] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [10] }],
      extra: ['instance_group [{ count: 1, kind: KIND_CPU }]', 'parameters { key: "intra_op_thread_count" value: { string_value: "1" } }', dynamicBatching],
    }),
  });
}

export const HELD_DELAY_MS = 1_500;

/** deadline_mlp and held_mlp (see the module comment). */
export async function sheddingRepository(): Promise<Repository> {
  const repo = await temporary();
  await writeSlowMlp(repo.dir, 'deadline_mlp', 16, 'dynamic_batching { }');
  const small = testModels().mlp;
  await writeRepositoryModel(repo.dir, {
    name: 'held_mlp',
    versions: { 1: small.bytes },
    config: configText({
      name: 'held_mlp',
      maxBatchSize: 8,
      inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [MLP_FEATURES] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [4] }],
      extra: [`dynamic_batching {\n  max_queue_delay_microseconds: ${HELD_DELAY_MS * 1000}\n  preferred_batch_size: [ 4 ]\n}`],
    }),
  });
  return repo;
}

/** A request body for scoring/score.ts: `rows` samples of `features` values. */
export function scoreBody(model: string, features: number, rows = 1): { model: string; data: number[][] } {
  return { model, data: Array.from({ length: rows }, (_, r) => Array.from({ length: features }, (_, i) => ((r + i) % 7) / 7)) };
}
