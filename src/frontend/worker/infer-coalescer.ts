/**
 * Merges concurrent `infer()` calls to one batching model into one request along the batch
 * dimension (the first of every input), then hands each caller its own rows of the answer.
 * The front end's, not the client's: `scoreline serve` (`--coalesce-infer`, on by default)
 * gives score modules a client whose infer() goes through one (coalescing-engine-client.ts);
 * `scoreline/client` itself stays a plain client, one request per call.
 *
 * Why: a scoring worker makes one infer() call per /score request, mostly of one row, and
 * each call is a whole HTTP exchange with the engine. On the bench machine that exchange
 * costs far more CPU, both ends together, than the row's share of a batched model run
 * (bench/README.md, "Measurements behind design choices"), so calls that start in the same
 * event-loop turn go out as one request. The engine's dynamic
 * batcher still merges that request with other workers' requests.
 *
 * A call is merged only when merging cannot change what its caller gets:
 * - the model batches: its config's max_batch_size (looked up once per model version) is
 *   above 1, and a merged request never holds more rows than that;
 * - every input is binary data with the same shape beyond the batch dimension, and all of a
 *   call's inputs agree on the row count; requested outputs are binary;
 * - no request id, sequence, priority, parameters, headers, query parameters or compression (each would
 *   mean something per request to the server). A `timeout` does not stop a merge: the merged
 *   request carries the longest of its calls' timeouts (none if one call has none), so the
 *   server never gives up on a call before that call's own deadline; the calls of one group
 *   start in the same event-loop turn, so their timeouts run from the same moment.
 * Cancellation: a call whose signal aborts while it waits leaves its group (an AbortSignal
 * at once, a polled abort state when the group is sent); one whose merged request is on its
 * way is rejected at once (AbortSignal) or when the answer comes (polled state), and the
 * merged request itself is abandoned only when every one of its calls has been cancelled.
 * Anything else goes alone, exactly as without merging. A merged request that the server
 * rejects as the caller's fault (4xx) is retried call by call, so each caller gets the
 * answer its own request earns, and so is one whose outputs cannot be split by rows (the
 * model then no longer gets merged calls); other failures (the model failed, the engine is gone) reach
 * every caller of the merged request, as they would through the engine's batcher.
 *
 * The engine's statistics then count one request per merged request (its inference_count
 * still counts rows).
 */
import { InferenceServerError } from '../../errors';
import { abortReason, isAbortSignal, throwIfAborted, type AbortState } from '../../util/abort-state';
import { DataType, NumericTypedArray, TensorData, WireOutputTensor, allocateTypedArray, elementCount, tensorDataToRaw } from '../../tensor';
import { InferInput } from '../../client/infer-input';
import { InferResult } from '../../client/infer-result';
import type { InferOptions } from '../../client/inference-server-client';

/** What the coalescer needs from the client; nothing else. */
export interface CoalescerBackend {
  /** One request, as infer() sends it without coalescing. */
  send(modelName: string, inputs: readonly InferInput[], options: InferOptions): Promise<InferResult>;
  /** The model version's max_batch_size (0: the model does not batch). */
  maxBatchSize(modelName: string, modelVersion: string): Promise<number>;
}

export interface InferCoalescerOptions {
  backend: CoalescerBackend;
  /** Runs a group's flush once the current event-loop turn's calls are in (default setImmediate). */
  schedule?: (flush: () => void) => void;
  /** Milliseconds clock for forgetting failed max_batch_size lookups (default Date.now). */
  now?: () => number;
}

/** A failed config lookup (model not loaded yet?) sends calls alone for this long, then asks again. */
export const FAILED_LOOKUP_RETRY_MS = 1000;

export interface MergeKey {
  /** Calls with equal keys can share a request. */
  key: string;
  /** Rows this call contributes (the first dimension of its inputs). */
  rows: number;
}

function isEmpty(record: object | undefined): boolean {
  if (record === undefined) return true;
  for (const _ in record) return false;
  return true;
}

