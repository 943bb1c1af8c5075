/**
 * The perf generator's HTTP transport (lean pool for http: origins): what each kind of
 * response becomes, against a raw TCP peer that answers by the request's path.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { httpTransport } from '../../src/perf/http-transport';
import { freePort } from '../../src/util/free-port';

let server: Server;
let origin: string;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.push(socket);
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      const end = pending.indexOf('\r\n\r\n');
      if (end === -1) return;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(pending.slice(0, end))?.[1] ?? 0);
      if (pending.length < end + 4 + length) return;
      const path = pending.split(' ')[1];
      pending = '';
      if (path === '/ok') socket.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok`);
      else if (path === '/busy') socket.write(`HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n`);
      else if (path === '/cut') socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc');
      // '/hang': no answer
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const post = (path: string) => ({ method: 'POST' as const, path, headers: { 'Content-Type': 'application/json' }, body: new TextEncoder().encode('{"data":[1]}') });

it.each([
  ['a 200', '/ok', { ok: true, firstByteMs: expect.any(Number) }],
  ['an HTTP error status', '/busy', { ok: false, bucket: '503', connectionFailed: false }],
  ['a body cut short', '/cut', { ok: false, bucket: 'incomplete', connectionFailed: true }],
  ['no answer within the timeout', '/hang', { ok: false, bucket: 'timeout', connectionFailed: true }],
])('counts %s as such', async (_case, path, outcome) => {
  const transport = httpTransport({ origin, requests: [post(path)], connections: 2, timeoutMs: 200 });
  try {
    expect(await transport.send(0)).toEqual(outcome);
  } finally {
    await transport.close();
  }
});

it('counts a refused connection as a network failure', async () => {
  const transport = httpTransport({ origin: `http://127.0.0.1:${await freePort()}`, requests: [post('/ok')], connections: 1, timeoutMs: 1000 });
  try {
    expect(await transport.send(0)).toEqual({ ok: false, bucket: 'network', connectionFailed: true });
  } finally {
    await transport.close();
  }
});
