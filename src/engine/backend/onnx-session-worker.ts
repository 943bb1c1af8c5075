/**
 * Runs in a model instance's worker thread, never on the engine's I/O thread:
 * onnxruntime-node's InferenceSession.run blocks its thread for the whole inference.
 * One session per thread; the thread belongs to exactly one model instance, so tasks
 * arrive one at a time and no locking is needed.
 */
import * as ort from 'onnxruntime-node';
import { movable } from './transfer';
import type { IoMetadata, SessionSpec, WorkerReply, WorkerTask, WorkerTensor } from './session-messages';

let session: ort.InferenceSession | undefined;


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
  session = await ort.InferenceSession.create(spec.modelPath, {
    executionProviders,
    intraOpNumThreads: spec.intraOpNumThreads,
    interOpNumThreads: spec.interOpNumThreads,
    graphOptimizationLevel: 'all',
  });
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
  const results = await session.run(feeds, outputNames);
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

export default async function handle(task: WorkerTask): Promise<WorkerReply> {
  return task.kind === 'load' ? load(task.spec) : run(task.inputs, task.outputNames);
}
