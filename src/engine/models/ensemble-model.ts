/**
 * One version of an ensemble (platform "ensemble"): no instances of its own. A request is
 * validated against the ensemble's config, then flows through the steps: a step starts as
 * soon as every tensor it reads exists, so independent steps run concurrently. Each step
 * is an ordinary request to the composing model's current version, through that model's
 * own scheduler, so it batches with the model's direct traffic.
 *
 * Sequences: a request's sequence_id / sequence_start / sequence_end go to the steps whose
 * model has sequence_batching (the others never see them, as Triton's ensembles pass the
 * correlation ID only where a sequence batcher reads it); a sequence request is never
 * answered from the response cache, since its result depends on the state before it.
 *
 * Tensor ownership: running a request moves its buffers to an instance's thread. A tensor
 * that is read more than once (two steps, or a step and the response) is therefore handed
 * out as a copy to every reader but the last; the last one gets the original.
 */
import { InferenceError, InvalidArgumentError, UnavailableError } from '../../errors';
import { formatSequenceId, namesSequence } from '../scheduler/sequence-types';
import { NumericTypedArray, TensorData } from '../../tensor/datatypes';
import { ModelResponseCache, isCacheMiss } from '../cache/model-response-cache';
import { newLoadIdentity } from '../cache/load-identity';
import type { ResponseCache } from '../cache/response-cache';
import type { ModelConfig } from '../config/model-config';
import { topKClassification } from './classification';
import type { EnsemblePlan, EnsembleStepPlan } from './ensemble-plan';
import type { InferenceRequest, InferenceResponse, RequestTimings, Tensor } from './inference-types';
import { ModelStatistics } from './model-statistics';
import { validateRequest } from './request-validation';
import type { ServableVersion, Successor } from './servable-version';
import { nowNs } from '../../util/monotonic-clock';

/** How an ensemble reaches its composing models (the model manager provides it). */
export interface ComposingModels {
  /** The version a step runs on now (-1: the highest loaded); throws when there is none. */
  resolve(modelName: string, version: number): ServableVersion;
}

function copyData(data: TensorData): TensorData {
  // BYTES elements are copied into strings on their way to a worker, so sharing them is safe.
  return Array.isArray(data) ? data : (data as NumericTypedArray).slice();
}

export class EnsembleModel implements ServableVersion {
  readonly stats: ModelStatistics;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private closedWith: Error | undefined;
  private successor: Successor | undefined;
  private readonly cache: ModelResponseCache | undefined;
  private readonly loadIdentity = newLoadIdentity();

  constructor(
    readonly modelName: string,
    readonly version: number,
    readonly config: ModelConfig,
    private readonly plan: EnsemblePlan,
    private readonly models: ComposingModels,
    /** Labels per output name, from each output's label_filename. */
    private readonly labels: ReadonlyMap<string, readonly string[]> = new Map(),
    /** The engine's response cache: Triton caches an ensemble's top level when its config enables it. */
    responseCache?: ResponseCache,
  ) {
    this.stats = new ModelStatistics(modelName, String(version));
    this.cache =
      config.response_cache?.enable && responseCache
        ? new ModelResponseCache(responseCache, this.stats, modelName, version)
        : undefined;
  }

  get cacheEnabled(): boolean {
    return this.cache !== undefined;
  }

  /**
   * This load's identity and the composing versions' its steps resolve to now: a reload of
   * a composing model changes the key, so the ensemble's old answers are not served. A step
   * with no version loaded contributes 0 (the request then fails in that step, uncached).
   */
  cacheIdentity(): readonly number[] {
    return [
      this.loadIdentity,
      ...this.plan.steps.flatMap((step) => {
        try {
          return [...this.models.resolve(step.modelName, step.modelVersion).cacheIdentity()];
        } catch {
          return [0];
        }
      }),
    ];
  }

  get pendingCount(): number {
    return this.inFlight;
  }

  /** Ready while every step's composing model (and required version) is loaded. */
  isReady(): boolean {
    if (this.successor || this.closedWith) return false;
    return this.plan.steps.every((step) => {
      try {
        return this.models.resolve(step.modelName, step.modelVersion).isReady();
      } catch {
        return false;
      }
    });
  }

  retire(successor: Successor): void {
    this.successor = successor;
  }

  async infer(request: InferenceRequest): Promise<InferenceResponse> {
    const next = this.successor?.();
    if (next && next !== this) return next.infer(request);
    if (this.closedWith) throw this.closedWith;
    const arrivedAtNs = nowNs();
    this.inFlight += 1;
    try {
      const validated = validateRequest(this.modelName, this.config, request);
      const inSequence = this.checkSequence(request);
      const looked = inSequence ? undefined : this.cache?.lookup(request, validated.inputs, arrivedAtNs, this.cacheIdentity());
      if (looked && !isCacheMiss(looked)) return looked;
      // The ensemble's own queue and compute times are its steps' summed, as Triton reports them.
      const spent: RequestTimings = { queueNs: 0, computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };
      const tensors = await this.flow(request, validated.inputs, spent);
      const outputs = this.selectOutputs(request, tensors);
      const batchSize = this.config.max_batch_size > 0 ? validated.batchSize : 1;
      const timings = { ...spent, batchSize };
      this.stats.recordExecution(timings);
      if (looked) this.cache!.store(looked, outputs);
      this.stats.recordSuccess(Number(nowNs() - arrivedAtNs), spent.queueNs, timings);
      return { modelName: this.modelName, modelVersion: String(this.version), id: request.id, outputs, timings: spent };
    } catch (err) {
      this.stats.recordFailure(Number(nowNs() - arrivedAtNs), err);
      throw err;
    } finally {
      this.inFlight -= 1;
      if (this.inFlight === 0) this.notifyIdle();
    }
  }

