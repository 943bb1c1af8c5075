/**
 * A tiny HTTP peer for the client's wire tests: it records every request exactly as it
 * arrived (method, URL, headers, body bytes) and answers with the reply the test scripted.
 * It is the other end of the wire, not a stand-in for any part of the client.
 */
import { once } from 'node:events';
import http from 'node:http';
import { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface ScriptedReply {
  status?: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** Never answer (the test's client must time out). */
  hang?: boolean;
}

export type Replier = (req: RecordedRequest) => ScriptedReply;

export interface RecordingServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  reply(replier: Replier): void;
  close(): Promise<void>;
}

export async function startRecordingServer(initial: Replier = () => ({ status: 200, body: '{}' })): Promise<RecordingServer> {
  let replier = initial;
  let connections = 0;
  const requests: RecordedRequest[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(recorded);
      const reply = replier(recorded);
      if (reply.hang) return;
      const send = () => {
        const body = typeof reply.body === 'string' ? Buffer.from(reply.body) : (reply.body ?? Buffer.alloc(0));
        res.writeHead(reply.status ?? 200, { 'content-length': String(body.length), ...reply.headers });
        res.end(body);
      };
      if (reply.delayMs) {
        const t = setTimeout(() => {
          timers.delete(t);
          send();
        }, reply.delayMs);
        timers.add(t);
      } else {
        send();
      }
    });
  });
  server.on('connection', () => connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => connections,
    reply: (r) => {
      replier = r;
    },
    close: async () => {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
