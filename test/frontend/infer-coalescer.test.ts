/**
 * The coalescer's logic with a scripted backend and hand-driven flushes (no timers, no
 * server): which calls merge, how rows are concatenated and split back, the row limit,
 * aborts, failures and the max_batch_size lookup. coalescing-engine-client.test.ts runs it
 * against the real engine.
 */
import { InferenceServerError, InferInput, InferRequestedOutput, InferResult, type InferOptions } from '../../src/client';
import { FAILED_LOOKUP_RETRY_MS, InferCoalescer, mergeKeyOf, splitByCall, type CoalescerBackend } from '../../src/frontend/worker/infer-coalescer';
import { joinInferenceBody } from '../../src/tensor';

interface Sent {
  modelName: string;
  inputs: readonly InferInput[];
  options: InferOptions;
}

/** A response body whose OUTPUT0 is 2·INPUT0 (FP32) or INPUT0 itself (BYTES), with the input's shape. */
function doubled(input: InferInput): InferResult {
  const data = input.contents!;
  const out = input.datatype === 'BYTES' ? data : Float32Array.from(data as Float32Array, (v) => 2 * v);
  const chunk =
    input.datatype === 'BYTES'
      ? Buffer.concat((out as Uint8Array[]).flatMap((e) => [Buffer.from(Uint32Array.of(e.byteLength).buffer), Buffer.from(e)]))
      : Buffer.from((out as Float32Array).buffer);
  const json = JSON.stringify({
    model_name: 'm',
    model_version: '1',
    outputs: [{ name: 'OUTPUT0', datatype: input.datatype, shape: input.shape, parameters: { binary_data_size: chunk.byteLength } }],
  });
  const { parts, headerLength } = joinInferenceBody(json, [chunk]);
  return InferResult.fromResponseBody(Buffer.concat(parts), headerLength);
}

class ScriptedBackend implements CoalescerBackend {
  readonly sent: Sent[] = [];
  maxRows = 8;
  lookups = 0;
  lookupFails = false;
  /** Decides each send's outcome; default: answer 2·x. */
  answer: (s: Sent) => InferResult | Error = (s) => doubled(s.inputs[0]!);

  async send(modelName: string, inputs: readonly InferInput[], options: InferOptions): Promise<InferResult> {
    const s = { modelName, inputs, options };
    this.sent.push(s);
    const outcome = this.answer(s);
    if (outcome instanceof Error) throw outcome;
    return outcome;
  }

  async maxBatchSize(): Promise<number> {
    this.lookups++;
    if (this.lookupFails) throw new InferenceServerError(400, "Request for unknown model: 'm' is not found");
    return this.maxRows;
  }
}

function setup(options: { now?: () => number } = {}) {
  const backend = new ScriptedBackend();
  const flushes: (() => void)[] = [];
  const coalescer = new InferCoalescer({ backend, schedule: (f) => flushes.push(f), now: options.now });
  /** Lets the calls reach their group (the max_batch_size lookup is awaited), then runs the scheduled flushes. */
  const turn = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
    flushes.splice(0).forEach((f) => f());
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { backend, coalescer, turn };
}

const row = (...values: number[]) => new InferInput('INPUT0', [1, values.length], 'FP32').setData(Float32Array.from(values));
const outputs = [new InferRequestedOutput('OUTPUT0')];

