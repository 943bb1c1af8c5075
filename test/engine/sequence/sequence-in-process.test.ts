/**
 * Sequence-batched models in-process (ModelManager with real onnxruntime instances on the
 * generator's accumulator: OUTPUT = INPUT + state, state = OUTPUT): interleaved sequences
 * keep their own state, START resets it, END frees it, the control inputs carry START, END
 * and the correlation ID, both strategies and max_batch_size 0 work, idle sequences are
 * released with their state (the count of held states returns to zero), and the errors
 * are Triton's.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../../../src/errors';
import { ModelManager } from '../../../src/engine/models/model-manager';
import type { ModelVersion } from '../../../src/engine/models/model-version';
import type { InferenceResponse } from '../../../src/engine/models/inference-types';
import { silentLogger } from '../../../src/logger';
import { scaleBy } from '../../../tools/onnx/model-zoo';
import { writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { WIDTH, writeAccumulator } from './accumulator-repository';

// Seven models load in beforeAll: on a busy machine that takes longer than jest's 5 s default.
jest.setTimeout(30_000);

let repo: string;
let models: ModelManager;

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-sequence-'));
  await writeAccumulator(repo, { name: 'direct', maxBatchSize: 4 });
  await writeAccumulator(repo, { name: 'oldest', maxBatchSize: 4, strategy: 'oldest { max_candidate_sequences: 8 max_queue_delay_microseconds: 2000 }' });
  // max_batch_size 0: one step per execution. oldest's candidates let four sequences
  // interleave on the one instance; direct gives it one slot (Triton's rule).
  await writeAccumulator(repo, { name: 'single', maxBatchSize: 0, strategy: 'oldest { max_candidate_sequences: 4 }', warmupRows: 1 });
  await writeAccumulator(repo, { name: 'single_direct', maxBatchSize: 0 });
  await writeAccumulator(repo, { name: 'idle', maxBatchSize: 4, idleUs: 50_000 });
  await writeAccumulator(repo, { name: 'fp32_flags', maxBatchSize: 4, flags: 'FP32', ready: true });
  await writeAccumulator(repo, { name: 'bool_flags', maxBatchSize: 0, flags: 'BOOL', ready: true });
  await writeAccumulator(repo, { name: 'two_instances', maxBatchSize: 2, instances: 2, warmupRows: 2 });
  await writeRepositoryModel(repo, { name: 'plain', versions: { 1: scaleBy(2).bytes } });
  // Ensembles: plain (2·x) then the oldest accumulator; and plain alone, with no sequence step.
  const ensemble = async (name: string, steps: string[]) => {
    await writeRepositoryModel(repo, {
      name,
      versions: {},
      config: [
        `name: "${name}"`,
        'platform: "ensemble"',
        'max_batch_size: 4',
        `input [ { name: "IN" data_type: TYPE_FP32 dims: [ ${WIDTH} ] } ]`,
        `output [ { name: "OUT" data_type: TYPE_FP32 dims: [ ${WIDTH} ] } ]`,
        `ensemble_scheduling { step [ ${steps.join(', ')} ] }`,
      ].join('\n'),
    });
    await fs.mkdir(path.join(repo, name, '1'));
  };
  await ensemble('doubled_sum', [
    '{ model_name: "plain" model_version: -1 input_map { key: "INPUT0" value: "IN" } output_map { key: "OUTPUT0" value: "DOUBLED" } }',
    '{ model_name: "oldest" model_version: -1 input_map { key: "INPUT" value: "DOUBLED" } output_map { key: "OUTPUT" value: "OUT" } }',
  ]);
  await ensemble('plain_ensemble', ['{ model_name: "plain" model_version: -1 input_map { key: "INPUT0" value: "IN" } output_map { key: "OUTPUT0" value: "OUT" } }']);
  models = new ModelManager({ repository: repo, autoCompleteConfig: true, defaultMaxBatchSize: 4, logger: silentLogger });
  await models.loadAll();
});

afterAll(async () => {
  await models.close();
  await fs.rm(repo, { recursive: true, force: true });
});

const values = (x: number) => Float32Array.from({ length: WIDTH }, (_, i) => x + i);

function step(model: string, id: bigint | string, x: number, flags: { start?: boolean; end?: boolean } = {}): Promise<InferenceResponse> {
  const batched = !model.startsWith('single');
  return models.getVersion(model).infer({
    inputs: [{ name: 'INPUT', datatype: 'FP32', shape: batched ? [1, WIDTH] : [WIDTH], data: values(x) }],
    sequence: { id, start: flags.start ?? false, end: flags.end ?? false },
  });
}

const output = (r: InferenceResponse, name = 'OUTPUT') => Array.from(r.outputs.find((o) => o.name === name)!.data as Float32Array, Number);
/** The running sum after inputs xs: each element i is sum(x) + i·n. */
const sum = (...xs: number[]) => Array.from({ length: WIDTH }, (_, i) => xs.reduce((a, x) => a + x + i, 0));
const stateCount = (model: string) => (models.getVersion(model) as ModelVersion).sequenceStateCount;