  /**
   * Whether the request belongs to a sequence (a non-zero sequence_id). One sent to an
   * ensemble none of whose steps has sequence_batching is refused, as a direct request to
   * such a model is (model-version.ts): no state would be kept.
   */
  private checkSequence(request: InferenceRequest): boolean {
    const id = request.sequence?.id;
    if (!namesSequence(id)) return false;
    const stateful = this.plan.steps.some((step) => this.models.resolve(step.modelName, step.modelVersion).config.sequence_batching !== undefined);
    if (!stateful) {
      throw new InvalidArgumentError(
        `inference request to ensemble '${this.modelName}' specifies sequence_id ${formatSequenceId(id)}, but none of its steps has sequence_batching, so no sequence state would be kept; remove sequence_id, sequence_start and sequence_end`,
      );
    }
    return true;
  }

  /** Lets accepted requests finish, then refuses new ones. */
  async unload(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    this.closedWith ??= new UnavailableError(`model '${this.modelName}' version ${this.version} is unloading`);
  }

  /** Refuses new requests now; steps already sent to composing models finish or fail there. */
  async close(error: Error): Promise<void> {
    this.closedWith ??= error;
    this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Runs every step once its inputs exist; resolves with all tensors when the last step is
   * done. Each step's queue and compute times are added to `spent`.
   */
  private flow(request: InferenceRequest, inputs: Tensor[], spent: RequestTimings): Promise<Map<string, Tensor>> {
    const tensors = new Map<string, Tensor>(inputs.map((t) => [t.name, t]));
    const wanted = request.outputs?.length ? request.outputs.map((o) => o.name) : this.config.output.map((o) => o.name);
    // Reads left per tensor: the steps that read it, plus the response for the outputs it carries.
    const readsLeft = new Map(this.plan.readers);
    for (const name of wanted) readsLeft.set(name, (readsLeft.get(name) ?? 0) + 1);
    const take = (tensor: string, as: string): Tensor => {
      const t = tensors.get(tensor)!;
      const left = (readsLeft.get(tensor) ?? 1) - 1;
      readsLeft.set(tensor, left);
      return { name: as, datatype: t.datatype, shape: [...t.shape], data: left > 0 ? copyData(t.data) : t.data };
    };
    const runStep = async (step: EnsembleStepPlan): Promise<void> => {
      const target = this.models.resolve(step.modelName, step.modelVersion);
      const response = await target.infer({
        id: request.id,
        inputs: step.inputs.map(([input, tensor]) => take(tensor, input)),
        outputs: step.outputs.map(([output]) => ({ name: output })),
        priority: request.priority,
        timeoutMicroseconds: request.timeoutMicroseconds,
        ...(request.sequence && target.config.sequence_batching ? { sequence: request.sequence } : {}),
        isCancelled: request.isCancelled,
      });
      if (response.timings) {
        spent.queueNs += response.timings.queueNs;
        spent.computeInputNs += response.timings.computeInputNs;
        spent.computeInferNs += response.timings.computeInferNs;
        spent.computeOutputNs += response.timings.computeOutputNs;
      }
      for (const [output, tensor] of step.outputs) {
        const t = response.outputs.find((o) => o.name === output);
        if (!t) throw new InferenceError(`ensemble '${this.modelName}': model '${step.modelName}' returned no output '${output}'`);
        tensors.set(tensor, { ...t, name: tensor });
      }
    };

    return new Promise((resolve, reject) => {
      const waiting = new Set(this.plan.steps);
      let running = 0;
      let failed = false;
      const launchReady = (): void => {
        for (const step of [...waiting]) {
          if (!step.inputs.every(([, tensor]) => tensors.has(tensor))) continue;
          waiting.delete(step);
          running += 1;
          // A step that throws before its first await (an unloaded model) still rejects here.
          Promise.resolve()
            .then(() => runStep(step))
            .then(
              () => {
                running -= 1;
                if (failed) return;
                launchReady();
                if (running === 0) {
                  if (waiting.size === 0) resolve(tensors);
                  else reject(new InferenceError(`ensemble '${this.modelName}': steps stalled waiting for inputs`));
                }
              },
              (err: unknown) => {
                running -= 1;
                if (failed) return;
                failed = true;
                reject(err);
              },
            );
        }
      };
      launchReady();
    });
  }

  /** The outputs the request asked for (all when it named none), classifying where asked. */
  private selectOutputs(request: InferenceRequest, tensors: Map<string, Tensor>): Tensor[] {
    const wanted = request.outputs?.length ? request.outputs : this.config.output.map((o) => ({ name: o.name, classification: 0 }));
    return wanted.map((w) => {
      const t = tensors.get(w.name);
      if (!t) throw new InferenceError(`ensemble '${this.modelName}' produced no output '${w.name}'`);
      // The response is this tensor's last reader, so it takes the original.
      if (w.classification && w.classification > 0) {
        return topKClassification(t, w.classification, this.config.max_batch_size > 0, this.labels.get(t.name));
      }
      return t;
    });
  }
}
