/**
 * One model instance: an onnxruntime session in a worker thread of its own (a one-thread
 * piscina pool). The I/O thread only posts tasks and receives results; tensor buffers are
 * moved, not copied, both ways.
 */
import path from 'node:path';
import Piscina from 'piscina';
import type { NumericTypedArray } from '../../tensor/datatypes';
import type { SessionMetadata, SessionSpec, WorkerReply, WorkerTask, WorkerTensor, RunTimings } from './session-messages';
import { movable } from './transfer';

const WORKER_FILE = path.join(__dirname, `onnx-session-worker${path.extname(__filename)}`);

/**
 * When the engine runs from TypeScript sources (tests, `tsx`), the worker must load a .ts
 * file too; tsx's register hook makes that possible without a build step.
 */
function workerExecArgv(): string[] | undefined {
  if (!WORKER_FILE.endsWith('.ts')) return undefined;
  return ['--require', require.resolve('tsx/cjs')];
}

export interface InstanceRunResult {
  outputs: WorkerTensor[];
  timings: RunTimings;
}

export class OnnxInstance {
  private constructor(
    private readonly pool: Piscina,
    readonly metadata: SessionMetadata,
  ) {}

  /** Starts the thread and creates the session; rejects with onnxruntime's reason if it cannot. */
  static async create(spec: SessionSpec): Promise<OnnxInstance> {
    const pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: 1,
      maxThreads: 1,
      // Two: the scheduler may stage the next batch while one runs (stageAhead). The thread
      // still runs one at a time, in order: InferenceSession.run blocks it.
      concurrentTasksPerWorker: 2,
      idleTimeout: Number.POSITIVE_INFINITY,
      // The scheduler measures queue and compute times itself (Triton's statistics).
      recordTiming: false,
      // Tasks reach the thread as port messages only. piscina's default ('sync') also
      // notifies an Atomics.wait between tasks: a second wake-up per batch, paid on the I/O
      // thread (MLP bench, one worker, eight alternating rounds: +3.6 % req/s, 166 -> 160 µs
      // of server CPU per request without it).
      atomics: 'disabled',
      execArgv: workerExecArgv(),
    });
    try {
      const reply = (await pool.run({ kind: 'load', spec } satisfies WorkerTask)) as WorkerReply;
      if (reply.kind !== 'loaded') throw new Error(`unexpected reply '${reply.kind}' to load`);
      return new OnnxInstance(pool, reply.metadata);
    } catch (err) {
      await pool.destroy();
      throw err;
    }
  }

  /**
   * Runs one batch. The input buffers are transferred to the worker: the caller must not
   * use them afterwards (whole buffers are detached here; views are copied first).
   */
  async run(inputs: WorkerTensor[], outputNames: string[]): Promise<InstanceRunResult> {
    // A Set: two inputs may share a buffer, and a transfer list must not name one twice.
    const buffers = new Set<ArrayBuffer>();
    const moved = inputs.map((t) => {
      if (Array.isArray(t.data) || !(t.data.buffer instanceof ArrayBuffer)) return t;
      // Only whole buffers may move. A view into a larger one (a request's tensor inside its
      // HTTP body) gets a buffer of its own first: moving the larger one would detach the
      // body, and posting the view would clone all of it.
      const view = t.data as NumericTypedArray;
      const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
      buffers.add(whole.buffer as ArrayBuffer);
      return whole === view ? t : { ...t, data: whole };
    });
    const task: WorkerTask = { kind: 'run', inputs: moved, outputNames };
    const reply = (await this.pool.run(movable(task, [...buffers]))) as WorkerReply;
    if (reply.kind !== 'ran') throw new Error(`unexpected reply '${reply.kind}' to run`);
    return { outputs: reply.outputs, timings: reply.timings };
  }

  async close(): Promise<void> {
    await this.pool.destroy();
  }
}
