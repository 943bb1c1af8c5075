/**
 * Issue 20, in process: the decoders that read untrusted bytes, fed the shapes that cost
 * the most per byte (flat number arrays, zero-length BYTES elements in JSON and binary,
 * repeated outputs, arrays of empty arrays, deep nesting, pbtxt repetition), at sizes up to
 * SCORELINE_FUZZ_MAX_MIB (8 MiB by default). Each case must decode or throw a 4xx registry
 * error, within a time linear in its size, and the process's memory may grow by no more
 * than AMPLIFICATION × the input's size (+ SLACK): a request's decoded form may cost a
 * few times its body, not tens of times (test/faults/fuzz-decoders covers small random
 * inputs; this covers large structured ones).
 */
import fc from 'fast-check';
import { decodeInferRequest } from '../../src/engine/http/infer-request-codec';
import { parseModelConfig, validateModelConfig } from '../../src/engine/config/model-config';
import { decodeBytesElements } from '../../src/tensor/bytes-elements';
import { tensorDataFromJson } from '../../src/tensor/json-tensor-data';
import { bodyInput } from '../../src/frontend/http/score-input';
import { configText } from '../../tools/onnx/repository-writer';
import { reportFigures } from '../faults/helpers/figures';
import { configJson, fuzzParameters, isClientError, mutatedText } from '../faults/helpers/fuzz';
import { FUZZ_RUNS, IN_PROCESS_FACTOR, MAX_BYTES, MiB, list, repetitions, rssBytes, trackPeak } from './helpers/hostile';
import { hostileBody, hostileBodySpec } from './helpers/hostile-bodies';
import { HUGE_NUMBERS, deepConfig, deepSpec, type DeepSpec, hugeNumberEdits, validConfigJson, withHugeNumbers } from './helpers/hostile-configs';

/**
 * Memory a decode may add, per input byte. A flat INT32 array in JSON is 2 bytes per element
 * and its Int32Array 4; JSON.parse's array of small integers 8 more: a decoder built on
 * JSON.parse with one copy stays near 8×. Twice that is the bound.
 */
const AMPLIFICATION = 16;
const SLACK = 64 * MiB;
/**
 * Time a decode may take: 2 s plus 1 s per MiB. Linear decoders run at tens of MB/s (2 M
 * zero-length BYTES elements, the slowest shape, at ~4 MB/s), so this holds on a machine
 * shared with other work; a decoder that is quadratic in its input does not.
 */
const allowedMs = (bytes: number): number => 2_000 + (1_000 * bytes) / MiB;

interface Tally {
  decoded: number;
  refused: number;
  /** The largest growth per input byte among inputs of 1 MiB or more (below that the slack dominates). */
  worstAmplification: number;
  largestGrowthMiB: number;
  slowestMs: number;
}
const tallies = new Map<string, Tally>();

afterAll(() => {
  for (const [name, t] of tallies) {
    reportFigures(`hostile ${name}`, { cases: t.decoded + t.refused, decoded: t.decoded, refused_4xx: t.refused, largest_growth_mib: t.largestGrowthMiB, worst_growth_per_input_byte_over_1mib: t.worstAmplification, slowest_ms: t.slowestMs });
  }
});

/**
 * Runs `decode` on an input of `bytes` bytes: it must return or throw a 4xx registry error,
 * within allowedMs(bytes), growing memory (the larger of peak RSS and heap + buffers, since
 * a heap that a previous case grew hides an allocation from RSS) by at most
 * AMPLIFICATION × bytes + SLACK.
 */