/** The call's merge key, or undefined when it must go alone (see the module comment). */
export function mergeKeyOf(modelName: string, inputs: readonly InferInput[], options: InferOptions): MergeKey | undefined {
  const { sequenceId, priority, timeout, requestId } = options;
  if ((requestId !== undefined && requestId !== '') || (sequenceId !== undefined && sequenceId !== 0 && sequenceId !== '')) return undefined;
  if ((priority !== undefined && priority !== 0) || (timeout !== undefined && !(Number.isSafeInteger(timeout) && timeout >= 0))) return undefined;
  if (!isEmpty(options.parameters) || !isEmpty(options.headers) || !isEmpty(options.queryParams)) return undefined;
  if (options.requestCompressionAlgorithm !== undefined || options.responseCompressionAlgorithm !== undefined) return undefined;
  if (typeof modelName !== 'string' || !Array.isArray(inputs) || inputs.length === 0) return undefined;
  let rows = -1;
  let key = `${modelName}\u0000${String(options.modelVersion ?? '')}`;
  for (const input of inputs) {
    // Inputs that are not ours (another copy of the package) or not ready go alone: the
    // plain path reports whatever is wrong with them.
    if (!(input instanceof InferInput) || !input.sentAsBinary) return undefined;
    const shape = input.shape;
    const data = input.contents;
    if (data === undefined || shape.length === 0 || data.length !== elementCount(shape)) return undefined;
    if (rows === -1) rows = shape[0]!;
    else if (shape[0] !== rows) return undefined;
    key += `\u0000${input.name}\u0001${input.datatype}\u0001${shape.slice(1).join(',')}`;
  }
  if (rows < 1) return undefined;
  key += '\u0002';
  const outputs = options.outputs;
  if (outputs === undefined || outputs.length === 0) return { key: `${key}*`, rows };
  for (const output of outputs) {
    if (!output.binaryData) return undefined;
    key += `\u0000${output.name}\u0001${output.classCount}`;
  }
  return { key, rows };
}

interface PendingCall {
  inputs: readonly InferInput[];
  options: InferOptions;
  rows: number;
  settled: boolean;
  resolve(result: InferResult): void;
  reject(err: unknown): void;
}

interface PendingGroup {
  key: string;
  modelName: string;
  maxRows: number;
  rows: number;
  calls: PendingCall[];
  flushed: boolean;
}

/** Rows [from, to) of flat contents with `perRow` elements per row. */
function sliceElements(data: TensorData, from: number, to: number): TensorData {
  return Array.isArray(data) ? data.slice(from, to) : (data as NumericTypedArray).subarray(from, to);
}

/** The calls' contents of one input, back to back. */
function concatContents(datatype: DataType, parts: readonly TensorData[]): TensorData {
  if (datatype === 'BYTES') return (parts as Uint8Array[][]).flat();
  let total = 0;
  for (const part of parts) total += part.length;
  const out = allocateTypedArray(datatype, total);
  let offset = 0;
  for (const part of parts) {
    (out as Float32Array).set(part as Float32Array, offset);
    offset += part.length;
  }
  return out;
}

function malformedSplit(message: string): InferenceServerError {
  return new InferenceServerError(502, `malformed inference response to a merged request: ${message}`);
}

function cacheKey(modelName: string, modelVersion: string | number | undefined): string {
  return `${modelName}\u0000${String(modelVersion ?? '')}`;
}

export class InferCoalescer {
  private readonly backend: CoalescerBackend;
  private readonly schedule: (flush: () => void) => void;
  private readonly now: () => number;
  private readonly pending = new Map<string, PendingGroup>();
  private readonly maxRowsCache = new Map<string, { value: Promise<number>; until: number }>();

  constructor(options: InferCoalescerOptions) {
    this.backend = options.backend;
    this.schedule = options.schedule ?? ((flush) => setImmediate(flush));
    this.now = options.now ?? Date.now;
  }

  /** Calls waiting for their group's flush (tests read it). */
  get pendingCalls(): number {
    let n = 0;
    for (const group of this.pending.values()) n += group.calls.length;
    return n;
  }

