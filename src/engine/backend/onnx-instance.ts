/**
 * One model instance: an onnxruntime session in a worker thread of its own (a one-thread
 * piscina pool). The I/O thread only posts tasks and receives results; tensor buffers are
 * moved, not copied, both ways.
 */
import path from 'node:path';
import Piscina from 'piscina';
import type { NumericTypedArray } from '../../tensor/datatypes';
import { CONTROL_CANCEL, CONTROL_NATIVE, CONTROL_SLOTS } from './session-messages';
import type { SessionMetadata, SessionSpec, WarmupTensor, WorkerReply, WorkerTask, WorkerTensor, RunTimings } from './session-messages';
import { movable } from './transfer';
import { onnxRuntimeRunError } from './onnxruntime-run-error';
import { InferenceError } from '../../errors';

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

/**
 * Terminates an instance's thread, but never inside an onnxruntime call (that aborts the
 * process, see CONTROL_NATIVE): asks it to stop (a warmup ends at its next execution),
 * waits until no native call is in progress, then terminates. Tasks still pending reject.
 */
async function terminate(pool: Piscina, control: Int32Array): Promise<void> {
  Atomics.store(control, CONTROL_CANCEL, 1);
  // Polled: closing is rare, and a call in progress lasts one inference.
  while (Atomics.load(control, CONTROL_NATIVE) !== 0) await new Promise((resolve) => setTimeout(resolve, 5));
  await pool.destroy();
}

export interface CreateOptions {
  /** Aborting it terminates the thread (once its native call returns) and rejects the creation at once. */
  signal?: AbortSignal;
  /** Gets the termination an abort started: it settles when the thread has exited. */
  onAbortTermination?: (ended: Promise<void>) => void;
  /** Hears onnxruntime's whole message when a run fails (for the log; the caller gets an InferenceError). */
  onRunFailure?: (message: string) => void;
}

export class OnnxInstance {
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: Piscina,
    private readonly control: Int32Array,
    readonly metadata: SessionMetadata,
    private readonly onRunFailure: ((message: string) => void) | undefined,
  ) {}

  /**
   * Starts the thread and creates the session; rejects with onnxruntime's reason if it
   * cannot. When `signal` aborts first (a load timeout, an unload), the thread is
   * terminated and the promise rejects with the signal's reason.
   */
  static async create(spec: SessionSpec, options: CreateOptions = {}): Promise<OnnxInstance> {
    const { signal } = options;
    signal?.throwIfAborted();
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
      // thread, measurable in req/s and server CPU per request (bench/README.md,
      // "Measurements behind design choices").
      atomics: 'disabled',
      execArgv: workerExecArgv(),
    });
    const shared = new SharedArrayBuffer(CONTROL_SLOTS * Int32Array.BYTES_PER_ELEMENT);
    const control = new Int32Array(shared);
    // Session creation is one native call: the thread ends when it returns. The load's
    // caller does not wait for that (the abort rejects the load at once).
    let terminating: Promise<void> | undefined;
    let rejectAborted: (reason: unknown) => void = () => undefined;
    const aborted = new Promise<never>((_, reject) => {
      rejectAborted = reject;
    });
    const onAbort = (): void => {
      terminating = terminate(pool, control);
      options.onAbortTermination?.(terminating);
      rejectAborted(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const task = { kind: 'load', spec, control: shared } satisfies WorkerTask;
      const reply = (await Promise.race([pool.run(task), aborted])) as WorkerReply;
      if (reply.kind !== 'loaded') throw new Error(`unexpected reply '${reply.kind}' to load`);
      return new OnnxInstance(pool, control, reply.metadata, options.onRunFailure);
    } catch (err) {
      if (signal?.aborted) {
        void (terminating ?? terminate(pool, control));
        throw signal.reason;
      }
      await terminate(pool, control);
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Runs one warmup sample `executions` times inside the thread (see onnx-session-worker.ts). */
  async warmUp(inputs: WarmupTensor[], outputNames: string[], executions: number): Promise<void> {
    const reply = (await this.pool.run({ kind: 'warmup', inputs, outputNames, executions } satisfies WorkerTask)) as WorkerReply;
    if (reply.kind !== 'warmed') throw new Error(`unexpected reply '${reply.kind}' to warmup`);
  }

  /**
   * Runs one batch. The input buffers are transferred to the worker: the caller must not
   * use them afterwards (whole buffers are detached here; views are copied first). When
   * onnxruntime fails the run, rejects with an InferenceError carrying its message; the
   * instance stays usable.
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
      // A buffer moved by an earlier run reads as empty; posting it would throw inside the
      // pool and the run would never settle. Node 20 has no ArrayBuffer.prototype.detached.
      if (view.length === 0 && t.dims.every((d) => d > 0)) {
        throw new InferenceError(`input '${t.name}': its buffer was already handed to a model thread (an engine bug: state or inputs reused across runs)`);
      }
      const whole = view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view : view.slice();
      buffers.add(whole.buffer as ArrayBuffer);
      return whole === view ? t : { ...t, data: whole };
    });
    const task: WorkerTask = { kind: 'run', inputs: moved, outputNames };
    const reply = (await this.pool.run(movable(task, [...buffers]))) as WorkerReply;
    if (reply.kind === 'run-failed') {
      this.onRunFailure?.(reply.message);
      throw onnxRuntimeRunError(reply.message);
    }
    if (reply.kind !== 'ran') throw new Error(`unexpected reply '${reply.kind}' to run`);
    return { outputs: reply.outputs, timings: reply.timings };
  }

  /**
   * Ends the thread: a warmup running there stops at its next execution (an inference in
   * progress finishes), then the thread is terminated; resolves when it has exited and
   * its memory is freed. Safe to call more than once.
   */
  close(): Promise<void> {
    this.closing ??= terminate(this.pool, this.control);
    return this.closing;
  }
}
