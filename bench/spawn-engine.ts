/**
 * Starts the built `scoreline engine` CLI in a child process on a free port for a
 * benchmark, and stops it. (Benchmarks run from dist/, so the CLI is ../../bin.)
 */
import { spawn } from 'node:child_process';
import path from 'node:path';

const CLI = path.join(__dirname, '..', '..', 'bin', 'scoreline.js');

export interface SpawnedEngine {
  url: string;
  stop(): Promise<void>;
}

export function spawnEngine(repository: string, extraArgs: string[] = []): Promise<SpawnedEngine> {
  const child = spawn(process.execPath, [CLI, 'engine', '--model-repository', repository, '--http-port', '0', '--metrics-port=0', '--grpc-port=-1', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const m = /HTTP service listening on ([\d.]+):(\d+)/.exec(output);
      if (!m) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      resolve({
        url: `http://127.0.0.1:${m[2]}`,
        stop: () =>
          new Promise<void>((done) => {
            if (child.exitCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
    child.once('exit', (code) => reject(new Error(`engine exited (${code}) before it was ready:\n${output}`)));
  });
}
