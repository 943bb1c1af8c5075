/**
 * Serve's metrics port (the engine's, 8002 by default): GET /metrics answers with the front
 * end's metrics (the primary's ClusterMetrics) followed by the embedded engine's, which the
 * primary scrapes from the engine's own metrics port on loopback at the same moment. One
 * scrape target shows the whole server. The names never overlap (scoreline_* for the front end;
 * nv_* and the engine's scoreline_inference_* for the engine), so the two texts join as they are.
 *
 * An engine that does not answer (restarting, or down) leaves its part out of that scrape and
 * says so in a comment line: Prometheus then sees the engine's series go stale, not a failed
 * target, and the front end's metrics keep coming.
 */
import http from 'node:http';
import { PROMETHEUS_CONTENT_TYPE, listenForScrapes, type ScrapeListener } from '../../util/scrape-listener';
import type { Logger } from '../../logger';

/** The engine answers a scrape from counters in memory; longer than this means it is stuck. */
const ENGINE_SCRAPE_TIMEOUT_MS = 5_000;

export interface MetricsListenerOptions {
  host: string;
  port: number;
  /** The front end's exposition text. */
  frontEnd: () => Promise<string>;
  /** The engine's metrics URL now (its port is learned at start-up); undefined: no engine to ask. */
  engineMetricsUrl: () => string | undefined;
  logger: Logger;
}

export type MetricsListener = ScrapeListener;

export async function startMetricsListener(options: MetricsListenerOptions): Promise<MetricsListener> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const queryAt = url.indexOf('?');
    const path = queryAt === -1 ? url : url.slice(0, queryAt);
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    scrapeAll(options).then(
      (text) => {
        const body = Buffer.from(text, 'utf8');
        res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': body.length });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: Error) => {
        options.logger.error(`GET /metrics: ${err.stack ?? String(err)}`);
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
      },
    );
  });
  return listenForScrapes(server, options.host, options.port);
}

async function scrapeAll(options: MetricsListenerOptions): Promise<string> {
  const engineUrl = options.engineMetricsUrl();
  const [frontEnd, engine] = await Promise.all([options.frontEnd(), engineUrl === undefined ? undefined : scrapeEngine(engineUrl)]);
  const joined = frontEnd === '' || frontEnd.endsWith('\n') ? frontEnd : `${frontEnd}\n`;
  if (engine === undefined) return joined;
  return `${joined}${engine}`;
}

/** The engine's text, or a comment line saying why there is none. */
function scrapeEngine(url: string): Promise<string> {
  return new Promise((resolve) => {
    const unavailable = (why: string): void => resolve(`# engine metrics unavailable: ${why.replace(/\n/g, ' ')}\n`);
    const req = http.get(url, { timeout: ENGINE_SCRAPE_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) unavailable(`the engine answered ${res.statusCode}`);
        else resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', (err) => unavailable(err.message));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${ENGINE_SCRAPE_TIMEOUT_MS} ms`)));
    req.on('error', (err) => unavailable(err.message));
  });
}
