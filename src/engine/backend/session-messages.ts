import type { DataType } from '../../tensor/datatypes';
import type { WarmupFill } from './warmup-data';

/**
 * Messages between the engine's I/O thread and a model instance's worker thread. Plain data
 * only: numeric tensor buffers are transferred (moved), never copied, in both directions.
 */

/** How a session is created; validated by the engine before it reaches the worker. */
export interface SessionSpec {
  modelPath: string;
  /** 'cuda' for KIND_GPU; 'cpu' otherwise. */
  executionProvider: 'cuda' | 'cpu';
  deviceId: number;
  intraOpNumThreads: number;
  interOpNumThreads: number;
}

export interface IoMetadata {
  name: string;
  /** onnxruntime type name, e.g. float32. */
  type: string;
  /** Fixed dims as numbers; dynamic dims as -1 or their symbolic name. */
  shape: Array<number | string>;
}

export interface SessionMetadata {
  inputs: IoMetadata[];
  outputs: IoMetadata[];
}

/** A tensor crossing the thread boundary: onnxruntime's type name, dims and contents. */
export interface WorkerTensor {
  name: string;
  type: string;
  dims: number[];
  /** Typed array for numeric types; strings for onnxruntime's string type. */
  data: ArrayBufferView | string[];
}

/** A warmup input: the thread builds its contents (see warmup-data.ts). */
export interface WarmupTensor {
  name: string;
  /** onnxruntime type name. */
  type: string;
  datatype: DataType;
  dims: number[];
  fill: WarmupFill;
}

/**
 * Slots of the Int32Array over a SharedArrayBuffer that an instance's thread shares with
 * the I/O thread (see OnnxInstance.close): CANCEL is set by the I/O thread to stop a
 * warmup between executions; NATIVE counts the thread's onnxruntime calls in progress.
 * onnxruntime-node's session creation and run are synchronous native calls, and a thread
 * terminated inside one aborts the whole process (the call's result cannot reach a
 * terminating JavaScript environment: "terminate called after throwing an instance of
 * 'Napi::Error'"), so a thread is terminated only while NATIVE is 0.
 */
export const CONTROL_CANCEL = 0;
export const CONTROL_NATIVE = 1;
export const CONTROL_SLOTS = 2;

export type WorkerTask =
  | { kind: 'load'; spec: SessionSpec; control: SharedArrayBuffer }
  | { kind: 'run'; inputs: WorkerTensor[]; outputNames: string[] }
  /** One warmup sample, all `executions` of it run in the thread, so none of it costs the I/O thread. */
  | { kind: 'warmup'; inputs: WarmupTensor[]; outputNames: string[]; executions: number };

export interface RunTimings {
  /** Time spent inside InferenceSession.run, in nanoseconds (measured in the worker). */
  inferNs: number;
}

export type WorkerReply =
  | { kind: 'loaded'; metadata: SessionMetadata }
  | { kind: 'ran'; outputs: WorkerTensor[]; timings: RunTimings }
  /**
   * InferenceSession.run itself rejected (a node failed: shapes it cannot broadcast, an
   * impossible Reshape): onnxruntime's message, whole. A reply rather than a thrown error,
   * so the I/O thread can tell the model's failure from the thread's own.
   */
  | { kind: 'run-failed'; message: string }
  | { kind: 'warmed'; executions: number };