function boundedDecode(name: string, bytes: number, decode: () => unknown): void {
  const tally = tallies.get(name) ?? { decoded: 0, refused: 0, worstAmplification: 0, largestGrowthMiB: 0, slowestMs: 0 };
  tallies.set(name, tally);
  const heapBefore = heapAndBuffers();
  const peak = trackPeak('self');
  const started = performance.now();
  let result: unknown;
  let failure: string | undefined;
  try {
    result = decode();
    tally.decoded++;
  } catch (err) {
    if (isClientError(err)) tally.refused++;
    else failure = `${name} threw something other than a 4xx registry error: ${String((err as Error)?.stack ?? err).slice(0, 600)}`;
  }
  const ms = performance.now() - started;
  // Measured with the decoded value still held: what a request keeps while it waits for a batch.
  const growth = Math.max(peak.growth(), heapAndBuffers() - heapBefore, rssBytes('self') - peak.baseline);
  void result;
  tally.slowestMs = Math.max(tally.slowestMs, ms);
  tally.largestGrowthMiB = Math.max(tally.largestGrowthMiB, growth / MiB);
  if (bytes >= MiB) tally.worstAmplification = Math.max(tally.worstAmplification, growth / bytes);
  if (failure !== undefined) throw new Error(failure);
  if (ms > allowedMs(bytes)) throw new Error(`${name}: ${ms.toFixed(0)} ms for ${(bytes / MiB).toFixed(2)} MiB (allowed ${allowedMs(bytes).toFixed(0)} ms)`);
  const limit = AMPLIFICATION * bytes + SLACK;
  if (growth > limit) throw new Error(`${name}: memory grew ${(growth / MiB).toFixed(0)} MiB for ${(bytes / MiB).toFixed(2)} MiB of input (${(growth / bytes).toFixed(1)} × its size; allowed ${AMPLIFICATION} × + ${SLACK / MiB} MiB)`);
}

function heapAndBuffers(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.external + m.arrayBuffers;
}

describe('the KServe inference body codec under the costliest shapes', () => {
  it('decodes or refuses each, in bounded time and memory', () => {
    fc.assert(
      fc.property(hostileBodySpec, (spec) => {
        const { body, header } = hostileBody(spec);
        boundedDecode(`infer body: ${spec.kind}`, body.length, () => decodeInferRequest(body, header));
      }),
      fuzzParameters(FUZZ_RUNS * IN_PROCESS_FACTOR),
    );
  });
});

describe('the tensor decoders under the costliest shapes', () => {
  it('decodes or refuses length-prefixed zero-length BYTES elements in bounded memory', () => {
    fc.assert(
      fc.property(repetitions(4), fc.boolean(), (n, countKnown) => {
        const bytes = Buffer.alloc(4 * n);
        boundedDecode('BYTES elements', bytes.length, () => decodeBytesElements(bytes, countKnown ? n : undefined, 'input x'));
      }),
      fuzzParameters(FUZZ_RUNS * IN_PROCESS_FACTOR),
    );
  });

  it('decodes or refuses already-parsed JSON data (arrays of empty strings, of empty arrays) in bounded memory', () => {
    fc.assert(
      fc.property(repetitions(3), fc.constantFrom('BYTES', 'FP32', 'INT32'), fc.boolean(), (n, datatype, empties) => {
        const text = `[${list(n, empties ? '[]' : '""')}]`;
        const data = JSON.parse(text) as unknown;
        boundedDecode(`JSON tensor ${datatype}`, text.length, () => tensorDataFromJson(datatype as 'BYTES', n, data, 'input x'));
      }),
      fuzzParameters(FUZZ_RUNS * IN_PROCESS_FACTOR),
    );
  });
});

describe("the front end's /score body decoding", () => {
  it('decodes or refuses megabytes of empty arrays, flat numbers and empty strings in bounded memory', () => {
    fc.assert(
      fc.property(repetitions(3), fc.constantFrom('[]', '0', '""', '{}'), (n, item) => {
        const body = Buffer.from(`{"model":"mlp","data":[${list(n, item)}]}`);
        boundedDecode(`score body ${item}`, body.length, () => bodyInput(body));
      }),
      fuzzParameters(FUZZ_RUNS * IN_PROCESS_FACTOR),
    );
  });
});

const VALID_PBTXT = configText({
  name: 'm',
  maxBatchSize: 8,
  inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [4] }],
  outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [4] }],
  extra: ['dynamic_batching { max_queue_delay_microseconds: 100 default_queue_policy { max_queue_size: 4 } }', 'instance_group [{ count: 2, kind: KIND_CPU }]'],
});

type PbtxtSpec = { kind: 'long dims list' | 'many inputs' | 'many parameters' | 'deep messages' | 'deep lists' | 'long number' | 'comments'; n: number } | { kind: 'long string'; n: number; unit: string } | { kind: 'huge numbers, edited'; text: string };

