/**
 * What the engine's metrics server and serve's metrics port share: the Prometheus text
 * content type, and listening for scrapers (bounded header/request times; close() that does
 * not wait for scrapers' kept-alive connections: a scrape cut short at shutdown loses nothing).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface ScrapeListener {
  readonly port: number;
  close(): Promise<void>;
}

export async function listenForScrapes(server: Server, host: string, port: number): Promise<ScrapeListener> {
  server.headersTimeout = 30_000;
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
