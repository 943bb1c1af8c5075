/**
 * The overload benchmark's load generator in a process of its own: the benchmark's own work
 * (starting servers, probing them, writing results) never runs on the generator's event loop
 * and never delays a scheduled request, and process.cpuUsage() in here is the generator's CPU
 * alone. The parent sends one OpenLoopOptions per step over IPC; the child answers with the
 * step's outcomes.
 *
 * In production the callers run on other machines; here they share the cores with the
 * server, and an overloaded server's processes delayed the generator's timers (bench/README.md,
 * "Measurements behind design choices"), which counts against the callers' deadlines. So the
 * generator runs at a higher scheduling priority: it takes the CPU it needs when a request is
 * due (its CPU per request and per second is in the report), and leaves the rest to the
 * server. Every contender gets the same generator.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { runOpenLoop, type OpenLoopOptions, type OpenLoopStep } from './overload-open-loop';

type Reply = { ok: true; step: OpenLoopStep } | { ok: false; message: string };

/** The generator's nice value: lower is a higher priority (raising it needs CAP_SYS_NICE). */
const PRIORITY = -10;

export interface GeneratorProcess {
  /** The nice value the generator runs at: PRIORITY, or 0 where raising it was not permitted. */
  priority: number;
  pid: number;
  run(options: OpenLoopOptions): Promise<OpenLoopStep>;
  stop(): Promise<void>;
}

/** Forks this module (built: dist/bench/overload-generator.js). */
export function startGenerator(): GeneratorProcess {
  // 'advanced' (structured clone): a step without in-time answers has NaN percentiles, which JSON would turn into null.
  const child: ChildProcess = fork(__filename, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let priority = 0;
  try {
    // On Linux this sets the main thread's priority (the helper threads already started keep
    // theirs): the thread that runs the event loop and sends the requests.
    os.setPriority(child.pid!, PRIORITY);
    priority = PRIORITY;
  } catch {
    // Not permitted (no CAP_SYS_NICE): the report says the generator ran at the default priority.
  }
  return {
    priority,
    pid: child.pid!,
    run: (options) =>
      new Promise<OpenLoopStep>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`the load generator exited (${code}) during a step`));
        child.once('exit', onExit);
        child.once('message', (reply: Reply) => {
          child.off('exit', onExit);
          if (reply.ok) resolve(reply.step);
          else reject(new Error(`the load generator failed: ${reply.message}`));
        });
        child.send(options);
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.disconnect(); // the child exits once its IPC channel closes
        await exited;
      }
    },
  };
}

if (require.main === module) {
  process.on('message', (options: OpenLoopOptions) => {
    runOpenLoop(options).then(
      (step) => process.send!({ ok: true, step } satisfies Reply),
      (err: unknown) => process.send!({ ok: false, message: (err as Error).stack ?? String(err) } satisfies Reply),
    );
  });
}
