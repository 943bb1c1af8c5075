/**
 * The servers bench:hostile aims at, with the process ids it measures: `scoreline engine`
 * (explicit model control, every model loaded, HTTP and gRPC on free ports) and `scoreline
 * serve` with scoring/score.ts and one worker. Output goes through a pipe of which only
 * the last few KiB are kept: a probe that makes a server log a lot must not grow this process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isEngineListeningMessage, loopbackFor, type EngineListeningMessage } from '../src/util/engine-ipc';
import { CLI, PACKAGE_ROOT, freePort } from './bench-load';

const TAIL = 16 * 1024;

export interface HostileServer {
  kind: 'engine' | 'serve';
  /** http://127.0.0.1:PORT: the engine's KServe port, or the front end's. */
  url: string;
  /** The engine's gRPC address (engine only). */
  grpcAddress?: string;
  /** GET this for liveness. */
  healthUrl: string;
  child: ChildProcess;
  /** The process a probe's memory is measured in: the engine, or serve's one worker. */
  measuredPid(): number | undefined;
  alive(): boolean;
  tail(): string;
  stop(): Promise<void>;
}

/**
 * Spawns the CLI; ready on the first log line that `ready` matches (serve), or, for the
 * engine, on its IPC message (src/util/engine-ipc.ts), which says where it listens.
 */
function start(
  args: string[],
  ready: RegExp | 'engine-ipc',
  timeoutMs = 120_000,
): Promise<{ child: ChildProcess; listening?: EngineListeningMessage; tail: () => string }> {
  const ipc = ready === 'engine-ipc';
  const child = spawn(process.execPath, [CLI, ...args], { cwd: PACKAGE_ROOT, stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  let head = '';
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`${args[0]} was not ready in ${timeoutMs} ms:\n${tail}`));
    }, timeoutMs);
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString();
      tail = (tail + text).slice(-TAIL);
      if (settled || ipc) return;
      head += text;
      if (ready.exec(head)) {
        settled = true;
        clearTimeout(timer);
        head = '';
        resolve({ child, tail: () => tail });
      }
    };
    child.on('message', (message: unknown) => {
      if (settled || !isEngineListeningMessage(message)) return;
      settled = true;
      clearTimeout(timer);
      resolve({ child, listening: message, tail: () => tail });
    });
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${args[0]} exited (${code ?? signal}) before it was ready:\n${tail}`));
    });
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  return async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
}

const isAlive = (child: ChildProcess) => (): boolean => child.exitCode === null && child.signalCode === null;

export async function startEngine(repository: string): Promise<HostileServer> {
  const { child, listening, tail } = await start(
    ['engine', '--model-repository', repository, '--http-port', '0', '--grpc-port', '0', '--metrics-port=-1', '--model-control-mode', 'explicit', '--load-model', '*'],
    'engine-ipc',
  );
  const host = loopbackFor(listening!.host);
  const url = `http://${host}:${listening!.httpPort}`;
  return { kind: 'engine', url, grpcAddress: `${host}:${listening!.grpcPort}`, healthUrl: `${url}/v2/health/live`, child, measuredPid: () => child.pid, alive: isAlive(child), tail, stop: stopper(child) };
}

export async function startServe(repository: string): Promise<HostileServer> {
  const port = await freePort();
  const { child, tail } = await start(
    ['serve', '--host', '127.0.0.1', '--port', String(port), '--entry-script', path.join(PACKAGE_ROOT, 'scoring', 'score.ts'), '--worker-count', '1', '--model-repository', repository, '--engine-http-port', '0', '--engine-metrics-port', '0', '--engine-grpc-port', '0'],
    /serve primary: serving on/,
  );
  const url = `http://127.0.0.1:${port}`;
  const worker = (): number | undefined => childrenOf(child.pid!).find((pid) => !/ engine /.test(` ${commandLine(pid)} `));
  return { kind: 'serve', url, healthUrl: `${url}/`, child, measuredPid: worker, alive: isAlive(child), tail, stop: stopper(child) };
}

function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}
