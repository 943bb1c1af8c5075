/**
 * The lean transport's connection pool (internals) against a raw TCP peer that answers as
 * each test scripts it, byte for byte: reuse, limits, keep-alive ends, stale connections,
 * unasked bytes, timeouts, aborts and close.
 */
import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Http1Pool, Http1PoolError } from '../../src/http1/http1-pool';

interface Peer {
  origin: string;
  /** Every connection accepted so far. */
  sockets: Socket[];
  /** Request heads received, in order (request line first). */
  heads: string[];
  close(): Promise<void>;
}

/** `answer(head, socket, index)` is called once per complete request head (bodies ignored). */
async function startPeer(answer: (head: string, socket: Socket, index: number) => void): Promise<Peer> {
  const sockets: Socket[] = [];
  const heads: string[] = [];
  const server: Server = createServer((socket) => {
    sockets.push(socket);
    let pending = '';
    socket.on('data', (chunk) => {
      pending += chunk.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const head = pending.slice(0, end);
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        pending = pending.slice(end + 4 + length);
        heads.push(head);
        answer(head, socket, heads.length - 1);
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    heads,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const ok = (body = 'ok', extra = '') => `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

let peer: Peer;
let pool: Http1Pool;
const makePool = (options: Partial<ConstructorParameters<typeof Http1Pool>[0]> = {}) =>
  new Http1Pool({ origin: peer.origin, connections: 4, connectTimeoutMs: 1000, responseTimeoutMs: 2000, ...options });

afterEach(async () => {
  await pool?.close();
  await peer?.close();
});

const get = (path = '/') => pool.request({ method: 'GET', path, headers: {} });

describe('connections', () => {
  it('writes the request as given and reuses one connection for sequential requests', async () => {
    peer = await startPeer((_, socket) => socket.write(ok()));
    pool = makePool();
    const body = Buffer.from('{"x":1}');
    const first = await pool.request({ method: 'POST', path: '/v2/a?b=1', headers: { 'content-type': 'application/json', 'content-length': String(body.length) }, body: [body.subarray(0, 3), body.subarray(3)] });
    expect([first.status, first.body.toString()]).toEqual([200, 'ok']);
    for (let i = 0; i < 5; i++) await get();
    expect(peer.sockets).toHaveLength(1);
    expect(peer.heads[0]).toBe(`POST /v2/a?b=1 HTTP/1.1\r\nhost: ${new URL(peer.origin).host}\r\ncontent-type: application/json\r\ncontent-length: 7`);
  });

  it('opens at most `connections` and serves the requests beyond them in order', async () => {
    const held: Socket[] = [];
    peer = await startPeer((head, socket) => (head.startsWith('GET /hold') ? held.push(socket) : socket.write(ok(head.split(' ')[1]))));
    pool = makePool({ connections: 2 });
    const holds = [get('/hold'), get('/hold')];
    const queued = [get('/a'), get('/b'), get('/c')];
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([peer.sockets.length, peer.heads.length]).toEqual([2, 2]);
    for (const socket of held) socket.write(ok('held'));
    const answers = await Promise.all(queued);
    expect(answers.map((a) => a.body.toString())).toEqual(['/a', '/b', '/c']);
    await Promise.all(holds);
    expect(peer.sockets).toHaveLength(2);
  });

  it.each([
    ['Connection: close', ok('ok', 'connection: close\r\n')],
    ['a keep-alive hint of 1 s (no time left to reuse it safely)', ok('ok', 'keep-alive: timeout=1\r\n')],
  ])('does not reuse a connection after %s', async (_case, reply) => {
    peer = await startPeer((_, socket) => socket.write(reply));
    pool = makePool();
    await get();
    await get();
    expect(peer.sockets).toHaveLength(2);
  });

  it('reads chunked and read-until-close bodies', async () => {
    peer = await startPeer((head, socket) => {
      if (head.startsWith('GET /chunked')) socket.write('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n');
      else socket.end('HTTP/1.1 200 OK\r\n\r\nuntil close');
    });
    pool = makePool();
    expect((await get('/chunked')).body.toString()).toBe('abc');
    expect((await get('/close')).body.toString()).toBe('until close');
    expect((await get('/chunked')).body.toString()).toBe('abc');
  });
});

describe('connections that go bad', () => {
  it('drops a connection that sends bytes nobody asked for, and serves the next request on a new one', async () => {
    peer = await startPeer((_, socket) => {
      socket.write(ok());
      if (peer.sockets.length === 1) setTimeout(() => socket.write('HTTP/1.1 200 OK\r\n'), 10);
    });
    pool = makePool();
    await get();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(pool.openConnections).toBe(0);
    expect((await get()).status).toBe(200);
    expect(peer.sockets).toHaveLength(2);
  });

  it('retries a GET once on a new connection when a reused one closes before answering; a POST fails', async () => {
    // The server answers the first request on each connection, then closes it at the next.
    const served = new Map<Socket, number>();
    peer = await startPeer((_, socket) => {
      const n = served.get(socket) ?? 0;
      served.set(socket, n + 1);
      if (n === 0) socket.write(ok());
      else socket.destroy();
    });
    pool = makePool({ connections: 1 });
    await get();
    expect((await get()).status).toBe(200);
    expect(peer.sockets).toHaveLength(2);
    const post = pool.request({ method: 'POST', path: '/infer', headers: { 'content-length': '0' } });
    await expect(post).rejects.toMatchObject({ code: expect.stringMatching(/ECONNRESET|SCORELINE_HTTP1_CONNECTION_LOST|SCORELINE_HTTP1_PROTOCOL/) });
  });

  it('does not reuse a connection the server closed while it was idle: a POST after it goes out on a new one', async () => {
    peer = await startPeer((_, socket) => {
      socket.write(ok());
      setTimeout(() => socket.end(), 10);
    });
    pool = makePool();
    await get();
    await new Promise((resolve) => setTimeout(resolve, 40));
    const post = await pool.request({ method: 'POST', path: '/infer', headers: { 'content-length': '0' } });
    expect([post.status, peer.sockets.length]).toEqual([200, 2]);
  });

  it('fails a response that breaks off mid-body', async () => {
    peer = await startPeer((_, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc'));
    pool = makePool();
    await expect(get()).rejects.toThrow('the connection closed in the middle of the response');
  });

  it('times out a response that does not come, and closes its connection', async () => {
    peer = await startPeer(() => undefined);
    pool = makePool({ responseTimeoutMs: 100 });
    await expect(get()).rejects.toMatchObject({ code: 'SCORELINE_HTTP1_RESPONSE_TIMEOUT', message: 'no response within 100 ms' });
    expect(pool.openConnections).toBe(0);
  });
});

describe('the caller', () => {
  it('can abort a request waiting for a connection and one in flight', async () => {
    peer = await startPeer(() => undefined);
    pool = makePool({ connections: 1 });
    const [inFlight, waiting] = [new AbortController(), new AbortController()];
    const first = pool.request({ method: 'GET', path: '/', headers: {}, signal: inFlight.signal });
    const second = pool.request({ method: 'GET', path: '/', headers: {}, signal: waiting.signal });
    waiting.abort(new Error('gave up waiting'));
    await expect(second).rejects.toThrow('gave up waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
    inFlight.abort(new Error('gave up'));
    await expect(first).rejects.toThrow('gave up');
    expect(peer.heads).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pool.openConnections).toBe(0);
  });

  it('can abort with a polled state (no listener): noticed within the poll interval, the connection dropped', async () => {
    peer = await startPeer(() => undefined);
    pool = makePool({ connections: 1 });
    const inFlight = { aborted: false, reason: new Error('the caller left') };
    const first = pool.request({ method: 'GET', path: '/', headers: {}, signal: inFlight });
    await new Promise((resolve) => setTimeout(resolve, 20));
    inFlight.aborted = true;
    const abortedAt = performance.now();
    await expect(first).rejects.toThrow('the caller left');
    expect(performance.now() - abortedAt).toBeLessThan(1_000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pool.openConnections).toBe(0);
  });

  it.each([
    ['a header value with a line break', { method: 'GET', path: '/', headers: { 'x-a': 'b\r\nx-injected: 1' } }, /header 'x-a' has a line break/],
    ['a header name that is not a token', { method: 'GET', path: '/', headers: { 'x a': 'b' } }, /invalid header name/],
    ['a path with a space', { method: 'GET', path: '/a b', headers: {} }, /invalid request target/],
  ])('refuses %s before anything is sent', async (_case, request, message) => {
    peer = await startPeer((_, socket) => socket.write(ok()));
    pool = makePool();
    await expect(pool.request(request)).rejects.toThrow(message);
    await expect(pool.request(request)).rejects.toBeInstanceOf(Http1PoolError);
    expect(peer.sockets).toHaveLength(0);
  });

  it('close() lets requests in flight finish, then closes every connection and refuses new requests', async () => {
    peer = await startPeer((_, socket) => setTimeout(() => socket.write(ok('late')), 100));
    pool = makePool();
    const inFlight = get();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closed = pool.close();
    await expect(get()).rejects.toMatchObject({ code: 'SCORELINE_HTTP1_CLOSED' });
    expect((await inFlight).body.toString()).toBe('late');
    await closed;
    await new Promise((resolve) => setImmediate(resolve));
    expect(pool.openConnections).toBe(0);
  });

  it('close() called twice while a request is in flight resolves both calls', async () => {
    peer = await startPeer((_, socket) => setTimeout(() => socket.write(ok()), 50));
    pool = makePool();
    const inFlight = get();
    await new Promise((resolve) => setTimeout(resolve, 10));
    await Promise.all([pool.close(), pool.close(), inFlight]);
    expect(pool.openConnections).toBe(0);
  });

  it('refuses an https origin', () => {
    expect(() => new Http1Pool({ origin: 'https://example.com', connections: 1, connectTimeoutMs: 1, responseTimeoutMs: 1 })).toThrow(/plain HTTP only/);
  });
});
