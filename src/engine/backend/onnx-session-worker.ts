/**
 * Runs in a model instance's worker thread, never on the engine's I/O thread:
 * onnxruntime-node's InferenceSession.run blocks its thread for the whole inference.
 * One session per thread; the thread belongs to exactly one model instance, so tasks
 * arrive one at a time and no locking is needed. The thread is ended by terminating it,
 * only ever between onnxruntime calls (see `native`).
 */
import * as ort from 'onnxruntime-node';
import { movable } from './transfer';
import { CONTROL_CANCEL, CONTROL_NATIVE } from './session-messages';
import type { IoMetadata, SessionSpec, WarmupTensor, WorkerReply, WorkerTask, WorkerTensor } from './session-messages';
import { buildWarmupData } from './warmup-data';

let session: ort.InferenceSession | undefined;
/** Shared with the I/O thread; see CONTROL_CANCEL / CONTROL_NATIVE in session-messages.ts. */
let control: Int32Array | undefined;

/** Thrown instead of starting a native call once the I/O thread has asked this thread to stop. */
class CancelledError extends Error {}

/**
 * Runs one onnxruntime call with NATIVE raised, so the I/O thread never terminates this
 * thread inside it. The counter goes up before CANCEL is read (both sequentially
 * consistent), so once the I/O thread has set CANCEL and then seen NATIVE at 0, no
 * native call can start here.
 */
async function native<T>(call: () => Promise<T>): Promise<T> {
  if (!control) return call();
  Atomics.add(control, CONTROL_NATIVE, 1);
  try {
    if (Atomics.load(control, CONTROL_CANCEL) !== 0) throw new CancelledError('the model instance is being closed');
    return await call();
  } finally {
    Atomics.sub(control, CONTROL_NATIVE, 1);
  }
}


function metadataOf(list: readonly ort.InferenceSession.ValueMetadata[]): IoMetadata[] {
  return list.map((m) =>
    m.isTensor
      ? { name: m.name, type: m.type, shape: m.shape.map((d) => (typeof d === 'number' ? d : d === '' ? -1 : d)) }
      : { name: m.name, type: 'non-tensor', shape: [] },
  );
}

async function load(spec: SessionSpec): Promise<WorkerReply> {
  const executionProviders: ort.InferenceSession.ExecutionProviderConfig[] =
    spec.executionProvider === 'cuda' ? [{ name: 'cuda', deviceId: spec.deviceId }] : ['cpu'];
  session = await native(() =>
    ort.InferenceSession.create(spec.modelPath, {
      executionProviders,
      intraOpNumThreads: spec.intraOpNumThreads,
      interOpNumThreads: spec.interOpNumThreads,
      graphOptimizationLevel: 'all',
    }),
  );
  return { kind: 'loaded', metadata: { inputs: metadataOf(session.inputMetadata), outputs: metadataOf(session.outputMetadata) } };
}

function toOrt(t: WorkerTensor): ort.Tensor {
  return new ort.Tensor(t.type as ort.Tensor.Type, t.data as ort.Tensor.DataType, t.dims);
}

async function run(inputs: WorkerTensor[], outputNames: string[]): Promise<WorkerReply> {
  if (!session) throw new Error('session used before it was loaded');
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of inputs) feeds[t.name] = toOrt(t);
  const started = process.hrtime.bigint();
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await native(() => session!.run(feeds, outputNames));
  } catch (err) {
    if (err instanceof CancelledError) throw err;
    return { kind: 'run-failed', message: err instanceof Error ? err.message : String(err) };
  }
  const inferNs = Number(process.hrtime.bigint() - started);
  const outputs: WorkerTensor[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const name of outputNames) {
    const r = results[name];
    if (!r) throw new Error(`the model produced no output '${name}'`);
    const data = r.data as ArrayBufferView | string[];
    outputs.push({ name, type: r.type, dims: [...r.dims], data });
    if (!Array.isArray(data) && data.buffer instanceof ArrayBuffer) transfer.push(data.buffer);
  }
  const reply: WorkerReply = { kind: 'ran', outputs, timings: { inferNs } };
  // Outputs are fresh buffers owned by this call: hand them over instead of copying.
  return movable(reply, transfer);
}

/**
 * A warmup sample: its tensors are built here (once; a session does not change its inputs)
 * and run `executions` times. A count too large to finish is stopped by the engine's load
 * timeout or an unload, which terminate this thread: nothing else can interrupt it.
 */
async function warmUp(inputs: WarmupTensor[], outputNames: string[], executions: number): Promise<WorkerReply> {
  if (!session) throw new Error('session used before it was loaded');
  const feeds: Record<string, ort.Tensor> = {};
  for (const t of inputs) {
    const elements = t.dims.reduce((n, d) => n * d, 1);
    feeds[t.name] = new ort.Tensor(t.type as ort.Tensor.Type, buildWarmupData(t.datatype, elements, t.fill) as ort.Tensor.DataType, t.dims);
  }
  // Each execution checks CANCEL first: an unload or load timeout stops a long warmup
  // within one execution, after which the I/O thread may terminate this thread.
  for (let n = 0; n < executions; n++) await native(() => session!.run(feeds, outputNames));
  return { kind: 'warmed', executions };
}

export default async function handle(task: WorkerTask): Promise<WorkerReply> {
  switch (task.kind) {
    case 'load':
      control = new Int32Array(task.control);
      return load(task.spec);
    case 'run':
      return run(task.inputs, task.outputNames);
    case 'warmup':
      return warmUp(task.inputs, task.outputNames, task.executions);
  }
}