describe('mergeKeyOf: which calls may share a request', () => {
  const key = (inputs: InferInput[], options: InferOptions = {}) => mergeKeyOf('m', inputs, options)?.key;
  const base = key([row(1, 2)]);

  it('gives calls that differ only in their rows the same key, and counts the rows', () => {
    expect(base).toBeDefined();
    expect(key([row(3, 4)])).toBe(base);
    const two = new InferInput('INPUT0', [2, 2], 'FP32').setData(Float32Array.of(1, 2, 3, 4));
    expect(mergeKeyOf('m', [two], {})).toEqual({ key: base, rows: 2 });
  });

  it.each<[string, InferInput[], InferOptions]>([
    ['another model version', [row(1, 2)], { modelVersion: 2 }],
    ['another row width', [row(1, 2, 3)], {}],
    ['another datatype', [new InferInput('INPUT0', [1, 2], 'FP64').setData(Float64Array.of(1, 2))], {}],
    ['another input name', [new InferInput('X', [1, 2], 'FP32').setData(Float32Array.of(1, 2))], {}],
    ['named outputs', [row(1, 2)], { outputs }],
    ['a classification request', [row(1, 2)], { outputs: [new InferRequestedOutput('OUTPUT0', { classCount: 2 })] }],
  ])('keeps %s apart', (_what, inputs, options) => {
    const other = key(inputs, options);
    expect(other).toBeDefined();
    expect(other).not.toBe(base);
  });

  it.each<[string, InferInput[], InferOptions]>([
    ['a request id', [row(1)], { requestId: 'r1' }],
    ['a sequence', [row(1)], { sequenceId: 7, sequenceStart: true }],
    ['a priority', [row(1)], { priority: 1 }],
    ['a timeout that is not a whole number of microseconds', [row(1)], { timeout: 1.5 }],
    ['request parameters', [row(1)], { parameters: { p: 1 } }],
    ['headers', [row(1)], { headers: { 'x-trace': '1' } }],
    ['query parameters', [row(1)], { queryParams: { q: '1' } }],
    ['a JSON input', [new InferInput('INPUT0', [1, 1], 'FP32').setData([1], { binaryData: false })], {}],
    ['a JSON output', [row(1)], { outputs: [new InferRequestedOutput('OUTPUT0', { binaryData: false })] }],
    ['inputs with different row counts', [row(1), new InferInput('B', [2, 1], 'FP32').setData(Float32Array.of(1, 2))], {}],
    ['a scalar input (no batch dimension)', [new InferInput('INPUT0', [], 'FP32').setData(Float32Array.of(1))], {}],
    ['zero rows', [new InferInput('INPUT0', [0, 2], 'FP32').setData(new Float32Array(0))], {}],
    ['an input without data', [new InferInput('INPUT0', [1, 2], 'FP32')], {}],
    ['data that does not fit the shape', [new InferInput('INPUT0', [1, 3], 'FP32').setData(Float32Array.of(1, 2))], {}],
    ['no inputs', [], {}],
  ])('sends a call with %s alone', (_what, inputs, options) => {
    expect(mergeKeyOf('m', inputs, options)).toBeUndefined();
  });
});