/** config.pbtxt text that costs the parser the most: long lists, many messages, deep nesting, long literals, huge numbers. */
const hostilePbtxtSpec: fc.Arbitrary<PbtxtSpec> = fc.oneof(
  fc.record({ kind: fc.constant('long dims list' as const), n: repetitions(2) }),
  fc.record({ kind: fc.constant('many inputs' as const), n: repetitions(48) }),
  fc.record({ kind: fc.constant('many parameters' as const), n: repetitions(50) }),
  fc.record({ kind: fc.constant('deep messages' as const), n: fc.integer({ min: 1_000, max: Math.min(500_000, MAX_BYTES / 10) }) }),
  fc.record({ kind: fc.constant('deep lists' as const), n: fc.integer({ min: 1_000, max: Math.min(2_000_000, MAX_BYTES / 2) }) }),
  fc.record({ kind: fc.constant('long string' as const), n: repetitions(4), unit: fc.constantFrom('\\777', '\\x41', 'a', '\\"') }),
  fc.record({ kind: fc.constant('long number' as const), n: repetitions(1) }),
  fc.record({ kind: fc.constant('comments' as const), n: repetitions(10) }),
  fc.constantFrom(...HUGE_NUMBERS).chain((huge) => mutatedText(VALID_PBTXT.replace(/\b\d+\b/g, String(huge))).map((text) => ({ kind: 'huge numbers, edited' as const, text }))),
);

function pbtxt(spec: PbtxtSpec): string {
  switch (spec.kind) {
    case 'long dims list':
      return VALID_PBTXT.replace(/dims: \[ ?4 ?\]/, `dims: [ ${list(spec.n, '1')} ]`);
    case 'many inputs':
      return `name: "m"\n${'input { name: "x" data_type: TYPE_FP32 dims: [1] }\n'.repeat(spec.n)}`;
    case 'many parameters':
      return `name: "m"\n${Array.from({ length: spec.n }, (_, i) => `parameters { key: "k${i}" value { string_value: "v" } }\n`).join('')}`;
    case 'deep messages':
      return `${'input { '.repeat(spec.n)}${'} '.repeat(spec.n)}`;
    case 'deep lists':
      return `dims: ${'['.repeat(spec.n)}${']'.repeat(spec.n)}`;
    case 'long string':
      return `name: "${spec.unit.repeat(Math.ceil(spec.n / spec.unit.length))}"`;
    case 'long number':
      return `max_batch_size: ${'9'.repeat(spec.n)}`;
    case 'comments':
      return `${'# comment\n'.repeat(spec.n)}name: "m"`;
    case 'huge numbers, edited':
      return spec.text;
  }
}

describe('the config.pbtxt parser under the costliest shapes', () => {
  it('parses or refuses each, in bounded time and memory', () => {
    fc.assert(
      fc.property(hostilePbtxtSpec, (spec) => {
        const text = pbtxt(spec);
        boundedDecode(`config.pbtxt: ${spec.kind}`, Buffer.byteLength(text), () => parseModelConfig(text, 'm'));
      }),
      fuzzParameters(FUZZ_RUNS * IN_PROCESS_FACTOR),
    );
  });
});

describe('model configs as JSON (the load API override) under hostile values', () => {
  it('validates or refuses huge numbers in every numeric field, deep nesting, and random JSON', () => {
    const configs = fc.oneof(
      hugeNumberEdits.map((edits) => ({ kind: 'huge numbers', edits })),
      deepSpec.map((deep) => ({ kind: 'deep nesting', deep })),
      configJson.map((value) => ({ kind: 'random JSON', value })),
      fc.constant({ kind: 'valid' }),
    );
    fc.assert(
      fc.property(configs, (c: { kind: string; edits?: Array<[string, number]>; deep?: DeepSpec; value?: unknown }) => {
        const config = c.edits ? withHugeNumbers(c.edits) : c.deep ? deepConfig(c.deep).value : c.kind === 'valid' ? validConfigJson() : c.value;
        const size = c.deep ? deepConfig(c.deep).text.length : Buffer.byteLength(JSON.stringify(config) ?? '');
        boundedDecode(`config JSON: ${c.kind}`, Math.max(size, 1024), () => validateModelConfig(config, 'add_sub'));
      }),
      fuzzParameters(FUZZ_RUNS * IN_PROCESS_FACTOR),
    );
  });
});
