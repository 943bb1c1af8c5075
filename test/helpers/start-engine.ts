/**
 * Starts `scoreline engine` as a user would: the built CLI in a child process, on free ports
 * (--http-port 0, --metrics-port=0, --grpc-port=0), which it reports over an IPC channel
 * when its services are up, as it does to `scoreline serve` (src/util/engine-ipc.ts).
 * Requires `npm run build` (npm test runs it first).
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { isEngineListeningMessage, loopbackFor, type EngineListeningMessage } from '../../src/util/engine-ipc';

export const PACKAGE_ROOT = path.resolve(__dirname, '..', '..');
export const CLI = path.join(PACKAGE_ROOT, 'bin', 'scoreline.js');

export interface RunningEngine {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** http://127.0.0.1:PORT/metrics; undefined when metrics are off (--metrics-port=-1). */
  metricsUrl: string | undefined;
  /** 127.0.0.1:PORT, the address a gRPC client dials; undefined when gRPC is off (--grpc-port=-1). */
  grpcUrl: string | undefined;
  grpcPort: number | undefined;
  child: ChildProcess;
  /** Everything the engine printed so far (stdout and stderr interleaved). */
  output(): string;
  /** SIGTERM, then waits for exit (SIGKILL after 15 s); resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** `env`: added to this process's environment for the child (jest's process.env is the test's own copy). */
export function startEngine(opts: { modelRepository: string; args?: string[]; timeoutMs?: number; env?: Record<string, string> }): Promise<RunningEngine> {
  const args = [CLI, 'engine', '--model-repository', opts.modelRepository, '--http-port', '0', '--metrics-port=0', '--grpc-port=0', ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], cwd: PACKAGE_ROOT, env: opts.env ? { ...process.env, ...opts.env } : undefined });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`engine did not become ready in ${opts.timeoutMs ?? 60_000} ms:\n${output}`));
    }, opts.timeoutMs ?? 60_000);
    // Ready when the message has come and the log lines written before it (output() holds
    // them: tests read the start-up log); the two travel on different pipes.
    let listening: ((logged: boolean) => void) | undefined;
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      listening?.(output.includes('HTTP service listening on '));
    };
    child.on('message', (message: unknown) => {
      if (!isEngineListeningMessage(message)) return;
      listening = (logged) => {
        if (logged) ready(message);
      };
      listening(output.includes('HTTP service listening on '));
    });
    const ready = (message: EngineListeningMessage): void => {
      listening = undefined;
      clearTimeout(timer);
      const host = loopbackFor(message.host);
      const port = message.httpPort;
      const metricsUrl = message.metricsPort === undefined ? undefined : `http://${loopbackFor(message.metricsHost ?? message.host)}:${message.metricsPort}/metrics`;
      const grpcPort = message.grpcPort;
      const grpcUrl = grpcPort === undefined ? undefined : `${host}:${grpcPort}`;
      resolve({ url: `http://${host}:${port}`, port, metricsUrl, grpcUrl, grpcPort, child, output: () => output, stop });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`engine exited with code ${code} before it was ready:\n${output}`));
    });
  });
}
