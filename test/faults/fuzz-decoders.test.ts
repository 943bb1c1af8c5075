/**
 * Scenario 7, in process: the decoders that read untrusted bytes, fuzzed with fast-check.
 * Property: each either decodes or throws a registry error with a 4xx status and a
 * message (what the servers turn into a 400), never anything else, and never takes long.
 */
import fc from 'fast-check';
import { decodeInferRequest } from '../../src/engine/http/infer-request-codec';
import { parseModelConfig, validateModelConfig } from '../../src/engine/config/model-config';
import { decodeBytesElements } from '../../src/tensor/bytes-elements';
import { DATATYPES, type DataType } from '../../src/tensor/datatypes';
import { tensorDataFromJson } from '../../src/tensor/json-tensor-data';
import { tensorDataFromRaw } from '../../src/tensor/raw-tensor-data';
import { bodyInput, queryInput } from '../../src/frontend/http/score-input';
import { requestIds } from '../../src/frontend/http/request-ids';
import { configText } from '../../tools/onnx/repository-writer';
import { reportFigures } from './helpers/figures';
import { configJson, fuzzParameters, headerValue, inferBody, isClientError, mutatedText, pbtxtText, tensorData } from './helpers/fuzz';

/** Longest any one decode may take: these are linear-time decoders of small inputs. */
const SLOW_MS = 250;

const VALID_CONFIG = configText({
  name: 'm',
  maxBatchSize: 8,
  inputs: [{ name: 'INPUT0', datatype: 'FP32', dims: [4] }],
  outputs: [{ name: 'OUTPUT0', datatype: 'FP32', dims: [4], labelFilename: 'labels.txt' }],
  extra: ['dynamic_batching { max_queue_delay_microseconds: 100 default_queue_policy { max_queue_size: 4 } }', 'instance_group [{ count: 2, kind: KIND_CPU }]'],
});

interface Outcome {
  decoded: number;
  refused: number;
  slowestMs: number;
}

const outcomes = new Map<string, Outcome>();

/** Runs `decode`: it must return, or throw a 4xx registry error, within SLOW_MS. */
function decodesOrRefuses(name: string, decode: () => unknown): void {
  const outcome = outcomes.get(name) ?? { decoded: 0, refused: 0, slowestMs: 0 };
  outcomes.set(name, outcome);
  const started = performance.now();
  try {
    decode();
    outcome.decoded++;
  } catch (err) {
    if (!isClientError(err)) throw new Error(`${name} threw something other than a 4xx registry error: ${String((err as Error)?.stack ?? err)}`);
    outcome.refused++;
  }
  // Only reached when the decoder returned or refused properly; a wrong throw is reported above.
  const ms = performance.now() - started;
  outcome.slowestMs = Math.max(outcome.slowestMs, ms);
  if (ms > SLOW_MS) throw new Error(`${name} took ${ms.toFixed(0)} ms`);
}

afterAll(() => {
  for (const [name, { decoded, refused, slowestMs }] of outcomes) {
    reportFigures(`fuzz ${name}`, { cases: decoded + refused, decoded, refused_4xx: refused, other_errors: 0, slowest_ms: slowestMs });
  }
});

describe('the config.pbtxt parser', () => {
  it('decodes or refuses token soup', () => {
    fc.assert(fc.property(pbtxtText, (text) => decodesOrRefuses('config.pbtxt', () => parseModelConfig(text, 'm'))), fuzzParameters(500));
  });

  it('decodes or refuses a valid config with random edits', () => {
    expect(() => parseModelConfig(VALID_CONFIG, 'm')).not.toThrow();
    fc.assert(fc.property(mutatedText(VALID_CONFIG), (text) => decodesOrRefuses('config.pbtxt', () => parseModelConfig(text, 'm'))), fuzzParameters(500));
  });

  it('decodes or refuses any text', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => decodesOrRefuses('config.pbtxt', () => parseModelConfig(text, 'm'))), fuzzParameters(300));
  });

  it('refuses a label file outside the model directory, naming the field', () => {
    for (const file of ['../../etc/passwd', '/etc/passwd', 'a/../../b', '..\\..\\x']) {
      expect(() => parseModelConfig(VALID_CONFIG.replace('labels.txt', file.replace(/\\/g, '\\\\')), 'm')).toThrow(/config field 'output\[0\]\.label_filename'.*must name a file inside the model directory/);
    }
  });
});

