/**
 * Starts `scoreline serve` as a user would: the built CLI (`npm test` builds first) in a
 * child process, on a free port picked by binding port 0 and closing it (cluster workers
 * share the port the primary names, so `--port 0` would give each worker its own).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from '../../../src/util/free-port';

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..', '..');
export const CLI = path.join(PACKAGE_ROOT, 'bin', 'scoreline.js');
export const FIXTURES = path.join(__dirname, '..', 'fixtures');

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServeProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  exited: Promise<Exit>;
  /** Sends `signal` (SIGTERM by default) and waits for the exit; SIGKILL after 30 s. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

export interface StartOptions {
  env?: Record<string, string>;
  /** Resolve once every worker listens (default), or right away (for start-up failures). */
  waitUntilServing?: boolean;
  timeoutMs?: number;
}

export { freePort };

/**
 * Sends `signal` (unless the child already ended; none: just wait) and resolves with its exit,
 * SIGKILLing it if it has not exited after 30 s.
 */
export async function stopChild(child: ChildProcess, exited: Promise<Exit>, signal?: NodeJS.Signals): Promise<Exit> {
  if (signal !== undefined && child.exitCode === null && child.signalCode === null) child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const exit = await exited;
  clearTimeout(timer);
  return exit;
}

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

export async function startServe(args: string[], options: StartOptions = {}): Promise<ServeProcess> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env };
  const child = spawn(process.execPath, [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port), ...args], {
    cwd: PACKAGE_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  // 'close', not 'exit': it comes after the output streams end, so output() is complete.
  const exited = new Promise<Exit>((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  const stop = (signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit> => stopChild(child, exited, signal);
  const serve: ServeProcess = { url: `http://127.0.0.1:${port}`, port, child, output: () => output, exited, stop };
  if (options.waitUntilServing === false) return serve;

  const timeoutMs = options.timeoutMs ?? 60_000;
  await new Promise<void>((resolve, reject) => {
    const check = (): void => {
      if (/serve primary: serving on/.test(output)) finish(resolve);
    };
    const finish = (then: () => void): void => {
      clearTimeout(timer);
      listeners.delete(check);
      then();
    };
    const timer = setTimeout(() => {
      void stop('SIGKILL');
      finish(() => reject(new Error(`scoreline serve was not serving within ${timeoutMs} ms:\n${output}`)));
    }, timeoutMs);
    listeners.add(check);
    void exited.then((exit) => finish(() => reject(new Error(`scoreline serve exited (${JSON.stringify(exit)}) before serving:\n${output}`))));
    check();
  });
  return serve;
}

/** Waits until `predicate(output)` holds, polling the captured output. */
export async function waitForOutput(serve: ServeProcess, predicate: (output: string) => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate(serve.output())) {
    if (Date.now() > deadline) throw new Error(`output did not match within ${timeoutMs} ms:\n${serve.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** One HTTP exchange through `agent` (tests close their agent in afterAll). */
export async function call(
  agent: Agent,
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  const res = await request(url, { dispatcher: agent, method: (options.method ?? 'GET') as 'GET', headers: options.headers, body: options.body });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) };
}

export function postJson(agent: Agent, url: string, value: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return call(agent, url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) });
}
