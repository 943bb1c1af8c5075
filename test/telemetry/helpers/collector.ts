/**
 * A local HTTP receiver for what the exporters send: OTLP/HTTP (http/json decoded into
 * flat spans; http/protobuf kept as bytes) and Azure Monitor's track endpoint (envelopes).
 * Listens on a free port of 127.0.0.1 (HTTPS with `tls`: Azure Monitor's exporter only speaks
 * HTTPS); every request is answered 200.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface FlatSpan {
  serviceName: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
}

export interface Collector {
  url: string;
  port: number;
  received: Received[];
  /** Spans of every http/json request so far. */
  spans(): FlatSpan[];
  /** Azure Monitor envelopes (the JSON array a track request carries, or its newline-delimited form). */
  envelopes(): Array<Record<string, any>>;
  /** Resolves once `predicate` holds (checked on each request), rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

 
function attributeValue(v: any): unknown {
  if (v === undefined || v === null) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('boolValue' in v) return v.boolValue;
  if ('arrayValue' in v) return (v.arrayValue.values ?? []).map(attributeValue);
  return v;
}

function attributes(list: any[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) out[a.key] = attributeValue(a.value);
  return out;
}

export function flattenOtlpJson(body: any): FlatSpan[] {
  const out: FlatSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const serviceName = String(attributes(rs.resource?.attributes)['service.name']);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          serviceName,
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? '',
          name: s.name,
          kind: s.kind,
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          attributes: attributes(s.attributes),
          status: s.status ?? {},
        });
      }
    }
  }
  return out;
}

export async function startCollector(options: { tls?: { key: Buffer; cert: Buffer } } = {}): Promise<Collector> {
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      received.push({ path: req.url ?? '/', headers: req.headers, body });
      const isTrack = (req.url ?? '').includes('track');
      res.writeHead(200, { 'content-type': 'application/json' });
      // Azure Monitor's answer to a fully accepted track request.
      res.end(isTrack ? JSON.stringify({ itemsReceived: 1, itemsAccepted: 1, errors: [] }) : '{}');
      for (const w of waiters) w();
    });
  };
  const server = options.tls ? https.createServer(options.tls, handler) : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const jsonBodies = (): any[] =>
    received.filter((r) => String(r.headers['content-type']).startsWith('application/json')).map((r) => JSON.parse(r.body.toString('utf8')));
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    received,
    spans: () => jsonBodies().flatMap(flattenOtlpJson),
    envelopes: () =>
      received
        .filter((r) => r.path.includes('track'))
        .flatMap((r) => {
          const text = r.body.toString('utf8').trim();
          return text.startsWith('[') ? JSON.parse(text) : text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
        }),
    waitFor: (predicate, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        if (predicate()) return resolve();
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`collector: condition not met in ${timeoutMs} ms (${received.length} requests received)`));
        }, timeoutMs);
        const check = (): void => {
          if (!predicate()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
