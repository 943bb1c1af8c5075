/**
 * Starts `scoreline engine` as a user would: the built CLI in a child process, on a free
 * port (--http-port 0; the port is read back from the "HTTP service listening" line; the
 * metrics port likewise from "Metrics service listening", which the engine prints first;
 * --grpc-port=0 and "GRPC service listening" the same way).
 * Requires `npm run build` (npm test runs it first).
 */
import { ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

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
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: PACKAGE_ROOT, env: opts.env ? { ...process.env, ...opts.env } : undefined });
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
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /HTTP service listening on ([\d.]+):(\d+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        const port = Number(m[2]);
        const metrics = /Metrics service listening on \S+:(\d+)/.exec(output);
        const metricsUrl = metrics ? `http://127.0.0.1:${metrics[1]}/metrics` : undefined;
        const grpc = /GRPC service listening on \S+:(\d+)/.exec(output);
        const grpcPort = grpc ? Number(grpc[1]) : undefined;
        const grpcUrl = grpc ? `127.0.0.1:${grpcPort}` : undefined;
        resolve({ url: `http://127.0.0.1:${port}`, port, metricsUrl, grpcUrl, grpcPort, child, output: () => output, stop });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`engine exited with code ${code} before it was ready:\n${output}`));
    });
  });
}
