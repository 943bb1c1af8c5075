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

export type WorkerTask =
  | { kind: 'load'; spec: SessionSpec }
  | { kind: 'run'; inputs: WorkerTensor[]; outputNames: string[] };

export interface RunTimings {
  /** Time spent inside InferenceSession.run, in nanoseconds (measured in the worker). */
  inferNs: number;
}

export type WorkerReply =
  | { kind: 'loaded'; metadata: SessionMetadata }
  | { kind: 'ran'; outputs: WorkerTensor[]; timings: RunTimings };
