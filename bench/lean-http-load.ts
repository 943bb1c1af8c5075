/**
 * A minimal closed-loop HTTP/1.1 load generator for the engine benchmark: one keep-alive
 * socket per caller, the request bytes prepared once, responses framed by Content-Length
 * and nothing else parsed. It exists because the generator shares this machine's two cores
 * with the engine: undici spends about as much CPU per request as the engine's I/O thread
 * does, and every microsecond it spends is taken from the model's thread. Triton's
 * perf_analyzer (C++) is lean in the same way.
 *
 * It speaks only what the benchmark needs: responses with a Content-Length (no chunked
 * bodies), one request in flight per socket. Anything else fails the measurement loudly.
 */
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';

export interface LeanLoadOptions {
  host: string;
  port: number;
  /** The complete request: request line, headers, blank line, body. */
  request: Buffer;
  concurrency: number;
}

export interface LeanLoad {
  /** Starts counting: completions and latencies before this are warmup. */
  startMeasuring(): void;
  /** Stops every caller after its response in flight; resolves with what was measured. */
  stop(): Promise<{ completed: number; errors: number; latenciesMs: number[]; seconds: number }>;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Builds a POST with a binary body, as the benchmark sends it. */
export function httpPost(host: string, port: number, path: string, headers: Record<string, string>, body: Buffer): Buffer {
  const lines = [`POST ${path} HTTP/1.1`, `host: ${host}:${port}`, `content-length: ${body.length}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

export async function startLeanLoad(options: LeanLoadOptions): Promise<LeanLoad> {
  let measuring = false;
  let stopping = false;
  let completed = 0;
  let errors = 0;
  let measureStart = 0;
  const latenciesMs: number[] = [];
  const finished: Promise<void>[] = [];

  const caller = (socket: Socket): Promise<void> =>
    new Promise((resolve, reject) => {
      let pending: Buffer = Buffer.alloc(0);
      let sentAt = 0;
      const send = (): void => {
        if (stopping) {
          socket.end();
          resolve();
          return;
        }
        sentAt = performance.now();
        socket.write(options.request);
      };
      socket.on('data', (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        const headerEnd = pending.indexOf(HEADER_END);
        if (headerEnd === -1) return;
        const head = pending.toString('latin1', 0, headerEnd);
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (length === null) {
          reject(new Error(`a response without Content-Length: ${head.slice(0, 200)}`));
          socket.destroy();
          return;
        }
        const total = headerEnd + HEADER_END.length + Number(length[1]);
        if (pending.length < total) return;
        if (pending.length > total) {
          reject(new Error('more bytes than one response: the server answered something not asked'));
          socket.destroy();
          return;
        }
        pending = Buffer.alloc(0);
        if (measuring) {
          if (head.startsWith('HTTP/1.1 200')) {
            completed++;
            latenciesMs.push(performance.now() - sentAt);
          } else errors++;
        }
        send();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve());
      send();
    });

  const sockets = await Promise.all(
    Array.from(
      { length: options.concurrency },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: options.host, port: options.port, noDelay: true }, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  for (const socket of sockets) finished.push(caller(socket));

  return {
    startMeasuring() {
      measuring = true;
      measureStart = performance.now();
    },
    async stop() {
      const seconds = (performance.now() - measureStart) / 1000;
      measuring = false;
      stopping = true;
      await Promise.all(finished);
      return { completed, errors, latenciesMs, seconds };
    },
  };
}

export interface LeanMeasurement {
  requestsPerSecond: number;
  latency: { p50Ms: number; p99Ms: number };
  /** Responses other than 200. */
  errorCount: number;
  /** This process's CPU time per completed request, µs: what the generator took from the machine. */
  clientCpuUsPerRequest: number;
}

/** A latency percentile (nearest rank) of sorted values; NaN when there are none. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

/**
 * One closed-loop step: `concurrency` callers send `request` to `url`'s host and port for
 * `warmupMs` (not counted), then `measureMs` counted.
 */
export async function measureLean(url: string, request: Buffer, concurrency: number, warmupMs: number, measureMs: number): Promise<LeanMeasurement> {
  const { hostname, port } = new URL(url);
  const load = await startLeanLoad({ host: hostname, port: Number(port), request, concurrency });
  await new Promise((resolve) => setTimeout(resolve, warmupMs));
  const cpuBefore = process.cpuUsage();
  load.startMeasuring();
  await new Promise((resolve) => setTimeout(resolve, measureMs));
  const { completed, errors, latenciesMs, seconds } = await load.stop();
  const cpu = process.cpuUsage(cpuBefore);
  latenciesMs.sort((a, b) => a - b);
  return {
    requestsPerSecond: completed / seconds,
    latency: { p50Ms: percentile(latenciesMs, 0.5), p99Ms: percentile(latenciesMs, 0.99) },
    errorCount: errors,
    clientCpuUsPerRequest: completed === 0 ? NaN : (cpu.user + cpu.system) / completed,
  };
}