describe('InferCoalescer', () => {
  it('sends the calls of one turn as one request and gives each caller its own rows', async () => {
    const { backend, coalescer, turn } = setup();
    const calls = [row(1, 2), row(3, 4), row(5, 6)].map((x) => coalescer.infer('m', [x], { outputs }));
    await turn();
    const results = await Promise.all(calls);
    expect(backend.sent).toHaveLength(1);
    expect(backend.sent[0]!.inputs[0]!.shape).toEqual([3, 2]);
    expect(Array.from(backend.sent[0]!.inputs[0]!.contents as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(backend.sent[0]!.options.outputs).toBe(outputs);
    expect(results.map((r) => Array.from(r.asTypedArray<Float32Array>('OUTPUT0')))).toEqual([[2, 4], [6, 8], [10, 12]]);
    expect(results.map((r) => r.getOutput('OUTPUT0')?.shape)).toEqual([[1, 2], [1, 2], [1, 2]]);
    expect(results[0]!.getResponse()).toMatchObject({ model_name: 'm', model_version: '1' });
    expect(backend.lookups).toBe(1);
  });

  it('merges calls with timeouts and gives the merged request the longest of them', async () => {
    const { backend, coalescer, turn } = setup();
    const calls = [300, 900, 500].map((timeout) => coalescer.infer('m', [row(1)], { timeout }));
    await turn();
    await Promise.all(calls);
    expect(backend.sent).toHaveLength(1);
    expect(backend.sent[0]!.options.timeout).toBe(900);
  });

  it('sends a merged request without a timeout when one of its calls has none', async () => {
    const { backend, coalescer, turn } = setup();
    const calls = [coalescer.infer('m', [row(1)], { timeout: 300 }), coalescer.infer('m', [row(2)], {})];
    await turn();
    await Promise.all(calls);
    expect(backend.sent).toHaveLength(1);
    expect(backend.sent[0]!.options.timeout).toBeUndefined();
  });

  it('leaves out a call whose polled abort state is aborted when its group is sent, and rejects it with the reason', async () => {
    const { backend, coalescer, turn } = setup();
    const gone = { aborted: false, reason: new Error('the caller left') };
    const calls = [coalescer.infer('m', [row(1)], { signal: gone }), coalescer.infer('m', [row(2)], {}), coalescer.infer('m', [row(3)], {})];
    const settled = Promise.allSettled(calls);
    gone.aborted = true;
    await turn();
    const [first, ...rest] = await settled;
    expect(first).toEqual({ status: 'rejected', reason: gone.reason });
    expect(rest.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(backend.sent[0]!.inputs[0]!.shape[0]).toBe(2);
  });

  it('gives the merged request an abort state that is aborted only once every call is', async () => {
    const { backend, coalescer, turn } = setup();
    const a = { aborted: false };
    const b = { aborted: false };
    const calls = [coalescer.infer('m', [row(1)], { signal: a }), coalescer.infer('m', [row(2)], { signal: b })];
    await turn();
    await Promise.all(calls);
    const merged = backend.sent[0]!.options.signal!;
    expect(merged.aborted).toBe(false);
    a.aborted = true;
    expect(merged.aborted).toBe(false);
    b.aborted = true;
    expect(merged.aborted).toBe(true);
  });

  it('merges multi-row calls and splits by each call\'s row count', async () => {
    const { coalescer, turn } = setup();
    const two = new InferInput('INPUT0', [2, 1], 'FP32').setData(Float32Array.of(1, 2));
    const calls = [coalescer.infer('m', [row(7)], {}), coalescer.infer('m', [two], {})];
    await turn();
    const [a, b] = await Promise.all(calls);
    expect(Array.from(a!.asTypedArray<Float32Array>('OUTPUT0'))).toEqual([14]);
    expect(Array.from(b!.asTypedArray<Float32Array>('OUTPUT0'))).toEqual([2, 4]);
    expect(b!.getOutput('OUTPUT0')?.shape).toEqual([2, 1]);
  });

  it('never puts more rows in a request than max_batch_size, and sends a full group at once', async () => {
    const { backend, coalescer, turn } = setup();
    backend.maxRows = 2;
    const calls = [1, 2, 3, 4, 5].map((v) => coalescer.infer('m', [row(v)], {}));
    await turn();
    const results = await Promise.all(calls);
    expect(backend.sent.map((s) => s.inputs[0]!.shape[0])).toEqual([2, 2, 1]);
    expect(results.map((r) => r.asTypedArray<Float32Array>('OUTPUT0')[0])).toEqual([2, 4, 6, 8, 10]);
  });

  it('sends a lone call with its own inputs and options, untouched', async () => {
    const { backend, coalescer, turn } = setup();
    const x = row(1);
    const options = { outputs };
    const call = coalescer.infer('m', [x], options);
    await turn();
    await call;
    expect(backend.sent).toEqual([{ modelName: 'm', inputs: [x], options }]);
  });

  it('sends everything alone to a model that does not batch, and a call that fills a batch by itself', async () => {
    const { backend, coalescer, turn } = setup();
    backend.maxRows = 0;
    const calls = [coalescer.infer('m', [row(1)], {}), coalescer.infer('m', [row(2)], {})];
    await turn();
    await Promise.all(calls);
    expect(backend.sent).toHaveLength(2);

    const other = setup();
    other.backend.maxRows = 2;
    const full = new InferInput('INPUT0', [2, 1], 'FP32').setData(Float32Array.of(1, 2));
    const both = [other.coalescer.infer('m', [row(1)], {}), other.coalescer.infer('m', [full], {})];
    await other.turn();
    await Promise.all(both);
    expect(other.backend.sent.map((s) => s.inputs[0]!.shape[0])).toEqual([2, 1]);
  });

  it('merges BYTES elements and hands each caller its own', async () => {
    const { backend, coalescer, turn } = setup();
    const text = (s: string) => new InferInput('INPUT0', [1, 1], 'BYTES').setData([s]);
    const calls = ['alpha', '', 'γάμμα'].map((s) => coalescer.infer('m', [text(s)], {}));
    await turn();
    const results = await Promise.all(calls);
    expect(backend.sent).toHaveLength(1);
    expect(results.map((r) => r.asTypedArray('OUTPUT0', { bytesAs: 'string' }))).toEqual([['alpha'], [''], ['γάμμα']]);
  });

  it("retries call by call when the server rejects the merged request as the caller's fault", async () => {
    const { backend, coalescer, turn } = setup();
    const bad = new InferenceServerError(400, 'input INPUT0 holds a NaN');
    backend.answer = (s) => (Array.from(s.inputs[0]!.contents as Float32Array).some(Number.isNaN) ? bad : doubled(s.inputs[0]!));
    const calls = [row(1), row(Number.NaN), row(3)].map((x) => coalescer.infer('m', [x], {}));
    await turn();
    const settled = await Promise.allSettled(calls);
    expect(backend.sent.map((s) => s.inputs[0]!.shape[0])).toEqual([3, 1, 1, 1]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toBe(bad);
    // The model's max_batch_size is looked up again (it may have been reloaded smaller).
    const again = coalescer.infer('m', [row(4)], {});
    await turn();
    await again;
    expect(backend.lookups).toBe(2);
  });

  it('fails every caller of a merged request that failed on the server side, without retrying', async () => {
    const { backend, coalescer, turn } = setup();
    const failure = new InferenceServerError(500, 'onnxruntime failed');
    backend.answer = () => failure;
    const calls = [row(1), row(2)].map((x) => coalescer.infer('m', [x], {}));
    await turn();
    const settled = await Promise.allSettled(calls);
    expect(settled.map((s) => (s as PromiseRejectedResult).reason)).toEqual([failure, failure]);
    expect(backend.sent).toHaveLength(1);
  });

  it('sends each call alone, and stops merging for the model, when an answer has no batch dimension to split', async () => {
    const { backend, coalescer, turn } = setup();
    backend.answer = () => doubled(row(9)); // always one row, whatever was asked
    const calls = [row(1), row(2)].map((x) => coalescer.infer('m', [x], {}));
    await turn();
    const results = await Promise.all(calls);
    expect(results.map((r) => r.asTypedArray<Float32Array>('OUTPUT0')[0])).toEqual([18, 18]);
    expect(backend.sent.map((s) => s.inputs[0]!.shape[0])).toEqual([2, 1, 1]);
    const later = [row(3), row(4)].map((x) => coalescer.infer('m', [x], {}));
    await turn();
    await Promise.all(later);
    expect(backend.sent.map((s) => s.inputs[0]!.shape[0])).toEqual([2, 1, 1, 1, 1]);
    expect(backend.lookups).toBe(1);
  });

  it('splitByCall refuses an output whose first dimension is not the merged row count', () => {
    expect(() => splitByCall(doubled(row(9)), 2, [{ rows: 1 }, { rows: 1 }])).toThrow(/output 'OUTPUT0' has shape \[1,1\], expected 2 rows first/);
  });

  it('drops a call aborted while it waits, rejecting it with the signal\'s reason; an aborted signal is refused at once', async () => {
    const { backend, coalescer, turn } = setup();
    const controller = new AbortController();
    const kept = coalescer.infer('m', [row(1)], {});
    const aborted = coalescer.infer('m', [row(2)], { signal: controller.signal });
    const alsoKept = coalescer.infer('m', [row(3)], {});
    for (let i = 0; i < 5; i++) await Promise.resolve();
    controller.abort(new Error('caller gave up'));
    await expect(aborted).rejects.toThrow('caller gave up');
    await turn();
    expect((await kept).asTypedArray<Float32Array>('OUTPUT0')[0]).toBe(2);
    expect((await alsoKept).asTypedArray<Float32Array>('OUTPUT0')[0]).toBe(6);
    expect(Array.from(backend.sent[0]!.inputs[0]!.contents as Float32Array)).toEqual([1, 3]);
    await expect(coalescer.infer('m', [row(4)], { signal: controller.signal })).rejects.toThrow('caller gave up');
  });

  it('rejects a caller that aborts after its request went out at once, and still answers the others', async () => {
    const { backend, coalescer, turn } = setup();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const answer = backend.answer;
    backend.send = async (modelName, inputs, options) => {
      backend.sent.push({ modelName, inputs, options });
      await held;
      return answer({ modelName, inputs, options }) as InferResult;
    };
    const controller = new AbortController();
    const leaving = coalescer.infer('m', [row(1)], { signal: controller.signal });
    const staying = coalescer.infer('m', [row(2)], {});
    await turn();
    expect(backend.sent).toHaveLength(1);
    controller.abort(new Error('client went away'));
    await expect(leaving).rejects.toThrow('client went away');
    release();
    expect((await staying).asTypedArray<Float32Array>('OUTPUT0')[0]).toBe(4);
  });

  it('sends calls alone while the max_batch_size lookup fails, and asks again after a pause', async () => {
    let now = 0;
    const { backend, coalescer, turn } = setup({ now: () => now });
    backend.lookupFails = true;
    const calls = [row(1), row(2)].map((x) => coalescer.infer('m', [x], {}));
    await turn();
    await Promise.all(calls);
    expect(backend.sent).toHaveLength(2);
    expect(backend.lookups).toBe(1);
    backend.lookupFails = false;
    now += FAILED_LOOKUP_RETRY_MS + 1;
    const later = [row(1), row(2)].map((x) => coalescer.infer('m', [x], {}));
    await turn();
    await Promise.all(later);
    expect(backend.lookups).toBe(2);
    expect(backend.sent).toHaveLength(3);
  });

  it('sends waiting groups on flushAll (what close() does first)', async () => {
    const { backend, coalescer } = setup();
    const calls = [row(1), row(2)].map((x) => coalescer.infer('m', [x], {}));
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(coalescer.pendingCalls).toBe(2);
    coalescer.flushAll();
    expect(coalescer.pendingCalls).toBe(0);
    await Promise.all(calls);
    expect(backend.sent).toHaveLength(1);
  });
});