describe.each(['direct', 'oldest', 'single', 'two_instances'])('sequence batching (%s)', (model) => {
  it('keeps interleaved sequences apart, resets at START and frees the state at END', async () => {
    await step(model, 1n, 1, { start: true });
    await step(model, 2n, 10, { start: true });
    const [a2, b2] = await Promise.all([step(model, 1n, 2), step(model, 2n, 20)]);
    expect(output(a2)).toEqual(sum(1, 2));
    expect(output(b2)).toEqual(sum(10, 20));
    // Concurrent steps of one sequence run one after the other, in order.
    const [a3, a4] = await Promise.all([step(model, 1n, 3), step(model, 1n, 4)]);
    expect(output(a3)).toEqual(sum(1, 2, 3));
    expect(output(a4)).toEqual(sum(1, 2, 3, 4));
    // A START on an open sequence resets its state.
    expect(output(await step(model, 2n, 5, { start: true }))).toEqual(sum(5));
    expect(stateCount(model)).toBe(2);
    const end = await step(model, 1n, 1, { end: true });
    expect(output(end)).toEqual(sum(1, 2, 3, 4, 1));
    await step(model, 2n, 1, { end: true });
    expect(stateCount(model)).toBe(0);
    // The state outputs stay in the engine.
    expect(end.outputs.map((o) => o.name)).toEqual(['OUTPUT', 'START_SEEN', 'END_SEEN', 'CORRID_SEEN']);
  });

  it('fills the control inputs: START and END flags, the correlation ID', async () => {
    const first = await step(model, 77n, 0, { start: true });
    const last = await step(model, 77n, 0, { end: true });
    const scalar = (r: InferenceResponse, name: string) => Number((r.outputs.find((o) => o.name === name)!.data as Int32Array | BigUint64Array)[0]);
    expect([scalar(first, 'START_SEEN'), scalar(first, 'END_SEEN'), scalar(first, 'CORRID_SEEN')]).toEqual([1, 0, 77]);
    expect([scalar(last, 'START_SEEN'), scalar(last, 'END_SEEN')]).toEqual([0, 1]);
  });

  it('refuses a step of a sequence that was never started or has ended, with Triton\'s text', async () => {
    const error = await step(model, 5n, 1).catch((e: Error) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as Error).message).toBe(
      `inference request for sequence 5 to model '${model}' must specify the START flag on the first request of the sequence`,
    );
  });
});

