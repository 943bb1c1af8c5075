/**
 * One loaded version of a model: its config, its instances (each an onnxruntime session
 * in its own thread), its scheduler and its statistics. Requests come in validated;
 * batches go out to instances; outputs come back split per request.
 *
 * Ownership: the scheduler decides which instance runs a batch and never runs two batches
 * on one instance at a time, so an instance's buffers are only touched by one batch.
 */
import { InferenceError, InvalidArgumentError, ModelLoadError, UnavailableError } from '../../errors';
import { DataType, TensorData, dataTypeFromOnnxType, dataTypeInfo } from '../../tensor/datatypes';
import type { OnnxInstance } from '../backend/onnx-instance';
import { CacheMiss, ModelResponseCache, isCacheMiss } from '../cache/model-response-cache';
import { newLoadIdentity } from '../cache/load-identity';
import type { ResponseCache } from '../cache/response-cache';
import type { WarmupTensor, WorkerTensor } from '../backend/session-messages';
import type { ModelConfig } from '../config/model-config';
import { createScheduler } from '../scheduler/create-scheduler';
import type { BatchItem, Scheduler, SequenceStats } from '../scheduler/scheduler-types';
import { formatSequenceId, namesSequence } from '../scheduler/sequence-types';
import { concatRows, splitRows } from './batch-assembly';
import { topKClassification } from './classification';
import type { InferenceRequest, InferenceResponse, Tensor } from './inference-types';
import { BatchTimings, ModelStatistics } from './model-statistics';
import { WarmupSample, describeSample } from './model-warmup';
import { ValidatedRequest, validateRequest } from './request-validation';
import { SequenceStateStore } from './sequence-state-store';
import type { ServableVersion, Successor } from './servable-version';
import { nowNs } from '../../util/monotonic-clock';

/** Re-exported for the metrics wing, which reads a version's sequences but may not import the scheduler. */
export type { SequenceStats };

interface Pending {
  request: InferenceRequest;
  validated: ValidatedRequest;
  arrivedAtNs: bigint;
}

interface Delivered {
  outputs: Tensor[];
  timings: BatchTimings;
  queueNs: number;
  /** For traces: when it was queued, when its batch left the queue, and that run's start and end. */
  enqueuedAtNs: bigint;
  dequeuedAtNs: bigint;
  batchStartNs: bigint;
  batchEndNs: bigint;
}

