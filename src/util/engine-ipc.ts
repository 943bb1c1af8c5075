/**
 * What the engine tells the process that started it over a spawn IPC channel
 * (`stdio: [..., 'ipc']`), instead of that process reading its log: where it listens, once its
 * services are up (the log line "HTTP service listening on ..." stays, for people). The channel
 * is also the parent-liveness signal: the engine stops when it closes (the parent exited or
 * died; the kernel closes the socket even after a SIGKILL). docs/architecture.md, "Processes".
 *
 * Both ends import this: `scoreline engine` (src/cli/engine-command.ts) sends, the front end's
 * engine supervisor (src/frontend/supervisor/engine-process.ts) receives.
 */

export const ENGINE_LISTENING = 'scoreline:engine-listening';

export interface EngineListeningMessage {
  type: typeof ENGINE_LISTENING;
  /** The address the services bound (`0.0.0.0`, `::` or a host name as given). */
  host: string;
  httpPort: number;
  /** Absent: that service is off. */
  grpcPort?: number;
  metricsPort?: number;
  metricsHost?: string;
}

export function isEngineListeningMessage(message: unknown): message is EngineListeningMessage {
  const m = message as Partial<EngineListeningMessage> | null;
  return typeof m === 'object' && m !== null && m.type === ENGINE_LISTENING && typeof m.host === 'string' && typeof m.httpPort === 'number';
}

/** The address to reach a server bound on `host` from the same machine. */
export function loopbackFor(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '[::1]';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