describe('sequence batching rules', () => {
  it('batches concurrent steps of different sequences into one execution', async () => {
    const before = models.getVersion('direct').stats.toJSON() as { inference_stats: unknown; execution_count: number; inference_count: number };
    const ids = [101n, 102n, 103n, 104n];
    await Promise.all(ids.map((id, i) => step('direct', id, i, { start: true })));
    const after = models.getVersion('direct').stats.toJSON() as typeof before;
    expect(after.inference_count - before.inference_count).toBe(4);
    // All four started in one event-loop turn: one execution (slots 0-3 of the one instance).
    expect(after.execution_count - before.execution_count).toBe(1);
    await Promise.all(ids.map((id) => step('direct', id, 0, { end: true })));
  });

  it('with max_batch_size 0 and direct, holds a second sequence back until the first ends (one slot)', async () => {
    await step('single_direct', 1n, 1, { start: true });
    let secondDone = false;
    const second = step('single_direct', 2n, 10, { start: true }).then((r) => ((secondDone = true), r));
    expect(output(await step('single_direct', 1n, 2))).toEqual(sum(1, 2));
    expect(secondDone).toBe(false);
    expect(output(await step('single_direct', 1n, 3, { end: true }))).toEqual(sum(1, 2, 3));
    expect(output(await second)).toEqual(sum(10));
    await step('single_direct', 2n, 0, { end: true });
    expect(stateCount('single_direct')).toBe(0);
  });

  it('releases an idle sequence after max_sequence_idle_microseconds and frees its state', async () => {
    await step('idle', 9n, 1, { start: true });
    expect(stateCount('idle')).toBe(1);
    while (stateCount('idle') > 0) await new Promise((r) => setTimeout(r, 20));
    const error = await step('idle', 9n, 2).catch((e: Error) => e);
    expect((error as Error).message).toBe(
      "inference request for sequence 9 to model 'idle' must specify the START flag on the first request of the sequence: sequence 9 was released after 50000 us without requests (max_sequence_idle_microseconds), and its state with it; send sequence_start to begin again",
    );
  });

  it('refuses a request without a correlation ID, one with a batch of 2, and a sequence_id sent to a model without sequence_batching', async () => {
    const noId = await models.getVersion('direct').infer({ inputs: [{ name: 'INPUT', datatype: 'FP32', shape: [1, WIDTH], data: values(0) }] }).catch((e: Error) => e);
    expect((noId as Error).message).toBe("inference request to model 'direct' must specify a non-zero or non-empty correlation ID");
    const two = await models
      .getVersion('direct')
      .infer({ inputs: [{ name: 'INPUT', datatype: 'FP32', shape: [2, WIDTH], data: new Float32Array(2 * WIDTH) }], sequence: { id: 3n, start: true, end: false } })
      .catch((e: Error) => e);
    expect((two as Error).message).toBe("inference request to model 'direct' must specify batch-size 1 due to requirements of sequence batcher");
    const plain = await models
      .getVersion('plain')
      .infer({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(1, 2) }], sequence: { id: 4n, start: true, end: false } })
      .catch((e: Error) => e);
    expect(plain).toBeInstanceOf(InvalidArgumentError);
    expect((plain as Error).message).toContain("inference request to model 'plain' specifies sequence_id 4, but the model has no sequence_batching");
  });

  it('passes an ensemble request\'s sequence to its sequence step only, and refuses one to an ensemble without such a step', async () => {
    const ensembleStep = (model: string, id: bigint, x: number, flags: { start?: boolean; end?: boolean } = {}) =>
      models.getVersion(model).infer({
        inputs: [{ name: 'IN', datatype: 'FP32', shape: [1, WIDTH], data: values(x) }],
        sequence: { id, start: flags.start ?? false, end: flags.end ?? false },
      });
    const out = (r: InferenceResponse) => output(r, 'OUT');
    /** plain doubles every element, so the running sum doubles too. */
    const doubled = (...xs: number[]) => sum(...xs).map((v) => 2 * v);
    // Interleaved: each sequence sums its own doubled inputs; `plain`, which has no
    // sequence_batching, ran every step without refusing the sequence_id.
    await ensembleStep('doubled_sum', 31n, 1, { start: true });
    await ensembleStep('doubled_sum', 32n, 10, { start: true });
    const [a, b] = await Promise.all([ensembleStep('doubled_sum', 31n, 2), ensembleStep('doubled_sum', 32n, 20, { end: true })]);
    expect(out(a)).toEqual(doubled(1, 2));
    expect(out(b)).toEqual(doubled(10, 20));
    expect(out(await ensembleStep('doubled_sum', 31n, 3, { end: true }))).toEqual(doubled(1, 2, 3));
    expect(stateCount('oldest')).toBe(0);
    const refused = await ensembleStep('plain_ensemble', 33n, 1, { start: true }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(InvalidArgumentError);
    expect((refused as Error).message).toContain("inference request to ensemble 'plain_ensemble' specifies sequence_id 33, but none of its steps has sequence_batching");
  });

  it.each([
    ['fp32_flags', 'fp32_false_true', [0, 1]],
    ['bool_flags', 'bool_false_true', [false, true]],
  ])('fills START, END and READY in the %s model\'s %s form', async (model, _, [no, yes]) => {
    const batched = model === 'fp32_flags';
    const run = (flags: { start?: boolean; end?: boolean }) =>
      models.getVersion(model).infer({
        inputs: [{ name: 'INPUT', datatype: 'FP32', shape: batched ? [1, WIDTH] : [WIDTH], data: values(1) }],
        sequence: { id: 51n, start: flags.start ?? false, end: flags.end ?? false },
      });
    const seen = (r: InferenceResponse) =>
      ['START_SEEN', 'END_SEEN', 'READY_SEEN'].map((name) => {
        const value = (r.outputs.find((o) => o.name === name)!.data as Float32Array | Uint8Array | boolean[])[0];
        return typeof no === 'boolean' ? Boolean(value) : Number(value);
      });
    expect(seen(await run({ start: true }))).toEqual([yes, no, yes]);
    expect(seen(await run({}))).toEqual([no, no, yes]);
    const last = await run({ end: true });
    expect(seen(last)).toEqual([no, yes, yes]);
    expect(output(last)).toEqual(sum(1, 1, 1));
  });

  it('warms up a sequence model (its control and state inputs filled as a one-step sequence) and keeps no state from it', async () => {
    // 'single' (max_batch_size 0) and 'two_instances' (batch of 2 on each instance) have model_warmup samples.
    for (const model of ['single', 'two_instances']) {
      expect(models.isModelReady(model)).toBe(true);
      expect(models.getVersion(model).config.model_warmup).toHaveLength(1);
      expect(stateCount(model)).toBe(0);
      expect(output(await step(model, 41n, 3, { start: true, end: true }))).toEqual(sum(3));
    }
  });

  it('shows the config as Triton normalizes it, without the control and state tensors in input/output', () => {
    const config = models.getVersion('oldest').config;
    expect(config.input.map((i) => i.name)).toEqual(['INPUT']);
    expect(config.sequence_batching!.max_sequence_idle_microseconds).toBe(1_000_000);
    expect(config.sequence_batching!.oldest!.preferred_batch_size).toEqual([4]);
  });
});
