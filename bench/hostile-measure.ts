/**
 * How bench:hostile measures one request against a server: the measured process's peak
 * RSS (its high-water mark reset through /proc/PID/clear_refs before the request, read
 * after it, and VmRSS sampled every 20 ms besides, so a process that is killed still has a
 * figure), the longest wait of a liveness probe polled every 10 ms meanwhile (the event
 * loop's stall as a client sees it), and the time to the whole answer. A request that
 * gets no answer within the timeout, or whose process passes the memory ceiling (it is
 * then killed: the machine is shared), is reported as such.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { Client, Metadata, credentials, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { loadInferencePackageDefinition } from '../src/util/proto-files';
import type { HostileServer } from './hostile-servers';

export const MiB = 1024 * 1024;

export interface Answer {
  /** "200", "400", "gRPC INVALID_ARGUMENT", ... */
  status: string;
  /** The start of the answer's text (its error message). */
  message: string;
}

export interface Measurement {
  answer: Answer | undefined;
  /** undefined: no answer (see `failure`). */
  answerMs: number | undefined;
  peakGrowthBytes: number;
  maxHealthMs: number;
  /** "no answer in 60 s", "the engine died (SIGKILL)", "killed at 6 GiB RSS", ... */
  failure?: string;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** One GET; resolves with its latency in ms (or the time until it failed). */
function healthOnce(url: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - started));
      res.on('error', () => resolve(performance.now() - started));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(performance.now() - started));
  });
}

/**
 * Sends one request (`send`) while measuring `server`. `ceilingBytes`: past this RSS the
 * measured process is SIGKILLed. The caller restarts a server that `failure` reports dead or wedged.
 */
export async function measure(server: HostileServer, send: (signal: AbortSignal) => Promise<Answer>, options: { timeoutMs: number; ceilingBytes: number }): Promise<Measurement> {
  const pid = server.measuredPid();
  if (pid === undefined) throw new Error('no process to measure');
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not permitted: the 20 ms samples still measure
  }
  const baseline = statusField(pid, 'VmRSS') ?? 0;
  let peak = baseline;
  let killedAt: number | undefined;
  const sampler = setInterval(() => {
    const rss = statusField(pid, 'VmRSS');
    if (rss === undefined) return;
    peak = Math.max(peak, rss);
    if (rss > options.ceilingBytes && killedAt === undefined) {
      killedAt = rss;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
  }, 20);

  let running = true;
  let maxHealthMs = 0;
  let pendingSince: number | undefined;
  const health = (async () => {
    while (running) {
      pendingSince = performance.now();
      const ms = await healthOnce(server.healthUrl, options.timeoutMs);
      pendingSince = undefined;
      maxHealthMs = Math.max(maxHealthMs, ms);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();

  const abort = new AbortController();
  const started = performance.now();
  let answer: Answer | undefined;
  let failure: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    answer = await Promise.race([
      send(abort.signal),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${(options.timeoutMs / 1000).toFixed(0)} s`)), options.timeoutMs);
      }),
    ]);
  } catch (err) {
    failure = (err as Error).message;
    abort.abort();
  } finally {
    clearTimeout(timer);
  }
  const answerMs = answer === undefined ? undefined : performance.now() - started;
  // A probe still waiting when the request ends counts for as long as it has waited.
  running = false;
  if (pendingSince !== undefined) maxHealthMs = Math.max(maxHealthMs, performance.now() - pendingSince);
  const stillWaiting = pendingSince;
  if (stillWaiting === undefined) await health;
  clearInterval(sampler);
  peak = Math.max(peak, statusField(pid, 'VmHWM') ?? 0);
  if (killedAt !== undefined) failure = `killed at ${(killedAt / MiB).toFixed(0)} MiB RSS (the bench's ceiling)`;
  else if (!server.alive() || statusField(pid, 'VmRSS') === undefined) failure = `${failure ? `${failure}; ` : ''}the measured process died`;
  return { answer, answerMs, peakGrowthBytes: peak - baseline, maxHealthMs, failure };
}

/** POSTs `body` and reads the answer (its first 300 characters kept). */
export function httpPost(url: string, body: Buffer, headers: Record<string, string>, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent: false, headers: { 'content-length': String(body.length), ...headers }, signal });
    req.on('error', reject);
    req.on('response', (res) => {
      let message = '';
      res.on('data', (chunk: Buffer) => {
        if (message.length < 300) message += chunk.toString('utf8', 0, Math.min(chunk.length, 300));
      });
      res.on('end', () => resolve({ status: String(res.statusCode), message: message.slice(0, 300) }));
      res.on('error', reject);
    });
    req.end(body);
  });
}

 
const definition = loadInferencePackageDefinition({ keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
const modelInfer = (definition['inference.GRPCInferenceService'] as any).ModelInfer as { requestSerialize(m: object): Buffer };

/** A ModelInfer request serialized as a client would send it. */
export function modelInferMessage(message: object): Buffer {
  return modelInfer.requestSerialize(message);
}

/** Sends serialized ModelInfer bytes on a fresh channel with no client-side size limits. */
export function grpcInfer(address: string, bytes: Buffer, signal: AbortSignal): Promise<Answer> {
  const client = new Client(address, credentials.createInsecure(), { 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  return new Promise<Answer>((resolve) => {
    const call = client.makeUnaryRequest(
      '/inference.GRPCInferenceService/ModelInfer',
      (b: Buffer) => b,
      (b: Buffer) => b,
      bytes,
      new Metadata(),
      (err: ServiceError | null) => {
        if (err) resolve({ status: `gRPC ${grpcStatus[err.code] ?? err.code}`, message: err.details.slice(0, 300) });
        else resolve({ status: 'gRPC OK', message: '' });
      },
    );
    signal.addEventListener('abort', () => call.cancel(), { once: true });
  }).finally(() => client.close());
}