  async infer(modelName: string, inputs: readonly InferInput[], options: InferOptions): Promise<InferResult> {
    const merge = mergeKeyOf(modelName, inputs, options);
    if (merge === undefined) return this.backend.send(modelName, inputs, options);
    throwIfAborted(options.signal);
    const maxRows = await this.maxRowsOf(modelName, options.modelVersion);
    // A call that fills a batch by itself gains nothing from waiting; one over the limit
    // gets the server's own error.
    if (maxRows <= 1 || merge.rows >= maxRows) return this.backend.send(modelName, inputs, options);
    throwIfAborted(options.signal);
    return new Promise<InferResult>((resolve, reject) => this.enqueue(modelName, inputs, options, merge, maxRows, resolve, reject));
  }

  /** Sends every waiting group now (close() calls this before closing the connections). */
  flushAll(): void {
    for (const group of [...this.pending.values()]) this.flush(group);
  }

  private enqueue(
    modelName: string,
    inputs: readonly InferInput[],
    options: InferOptions,
    merge: MergeKey,
    maxRows: number,
    resolve: (result: InferResult) => void,
    reject: (err: unknown) => void,
  ): void {
    let group = this.pending.get(merge.key);
    if (group !== undefined && (group.rows + merge.rows > maxRows || group.maxRows !== maxRows)) {
      this.flush(group);
      group = undefined;
    }
    if (group === undefined) {
      const created: PendingGroup = { key: merge.key, modelName, maxRows, rows: 0, calls: [], flushed: false };
      this.pending.set(merge.key, created);
      this.schedule(() => this.flush(created));
      group = created;
    }
    const signal = isAbortSignal(options.signal) ? options.signal : undefined;
    const onAbort = (): void => {
      // Still waiting: leave the group; already sent: the request goes on for the others.
      if (!target.flushed) {
        target.calls.splice(target.calls.indexOf(call), 1);
        target.rows -= call.rows;
      }
      call.reject(signal!.reason);
    };
    const call: PendingCall = {
      inputs,
      options,
      rows: merge.rows,
      settled: false,
      resolve: (result) => {
        if (call.settled) return;
        call.settled = true;
        signal?.removeEventListener('abort', onAbort);
        resolve(result);
      },
      reject: (err) => {
        if (call.settled) return;
        call.settled = true;
        signal?.removeEventListener('abort', onAbort);
        reject(err);
      },
    };
    const target = group;
    signal?.addEventListener('abort', onAbort, { once: true });
    group.calls.push(call);
    group.rows += merge.rows;
    if (group.rows === maxRows) this.flush(group);
  }

  private flush(group: PendingGroup): void {
    if (group.flushed) return;
    group.flushed = true;
    if (this.pending.get(group.key) === group) this.pending.delete(group.key);
    const calls: PendingCall[] = [];
    for (const call of group.calls) {
      if (call.settled) continue;
      // A polled abort state is read here: a call cancelled while it waited is not sent.
      const state = call.options.signal;
      if (state?.aborted === true) call.reject(abortReason(state));
      else calls.push(call);
    }
    if (calls.length === 0) return;
    if (calls.length === 1) {
      const [only] = calls as [PendingCall];
      this.backend.send(group.modelName, only.inputs, only.options).then(only.resolve, only.reject);
      return;
    }
    void this.sendMerged(group, calls);
  }

  private async sendMerged(group: PendingGroup, calls: PendingCall[]): Promise<void> {
    const first = calls[0]!;
    let result: InferResult;
    try {
      const inputs = first.inputs.map((input, i) => {
        const shape = input.shape;
        shape[0] = group.rows;
        const contents = concatContents(input.datatype, calls.map((c) => c.inputs[i]!.contents!));
        return new InferInput(input.name, shape, input.datatype).setData(contents as Float32Array);
      });
      result = await this.backend.send(group.modelName, inputs, {
        modelVersion: first.options.modelVersion,
        outputs: first.options.outputs,
        timeout: longestTimeout(calls),
        signal: everyAborted(calls),
      });
    } catch (err) {
      if (err instanceof InferenceServerError && err.status >= 400 && err.status < 500) {
        // Perhaps one caller's fault, perhaps a model reloaded with a smaller max_batch_size:
        // ask again next time, and let each call earn its own answer now.
        this.maxRowsCache.delete(cacheKey(group.modelName, first.options.modelVersion));
        this.sendEachAlone(group.modelName, calls);
      } else {
        for (const call of calls) call.reject(err);
      }
      return;
    }
    let parts: InferResult[];
    try {
      parts = splitByCall(result, group.rows, calls);
    } catch {
      // An output without the batch dimension first (a model that batches in its own way):
      // this model's answers cannot be split, so its calls go alone from now on.
      this.maxRowsCache.set(cacheKey(group.modelName, first.options.modelVersion), { value: Promise.resolve(0), until: Number.POSITIVE_INFINITY });
      this.sendEachAlone(group.modelName, calls);
      return;
    }
    calls.forEach((call, i) => {
      const state = call.options.signal;
      if (state?.aborted === true) call.reject(abortReason(state));
      else call.resolve(parts[i]!);
    });
  }