describe('model configs as JSON (the load API override)', () => {
  it('decodes or refuses any JSON', () => {
    fc.assert(fc.property(configJson, (value) => decodesOrRefuses('config JSON', () => validateModelConfig(value, 'm'))), fuzzParameters(500));
  });
});

describe('the KServe inference body codec (JSON and binary tensors)', () => {
  it('decodes or refuses any body and Inference-Header-Content-Length', () => {
    fc.assert(fc.property(inferBody, ({ body, header }) => decodesOrRefuses('infer body', () => decodeInferRequest(body, header))), fuzzParameters(1000));
  });
});

describe('tensor decoders', () => {
  const datatypes = fc.constantFrom(...(DATATYPES as readonly DataType[]));

  it('decodes or refuses JSON data of any shape for every datatype', () => {
    fc.assert(
      fc.property(datatypes, fc.nat({ max: 16 }), tensorData, (datatype, count, data) =>
        decodesOrRefuses('JSON tensor', () => tensorDataFromJson(datatype, count, data, 'input x')),
      ),
      fuzzParameters(1000),
    );
  });

  it('decodes or refuses raw bytes for every datatype', () => {
    fc.assert(
      fc.property(datatypes, fc.nat({ max: 16 }), fc.uint8Array({ maxLength: 80 }), fc.nat({ max: 7 }), (datatype, count, bytes, offset) => {
        // Any alignment: request bodies are sliced at arbitrary offsets.
        const view = Buffer.concat([Buffer.alloc(offset), Buffer.from(bytes)]).subarray(offset);
        decodesOrRefuses('binary tensor', () => tensorDataFromRaw(datatype, count, view, 'input x'));
      }),
      fuzzParameters(1000),
    );
  });

  it('decodes or refuses length-prefixed BYTES elements', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.option(fc.nat({ max: 8 }), { nil: undefined }), (bytes, count) =>
        decodesOrRefuses('BYTES elements', () => decodeBytesElements(bytes, count, 'input x')),
      ),
      fuzzParameters(1000),
    );
  });
});

describe("the front end's request decoding", () => {
  it('decodes or refuses any /score body and any query string', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => decodesOrRefuses('score body', () => bodyInput(Buffer.from(bytes)))), fuzzParameters(500));
    fc.assert(fc.property(fc.string({ maxLength: 100 }), (search) => decodesOrRefuses('score query', () => queryInput(`?${search}`))), fuzzParameters(500));
  });

  it('decodes or refuses any request-id header values', () => {
    fc.assert(
      fc.property(headerValue, headerValue, headerValue, (id, client, legacy) =>
        decodesOrRefuses('request ids', () => requestIds({ 'x-request-id': id, 'x-ms-client-request-id': client, 'x-ms-request-id': legacy })),
      ),
      fuzzParameters(500),
    );
  });
});

describe('deeply nested input', () => {
  it.each([
    ['a config.pbtxt nested 20 000 messages deep', () => parseModelConfig(`${'input { '.repeat(20_000)}${'} '.repeat(20_000)}`, 'm')],
    ['a config.pbtxt list nested 20 000 deep', () => parseModelConfig(`dims: ${'['.repeat(20_000)}${']'.repeat(20_000)}`, 'm')],
    ['an inference body whose data is nested 200 000 arrays deep', () => decodeInferRequest(Buffer.from(`{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":${'['.repeat(200_000)}1${']'.repeat(200_000)}}]}`), undefined)],
  ])('refuses %s with a 4xx registry error', (_case, decode) => {
    decodesOrRefuses(`deep nesting`, decode);
  });
});