function toWorkerTensor(t: { name: string; datatype: DataType; data: TensorData }, dims: number[]): WorkerTensor {
  const onnxType = dataTypeInfo(t.datatype).onnxType;
  if (!onnxType) throw new InferenceError(`datatype ${t.datatype} of '${t.name}' is not supported by onnxruntime`);
  const data =
    t.datatype === 'BYTES'
      ? (t.data as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8'))
      : (t.data as ArrayBufferView); // OnnxInstance.run moves it (a view into a larger buffer as a copy)
  return { name: t.name, type: onnxType, dims, data };
}

function fromWorkerTensor(t: WorkerTensor): Tensor {
  const datatype = dataTypeFromOnnxType(t.type);
  if (!datatype) throw new InferenceError(`output '${t.name}' has onnxruntime type '${t.type}', which KServe cannot carry`);
  const data: TensorData =
    datatype === 'BYTES' ? (t.data as string[]).map((s) => Buffer.from(s, 'utf8')) : (t.data as TensorData);
  return { name: t.name, datatype, shape: t.dims, data };
}

export class ModelVersion implements ServableVersion {
  readonly stats: ModelStatistics;
  private readonly scheduler: Scheduler<Pending, Delivered>;
  private readonly batching: boolean;
  private readonly outputNames: string[];
  /** Sequence-batched models: the implicit state and control inputs; the run also returns the state outputs. */
  private readonly sequences: SequenceStateStore | undefined;
  private readonly runOutputNames: string[];
  private successor: Successor | undefined;
  /** The engine's response cache when this model uses it (server cache on and response_cache.enable). */
  private readonly cache: ModelResponseCache | undefined;
  private readonly loadIdentity = newLoadIdentity();
  /** Set by unload()/close(): from then on a request goes to the scheduler, which answers as uncached. */
  private stopping = false;

  constructor(
    readonly modelName: string,
    readonly version: number,
    readonly config: ModelConfig,
    private readonly instances: OnnxInstance[],
    /** Labels per output name, from each output's label_filename. */
    private readonly labels: ReadonlyMap<string, readonly string[]>,
    /** The engine's response cache (--cache-config); used only if the config enables it. */
    responseCache?: ResponseCache,
    /** Sequence-batched models: initial_state data files, by state input name (readInitialStates). */
    initialStates?: ReadonlyMap<string, TensorData>,
  ) {
    this.stats = new ModelStatistics(modelName, String(version));
    // Triton: both the server cache and the model's response_cache.enable, else no caching
    // (and no error: an enabled model on a server without a cache just executes).
    this.cache =
      config.response_cache?.enable && responseCache
        ? new ModelResponseCache(responseCache, this.stats, modelName, version)
        : undefined;
    this.batching = config.max_batch_size > 0;
    this.outputNames = config.output.map((o) => o.name);
    this.sequences = config.sequence_batching && new SequenceStateStore(modelName, config.sequence_batching, this.batching, initialStates);
    this.runOutputNames = [...this.outputNames, ...(this.sequences?.stateOutputNames ?? [])];
    this.scheduler = createScheduler<Pending, Delivered>(
      {
        modelName,
        instanceCount: instances.length,
        maxBatchSize: config.max_batch_size,
        dynamicBatching: config.dynamic_batching,
        // An instance's thread takes a second batch and runs it when the first ends.
        stageAhead: true,
        sequenceBatching: config.sequence_batching,
        onSequenceReleased: (key) => this.sequences?.release(key),
      },
      (instance, items) => this.runBatch(instance, items),
    );
  }

  /** Triton's pending count: requests awaiting execution (queued, or staged at an instance), not those running. */
  get pendingCount(): number {
    return this.scheduler.queuedCount + this.scheduler.stagedCount;
  }

  /** Whether responses of this version are cached (the metrics' cache families list only these). */
  get cacheEnabled(): boolean {
    return this.cache !== undefined;
  }

  cacheIdentity(): readonly number[] {
    return [this.loadIdentity];
  }

  isReady(): boolean {
    return this.successor === undefined;
  }

  retire(successor: Successor): void {
    this.successor = successor;
  }

  async infer(request: InferenceRequest): Promise<InferenceResponse> {
    // Looked up before a reload swapped this version out: the new one answers.
    const next = this.successor?.();
    if (next && next !== this) return next.infer(request);
    const arrivedAtNs = nowNs();
    let validated: ValidatedRequest;
    try {
      validated = validateRequest(this.modelName, this.config, request);
      this.checkSequence(request);
    } catch (err) {
      this.stats.recordFailure(Number(nowNs() - arrivedAtNs), err);
      throw err;
    }
    // Looked up after validation (an invalid request fails as it would uncached) and before
    // the scheduler: a hit never queues, never runs the model, and answers at once, so it
    // has no queue timeout or cancellation to honour.
    let miss: CacheMiss | undefined;
    if (this.cache && !this.stopping) {
      const looked = this.cache.lookup(request, validated.inputs, arrivedAtNs, [this.loadIdentity]);
      if (!isCacheMiss(looked)) return looked;
      miss = looked;
    }
    try {
      const delivered = await this.scheduler.enqueue({
        payload: { request, validated, arrivedAtNs },
        batchSize: validated.batchSize,
        shapeKey: validated.shapeKey,
        priority: request.priority,
        timeoutMicroseconds: request.timeoutMicroseconds,
        isCancelled: request.isCancelled,
        sequence: request.sequence,
      });
      if (miss) this.cache!.store(miss, delivered.outputs);
      this.stats.recordSuccess(Number(nowNs() - arrivedAtNs), delivered.queueNs, delivered.timings);
      const { computeInputNs, computeInferNs, computeOutputNs, batchSize } = delivered.timings;
      const { queueNs, enqueuedAtNs, dequeuedAtNs, batchStartNs, batchEndNs } = delivered;
      return {
        modelName: this.modelName,
        modelVersion: String(this.version),
        id: request.id,
        outputs: delivered.outputs,
        timings: { queueNs, computeInputNs, computeInferNs, computeOutputNs, batchSize, enqueuedAtNs, dequeuedAtNs, batchStartNs, batchEndNs },
      };
    } catch (err) {
      this.stats.recordFailure(Number(nowNs() - arrivedAtNs), err);
      throw err;
    }
  }

  /** Stops taking requests, lets queued and running ones finish, then ends the instances. */
  async unload(): Promise<void> {
    this.stopping = true;
    await this.scheduler.drain();
    await this.scheduler.close(new UnavailableError(`model '${this.modelName}' version ${this.version} is unloading`));
    await Promise.all(this.instances.map((i) => i.close()));
  }

  /** Ends the instances now; queued requests fail with `error`. */
  async close(error: Error): Promise<void> {
    this.stopping = true;
    await this.scheduler.close(error);
    await Promise.all(this.instances.map((i) => i.close()));
  }

  /**
   * Runs the warmup samples on every instance (instances in parallel, samples in order),
   * straight on the instances: warmup is not a client request, so it bypasses the
   * scheduler and the statistics. Each sample is one task in the instance's thread, which
   * builds its tensors and runs all its executions there. Called by the loader before the
   * version is served; the loader's timeout or an unload stops it by closing the instances.
   */
  async warmUp(samples: readonly WarmupSample[], log?: (message: string) => void): Promise<void> {
    if (samples.length === 0) return;
    await Promise.all(
      this.instances.map(async (instance, index) => {
        for (const sample of samples) {
          // Logged before it runs too: a warmup that takes long is visible while it does.
          log?.(
            `model '${this.modelName}' version ${this.version} instance ${index}: running ${describeSample(sample)} ${sample.executions} time${sample.executions === 1 ? '' : 's'} (batch size ${sample.batchSize})`,
          );
          try {
            await instance.warmUp(this.warmupTensors(sample), this.outputNames, sample.executions);
          } catch (err) {
            throw new ModelLoadError(
              `model '${this.modelName}' version ${this.version}: ${describeSample(sample)} failed on instance ${index}: ${(err as Error).message}`,
              { cause: err },
            );
          }
          log?.(
            `model '${this.modelName}' version ${this.version} instance ${index}: ${describeSample(sample)} ran ${sample.executions} time${sample.executions === 1 ? '' : 's'} (batch size ${sample.batchSize})`,
          );
        }
      }),
    );
  }

  /**
   * A sample's inputs as the session takes them: onnxruntime types, reshape applied. A
   * sequence model's control and state inputs, which a sample does not list (they are not
   * in the config's inputs), are added as a one-step sequence from the initial state.
   */
  private warmupTensors(sample: WarmupSample): WarmupTensor[] {
    const sequenceInputs = (this.sequences?.warmupFeeds(this.batching ? sample.batchSize : 1) ?? []).map(
      (t): WarmupTensor => ({
        name: t.name,
        type: dataTypeInfo(t.datatype).onnxType!,
        datatype: t.datatype,
        dims: [...t.shape],
        fill: Array.isArray(t.data)
          ? { kind: 'elements', elements: t.data.map((e) => (typeof e === 'string' ? Buffer.from(e, 'utf8') : e)) }
          : { kind: 'row', bytes: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength) },
      }),
    );
    return [...this.sampleTensors(sample), ...sequenceInputs];
  }

  private sampleTensors(sample: WarmupSample): WarmupTensor[] {
    return sample.inputs.map((input) => {
      const spec = this.config.input.find((c) => c.name === input.name)!;
      const dims = spec.reshape
        ? this.batching
          ? [sample.batchSize, ...spec.reshape.shape]
          : [...spec.reshape.shape]
        : [...input.shape];
      const type = dataTypeInfo(input.datatype).onnxType;
      if (!type) throw new InferenceError(`datatype ${input.datatype} of '${input.name}' is not supported by onnxruntime`);
      return { name: input.name, type, datatype: input.datatype, dims, fill: input.fill };
    });
  }

  /** The tensors one execution feeds the session: the requests' rows joined along the batch dim. */
  private feeds(requests: ValidatedRequest[]): WorkerTensor[] {
    const totalRows = requests.reduce((sum, r) => sum + r.batchSize, 0);
    return requests[0]!.inputs.map((input, k) => {
      const spec = this.config.input.find((c) => c.name === input.name)!;
      const restDims = spec.reshape ? spec.reshape.shape : this.batching ? input.shape.slice(1) : input.shape;
      const dims = this.batching ? [totalRows, ...restDims] : [...restDims];
      const data = requests.length === 1 ? input.data : concatRows(input.datatype, requests.map((r) => r.inputs[k]!.data));
      return toWorkerTensor({ name: input.name, datatype: input.datatype, data }, dims);
    });
  }

  private async runBatch(instanceIndex: number, items: BatchItem<Pending>[]): Promise<Array<Delivered | Error>> {
    const startNs = nowNs();
    const rows = items.map((i) => i.payload.validated.batchSize);
    const totalRows = rows.reduce((a, b) => a + b, 0);
    const feeds = this.feeds(items.map((i) => i.payload.validated));
    if (this.sequences) feeds.push(...this.sequences.feeds(items.map((i) => i.sequence!)).map((t) => toWorkerTensor(t, t.shape)));
    const inferStartNs = nowNs();
    const result = await this.instances[instanceIndex]!.run(feeds, this.runOutputNames);
    const outputStartNs = nowNs();
    const all = result.outputs.map(fromWorkerTensor);
    const outputs = this.sequences ? this.sequences.absorb(items.map((i) => i.sequence!), all) : all;
    const perItem: Array<{ outputs: Tensor[] }> = items.map(() => ({ outputs: [] }));
    for (const out of outputs) {
      const pieces = this.batching ? splitRows(out.datatype, out.data, out.shape, rows) : [{ shape: out.shape, data: out.data }];
      pieces.forEach((piece, idx) => {
        perItem[idx]!.outputs.push({ name: out.name, datatype: out.datatype, shape: piece.shape, data: piece.data });
      });
    }
    const delivered = items.map((item, idx) => {
      try {
        return this.selectOutputs(item.payload.request, perItem[idx]!.outputs);
      } catch (err) {
        return err as Error;
      }
    });
    const endNs = nowNs();
    const timings: BatchTimings = {
      batchSize: this.batching ? totalRows : 1,
      computeInputNs: Number(inferStartNs - startNs),
      // The worker's own measure: a staged batch waited there for the one before it.
      computeInferNs: result.timings.inferNs,
      computeOutputNs: Number(endNs - outputStartNs),
    };
    this.stats.recordExecution(timings);
    // The model thread's own time, not the I/O thread's view of it: under load this thread
    // hears late that a batch ended, which would make the queue look slower than it is.
    this.scheduler.observeExecution(totalRows, result.timings.inferNs / 1000);
    return delivered.map((outputsOrError, idx) =>
      outputsOrError instanceof Error
        ? outputsOrError
        : {
            outputs: outputsOrError,
            timings,
            queueNs: Number(items[idx]!.dequeuedAtNs - items[idx]!.enqueuedAtNs),
            enqueuedAtNs: items[idx]!.enqueuedAtNs,
            dequeuedAtNs: items[idx]!.dequeuedAtNs,
            batchStartNs: startNs,
            batchEndNs: endNs,
          },
    );
  }

  /** Sequences whose implicit state the engine holds now (tests read it; Triton reports no such count). */
  get sequenceStateCount(): number {
    return this.sequences?.count ?? 0;
  }

  /** The sequence batcher's counts (scoreline_sequence_* metrics); undefined without sequence_batching. */
  get sequenceStats(): SequenceStats | undefined {
    return this.scheduler.sequenceStats;
  }

  /**
   * A sequence_id sent to a model without sequence_batching is refused: Triton ignores it
   * there, but a client that sends one expects state to be kept, and none would be.
   */
  private checkSequence(request: InferenceRequest): void {
    const sequence = request.sequence;
    if (!sequence) return;
    if (!this.sequences) {
      if (!namesSequence(sequence.id)) return;
      throw new InvalidArgumentError(
        `inference request to model '${this.modelName}' specifies sequence_id ${formatSequenceId(sequence.id)}, but the model has no sequence_batching, so no sequence state would be kept; remove sequence_id, sequence_start and sequence_end, or configure sequence_batching`,
      );
    }
    this.sequences.checkId(sequence.id);
  }

  /** Keeps the outputs the request asked for (all when it named none), classifying where asked. */
  private selectOutputs(request: InferenceRequest, outputs: Tensor[]): Tensor[] {
    if (!request.outputs || request.outputs.length === 0) return outputs;
    return request.outputs.map((wanted) => {
      const t = outputs.find((o) => o.name === wanted.name);
      if (!t) throw new InferenceError(`model '${this.modelName}' produced no output '${wanted.name}'`);
      if (wanted.classification && wanted.classification > 0) {
        return topKClassification(t, wanted.classification, this.batching, this.labels.get(t.name));
      }
      return t;
    });
  }
}