  private sendEachAlone(modelName: string, calls: readonly PendingCall[]): void {
    for (const call of calls) this.backend.send(modelName, call.inputs, call.options).then(call.resolve, call.reject);
  }

  private maxRowsOf(modelName: string, modelVersion: string | number | undefined): Promise<number> {
    const key = cacheKey(modelName, modelVersion);
    const hit = this.maxRowsCache.get(key);
    if (hit !== undefined && hit.until > this.now()) return hit.value;
    const entry = { value: Promise.resolve(0), until: Number.POSITIVE_INFINITY };
    entry.value = this.backend.maxBatchSize(modelName, String(modelVersion ?? '')).then(
      (n) => (Number.isSafeInteger(n) && n > 0 ? n : 0),
      () => {
        // Not loaded yet, or the server is away: those calls go alone (and get the
        // server's own answer); look again shortly.
        entry.until = this.now() + FAILED_LOOKUP_RETRY_MS;
        return 0;
      },
    );
    this.maxRowsCache.set(key, entry);
    return entry.value;
  }
}

/** The merged request's timeout: the longest of its calls' (undefined when one call has none). */
function longestTimeout(calls: readonly PendingCall[]): number | undefined {
  let longest = 0;
  for (const call of calls) {
    const timeout = call.options.timeout;
    if (timeout === undefined || timeout === 0) return undefined;
    if (timeout > longest) longest = timeout;
  }
  return longest;
}

/** Aborted once every call is (undefined when one call cannot be cancelled): polled by the transport. */
function everyAborted(calls: readonly PendingCall[]): AbortState | undefined {
  for (const call of calls) if (call.options.signal === undefined) return undefined;
  return {
    get aborted() {
      for (const call of calls) if (call.options.signal?.aborted !== true) return false;
      return true;
    },
    reason: new DOMException('every call of the merged request was cancelled', 'AbortError'),
  };
}

/** One InferResult per call: its rows of every output, as a binary response of its own. */
export function splitByCall(result: InferResult, totalRows: number, calls: readonly { rows: number }[]): InferResult[] {
  const response = result.getResponse();
  const outputs = response.outputs.map((output) => {
    if (output.shape[0] !== totalRows) {
      throw malformedSplit(`output '${output.name}' has shape [${output.shape}], expected ${totalRows} rows first`);
    }
    const data = result.asTypedArray(output.name, { raw: true }) as TensorData;
    return { output, data, perRow: totalRows === 0 ? 0 : data.length / totalRows };
  });
  let row = 0;
  return calls.map((call) => {
    const wire: WireOutputTensor[] = [];
    const binary = new Map<string, Buffer>();
    for (const { output, data, perRow } of outputs) {
      const raw = tensorDataToRaw(output.datatype as DataType, sliceElements(data, row * perRow, (row + call.rows) * perRow));
      const bytes = Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      const { data: _json, ...rest } = output;
      wire.push({ ...rest, shape: [call.rows, ...output.shape.slice(1)], parameters: { ...output.parameters, binary_data_size: bytes.byteLength } });
      binary.set(output.name, bytes);
    }
    row += call.rows;
    const { id: _id, outputs: _all, ...head } = response;
    return InferResult.fromParts({ ...head, outputs: wire }, binary);
  });
}
