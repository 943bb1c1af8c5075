/**
 * Starts the built `scoreline engine` CLI in a child process on a free port for a
 * benchmark, and stops it. The engine reports its ports over the spawn IPC channel, as it
 * does to `scoreline serve` (src/util/engine-ipc.ts), not through its log.
 */
import { spawn } from 'node:child_process';
import { isEngineListeningMessage, loopbackFor } from '../src/util/engine-ipc';
import { CLI } from './bench-load';

/** Output kept for the error of an engine that fails to start. */
const OUTPUT_TAIL = 16 * 1024;

export interface SpawnedEngine {
  url: string;
  stop(): Promise<void>;
}

export function spawnEngine(repository: string, extraArgs: string[] = []): Promise<SpawnedEngine> {
  const child = spawn(process.execPath, [CLI, 'engine', '--model-repository', repository, '--http-port', '0', '--metrics-port=0', '--grpc-port=-1', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (chunk: Buffer): void => void (output = (output + chunk.toString()).slice(-OUTPUT_TAIL));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const stop = (): Promise<void> =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`engine exited (${code}) before it was ready:\n${output}`));
    child.once('exit', onExit);
    child.on('message', (message: unknown) => {
      if (!isEngineListeningMessage(message)) return;
      child.off('exit', onExit);
      resolve({ url: `http://${loopbackFor(message.host)}:${message.httpPort}`, stop });
    });
  });
}
