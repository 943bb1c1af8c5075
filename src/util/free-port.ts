import { createServer } from 'node:net';

/**
 * A port nothing listens on: bound on 127.0.0.1, then released. For tests and benchmarks that
 * start servers as a user would, each on its own port.
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
