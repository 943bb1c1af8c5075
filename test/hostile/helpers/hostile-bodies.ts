/**
 * Issue 20's costliest request bodies per byte, described in a few fields so that a
 * counterexample prints as its description, not as megabytes: flat numbers, zero-length
 * BYTES elements in JSON and binary, repeated outputs and inputs, arrays of empty arrays,
 * deep nesting, huge shapes; sizes up to MAX_BYTES, shapes that tell the truth or lie.
 */
import fc from 'fast-check';
import { MAX_BYTES, list, repetitions } from './hostile';

/** A hostile body, described in a few fields (a counterexample prints as this, not as megabytes). */
export type HostileBodySpec =
  | { kind: 'flat numbers (JSON)'; n: number; datatype: string; truthful: boolean }
  | { kind: 'zero-length BYTES (JSON)'; n: number; truthful: boolean }
  | { kind: 'zero-length BYTES (binary)'; n: number; truthful: boolean }
  | { kind: 'repeated outputs'; n: number }
  | { kind: 'empty arrays (JSON)'; n: number; truthful: boolean }
  | { kind: 'repeated inputs'; n: number }
  | { kind: 'deep nesting (JSON)'; depth: number }
  | { kind: 'huge shapes'; dim: number; rank: number };

/** The KServe JSON/binary bodies of the issue's probes, at random sizes, with shapes that tell the truth or lie. */
export const hostileBodySpec: fc.Arbitrary<HostileBodySpec> = fc.oneof(
  fc.record({ kind: fc.constant('flat numbers (JSON)' as const), n: repetitions(2), datatype: fc.constantFrom('INT32', 'INT64', 'FP32', 'UINT8', 'BOOL'), truthful: fc.boolean() }),
  fc.record({ kind: fc.constant('zero-length BYTES (JSON)' as const), n: repetitions(3), truthful: fc.boolean() }),
  fc.record({ kind: fc.constant('zero-length BYTES (binary)' as const), n: repetitions(4), truthful: fc.boolean() }),
  fc.record({ kind: fc.constant('repeated outputs' as const), n: repetitions(19) }),
  fc.record({ kind: fc.constant('empty arrays (JSON)' as const), n: repetitions(3), truthful: fc.boolean() }),
  fc.record({ kind: fc.constant('repeated inputs' as const), n: repetitions(60) }),
  fc.record({ kind: fc.constant('deep nesting (JSON)' as const), depth: fc.integer({ min: 1_000, max: Math.min(2_000_000, MAX_BYTES / 2) }) }),
  fc.record({ kind: fc.constant('huge shapes' as const), dim: fc.constantFrom(2 ** 31, 2 ** 53, 1e308, 4294967295), rank: fc.nat({ max: 3 }) }),
);

/** Where a body goes: in process any names do; a real engine needs its model's tensor names, and a batch dimension. */
export interface BodyTarget {
  numeric: { input: string; output: string };
  bytes: { input: string; output: string };
  /** Shapes get a leading batch dimension of 1. */
  batch: boolean;
}

export const IN_PROCESS: BodyTarget = { numeric: { input: 'INPUT0', output: 'OUTPUT0' }, bytes: { input: 'INPUT0', output: 'OUTPUT0' }, batch: false };

/** Whether a spec's tensor is BYTES (it goes to a BYTES model over the wire). */
export const isBytesSpec = (spec: HostileBodySpec): boolean => spec.kind.startsWith('zero-length BYTES');

/** The body and Inference-Header-Content-Length a spec describes. */
export function hostileBody(spec: HostileBodySpec, target: BodyTarget = IN_PROCESS): { body: Buffer; header: string | undefined } {
  const json = (text: string) => ({ body: Buffer.from(text), header: undefined });
  const { input, output } = isBytesSpec(spec) ? target.bytes : target.numeric;
  const shape = (dims: string): string => (target.batch ? `1,${dims}` : dims);
  switch (spec.kind) {
    case 'flat numbers (JSON)':
      return json(`{"inputs":[{"name":"${input}","datatype":"${spec.datatype}","shape":[${shape(String(spec.truthful ? spec.n : 16))}],"data":[${list(spec.n, '0')}]}]}`);
    case 'zero-length BYTES (JSON)':
      return json(`{"inputs":[{"name":"${input}","datatype":"BYTES","shape":[${shape(String(spec.truthful ? spec.n : 1))}],"data":[${list(spec.n, '""')}]}]}`);
    case 'zero-length BYTES (binary)': {
      const head = Buffer.from(`{"inputs":[{"name":"${input}","datatype":"BYTES","shape":[${shape(String(spec.truthful ? spec.n : 1))}],"parameters":{"binary_data_size":${4 * spec.n}}}]}`);
      return { body: Buffer.concat([head, Buffer.alloc(4 * spec.n)]), header: String(head.length) };
    }
    case 'repeated outputs':
      return json(`{"inputs":[{"name":"${input}","datatype":"INT32","shape":[${shape('16')}],"data":[${list(16, '1')}]}],"outputs":[${list(spec.n, `{"name":"${output}"}`)}]}`);
    case 'empty arrays (JSON)':
      return json(`{"inputs":[{"name":"${input}","datatype":"FP32","shape":[${spec.truthful ? `${spec.n},0` : '1,8'}],"data":[${list(spec.n, '[]')}]}]}`);
    case 'repeated inputs':
      return json(`{"inputs":[${list(spec.n, `{"name":"${input}","datatype":"FP32","shape":[${shape('1')}],"data":[1]}`)}]}`);
    case 'deep nesting (JSON)':
      return json(`{"inputs":[{"name":"${input}","datatype":"FP32","shape":[${shape('1')}],"data":${'['.repeat(spec.depth)}1${']'.repeat(spec.depth)}}]}`);
    case 'huge shapes':
      return json(`{"inputs":[{"name":"${input}","datatype":"FP32","shape":[${shape(Array(spec.rank + 1).fill(spec.dim).join(','))}],"data":[1]}]}`);
  }
}

