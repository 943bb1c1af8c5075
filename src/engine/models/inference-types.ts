/**
 * The engine's protocol-neutral view of an inference: what the HTTP (and later gRPC)
 * front doors decode requests into and encode responses from.
 */
import type { DataType, TensorData } from '../../tensor/datatypes';
import type { SequenceFlags } from '../scheduler/sequence-types';
import type { BatchTimings } from './model-statistics';

export interface Tensor {
  name: string;
  datatype: DataType;
  shape: number[];
  data: TensorData;
}

export interface RequestedOutput {
  name: string;
  /** Send this output as binary data (HTTP binary extension). */
  binaryData?: boolean;
  /** Classification extension: return the top N classes as BYTES instead of the tensor. */
  classification?: number;
}

export interface InferenceRequest {
  id?: string;
  inputs: Tensor[];
  /** Undefined: every output of the model, as the protocol says. */
  outputs?: RequestedOutput[];
  /** 1 is the highest; undefined uses the model's default priority level. */
  priority?: number;
  /** Queue timeout override in microseconds (honoured when the queue policy allows it). */
  timeoutMicroseconds?: number;
  /** True once the caller has gone; a queued request is then dropped before it runs. */
  isCancelled?: () => boolean;
  /** sequence_id / sequence_start / sequence_end (sequence-parameters.ts); for sequence-batched models. */
  sequence?: SequenceFlags;
}

export interface InferenceResponse {
  modelName: string;
  modelVersion: string;
  id?: string;
  outputs: Tensor[];
  /** Where the request spent its time in the model, for statistics; never sent on the wire. */
  timings?: RequestTimings;
}

/**
 * A request's queue and compute durations in a model (a batch's compute counts in full for
 * each request in it, as Triton counts it). An ensemble's are the sums over its steps.
 */
export interface RequestTimings extends Omit<BatchTimings, 'batchSize'> {
  queueNs: number;
  /**
   * For traces (src/telemetry/infer-span.ts): the rows of the batch it ran in, and the
   * process.hrtime.bigint() readings the scheduler and the run already took: queued, its
   * batch handed to an instance, that run's start and end. Absent for a cache hit and an
   * ensemble (whose steps each have their own).
   */
  batchSize?: number;
  enqueuedAtNs?: bigint;
  dequeuedAtNs?: bigint;
  batchStartNs?: bigint;
  batchEndNs?: bigint;
}
