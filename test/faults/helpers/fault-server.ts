/**
 * `scoreline serve` (the built CLI) for fault scenarios. Like the front end's test helper,
 * but made for load: the log is kept as a bounded tail plus every line that is not a
 * per-request line (deaths, restarts, drains, warnings), so a minute at thousands of
 * requests per second does not pile up in the test's memory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { CLI, PACKAGE_ROOT, freePort, stopChild, type Exit } from '../../frontend/helpers/serve-process';
import { childrenOf, commandLine, enginePid } from './process-tree';
import { sleep } from './load';

export const FAULT_FIXTURES = path.join(__dirname, '..', 'fixtures');
export const FAULTY = path.join(FAULT_FIXTURES, 'faulty.ts');
/** Free ports for the embedded engine's three services. */
export const ENGINE_PORTS = ['--engine-http-port', '0', '--engine-metrics-port', '0', '--engine-grpc-port', '0'];

const TAIL_CHARS = 64 * 1024;
const REQUEST_LINE = / INFO serve worker \d+: request /;
/** Request ids the fault tests choose start with `f-`; the log's status for each is kept. */
const TRACKED = /status=(\d+) .*request_id=(f-\S+)/;

export interface FaultServer {
  url: string;
  port: number;
  child: ChildProcess;
  /** Every line but per-request ones. */
  log(): string;
  /** log() and the last 64 KiB of everything, for failure messages. */
  dump(): string;
  exited: Promise<Exit>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after 30 s. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
  /** Worker pids (the primary's children but the engine). */
  workerPids(): number[];
  enginePid(): number | undefined;
  /** The status the request log gave request id `id` (ids starting with `f-` only), if it logged one. */
  loggedStatus(id: string): number | undefined;
  /** Resolves when the log has a line matching `pattern` (polls every 10 ms). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** `port`: the front end's port (default: a free one), e.g. to start a second server where a first one was. */
export async function startFaultServer(args: string[], options: { env?: Record<string, string>; timeoutMs?: number; port?: number } = {}): Promise<FaultServer> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), ...args], {
    cwd: PACKAGE_ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let kept = '';
  let tail = '';
  let partial = '';
  const statuses = new Map<string, number>();
  const onData = (chunk: Buffer): void => {
    const text = partial + chunk.toString();
    const lines = text.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (!REQUEST_LINE.test(line)) kept += `${line}\n`;
      else {
        const tracked = TRACKED.exec(line);
        if (tracked !== null) statuses.set(tracked[2]!, Number(tracked[1]));
      }
    }
    tail = (tail + chunk.toString()).slice(-TAIL_CHARS);
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const log = (): string => kept + partial;
  const dump = (): string => `${kept}${partial}\n--- last ${TAIL_CHARS} characters ---\n${tail}`;
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> => stopChild(child, exited, signal);
  const waitForLog = async (pattern: RegExp, timeoutMs = 30_000): Promise<void> => {
    const deadline = performance.now() + timeoutMs;
    while (!pattern.test(kept + partial)) {
      if (performance.now() > deadline) throw new Error(`the log did not match ${pattern} within ${timeoutMs} ms:\n${dump()}`);
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`scoreline serve exited before its log matched ${pattern}:\n${dump()}`);
      await sleep(10);
    }
  };
  const server: FaultServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    log,
    dump,
    exited,
    stop,
    workerPids: () => childrenOf(child.pid!).filter((pid) => !/ engine /.test(` ${commandLine(pid)} `)),
    enginePid: () => enginePid(child.pid!),
    loggedStatus: (id) => statuses.get(id),
    waitForLog,
  };
  try {
    await waitForLog(/serve primary: serving on/, options.timeoutMs ?? 90_000);
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  return server;
}
