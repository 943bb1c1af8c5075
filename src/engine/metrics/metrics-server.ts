/**
 * The metrics endpoint: GET /metrics on its own port (Triton's --metrics-port), bound to
 * the same host as the HTTP service. Everything else is 404. Kept apart from the KServe
 * server so a scrape never shares a socket or a route table with /infer.
 */
import http from 'node:http';
import type { Logger } from '../../logger';
import type { MetricsRegistry } from './metrics-registry';
import { PROMETHEUS_CONTENT_TYPE, listenForScrapes } from '../../util/scrape-listener';

export interface MetricsServer {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

function reply(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'content-type': contentType, 'content-length': bytes.length });
  res.end(bytes);
}

export async function startMetricsServer(
  registry: MetricsRegistry,
  options: { host: string; port: number; logger: Logger },
): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const pathname = q === -1 ? url : url.slice(0, q);
    if (req.method !== 'GET' || pathname !== '/metrics') {
      reply(res, 404, 'text/plain; charset=utf-8', 'Not Found\n');
      return;
    }
    registry.scrape().then(
      (text) => reply(res, 200, PROMETHEUS_CONTENT_TYPE, text),
      (err: Error) => {
        options.logger.error(`GET /metrics: ${err.stack ?? String(err)}`);
        reply(res, 500, 'text/plain; charset=utf-8', 'metrics collection failed\n');
      },
    );
  });
  const { port, close } = await listenForScrapes(server, options.host, options.port);
  return { port, host: options.host, close };
}
