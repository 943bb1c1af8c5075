/**
 * How the client uses connections and how network trouble reaches the caller, against a
 * recording HTTP peer: keep-alive reuse, no head-of-line blocking, timeouts and refusals
 * with stable codes, cancellation, close, and waitUntilReady.
 */
import http from 'node:http';
import { once } from 'node:events';
import { AddressInfo } from 'node:net';
import { ClientTimeoutError, InferInput, NetworkError } from '../../src/client';
import { freePort } from '../../src/util/free-port';
import { RecordingServer, startRecordingServer } from './helpers/recording-server';
import { clientOf, TRANSPORTS } from './helpers/client-of';

describe.each(TRANSPORTS)('over the %s transport', (transport) => {
  const RESPONSE = (tag: string) => ({
    status: 200,
    body: JSON.stringify({ model_name: 'm', outputs: [{ name: 'TAG', datatype: 'BYTES', shape: [1], data: [tag] }] }),
  });

  const input = (tag: string) => new InferInput('TAG', [1], 'BYTES').setData([tag]);

  let server: RecordingServer;
  beforeEach(async () => {
    server = await startRecordingServer();
  });
  afterEach(async () => {
    await server.close();
  });

  /** The BYTES input's single-character tag: the last byte of the binary body. */
  function tagOf(req: { body: Buffer }): string {
    return req.body.toString('utf8', req.body.length - 1);
  }

  describe('connections', () => {
    it.each([
      [1, 1],
      // undici may open a second socket when a call starts before the previous one is released.
      [4, 2],
    ])('reuses keep-alive connections for sequential calls (concurrency %i: at most %i)', async (concurrency, most) => {
      const client = clientOf(transport, { url: server.url, concurrency });
      try {
        for (let i = 0; i < 50; i++) expect(await client.isServerLive()).toBe(true);
        expect(server.connections()).toBeLessThanOrEqual(most);
      } finally {
        await client.close();
      }
    });

    it('lets fast calls finish while a slow one is still running (no head-of-line blocking)', async () => {
      server.reply((req) => (tagOf(req) === 'S' ? { ...RESPONSE('S'), delayMs: 800 } : RESPONSE(tagOf(req))));
      const client = clientOf(transport, { url: server.url, concurrency: 4 });
      try {
        const finished: string[] = [];
        const slow = client.infer('m', [input('S')]).then(() => finished.push('S'));
        const fast = Array.from('abcdefghij', (t) => client.infer('m', [input(t)]).then(() => finished.push(t)));
        await Promise.all([slow, ...fast]);
        expect(finished[finished.length - 1]).toBe('S');
        expect(finished).toHaveLength(11);
        expect(server.connections()).toBeLessThanOrEqual(4);
      } finally {
        await client.close();
      }
    });

    it('keeps every answer with its own call when hundreds are in flight', async () => {
      server.reply((req) => ({ ...RESPONSE(req.body.toString('utf8').match(/"id":"(\d+)"/)![1]!), delayMs: Math.random() * 5 }));
      const client = clientOf(transport, { url: server.url, concurrency: 8 });
      try {
        const ids = Array.from({ length: 300 }, (_, i) => String(i));
        const results = await Promise.all(ids.map((id) => client.infer('m', [input(id)], { requestId: id })));
        expect(results.map((r) => r.asTypedArray('TAG', { bytesAs: 'string' })[0])).toEqual(ids);
        expect(server.connections()).toBeLessThanOrEqual(8);
      } finally {
        await client.close();
      }
    });
  });

  describe('network failures', () => {
    it('rejects with ClientTimeoutError when no response comes within networkTimeout', async () => {
      server.reply(() => ({ hang: true }));
      const client = clientOf(transport, { url: server.url, networkTimeout: 200 });
      try {
        const call = client.infer('m', [input('x')]);
        await expect(call).rejects.toThrow(ClientTimeoutError);
        await expect(client.isServerLive()).rejects.toMatchObject({
          code: 'SCORELINE_CLIENT_TIMEOUT',
          message: expect.stringMatching(/GET http:\/\/127\.0\.0\.1:\d+\/v2\/health\/live: no response within networkTimeout \(200 ms\)/),
        });
      } finally {
        await client.close();
      }
    });

    it('rejects with NetworkError when nothing listens on the port', async () => {
      const client = clientOf(transport, { url: `127.0.0.1:${await freePort()}` });
      try {
        const call = client.isServerLive();
        await expect(call).rejects.toThrow(NetworkError);
        await expect(client.getServerMetadata()).rejects.toMatchObject({ code: 'SCORELINE_NETWORK', message: /ECONNREFUSED/ });
      } finally {
        await client.close();
      }
    });

    it('rejects with NetworkError when the server drops the connection mid-request', async () => {
      const dropper = http.createServer((req) => req.socket.destroy());
      dropper.listen(0, '127.0.0.1');
      await once(dropper, 'listening');
      const client = clientOf(transport, `127.0.0.1:${(dropper.address() as AddressInfo).port}`);
      try {
        await expect(client.infer('m', [input('x')])).rejects.toMatchObject({ code: 'SCORELINE_NETWORK' });
      } finally {
        await client.close();
        await new Promise<void>((resolve) => dropper.close(() => resolve()));
      }
    });

    it("rejects with the caller's abort reason when the signal fires", async () => {
      server.reply(() => ({ hang: true }));
      const client = clientOf(transport, server.url);
      try {
        const controller = new AbortController();
        const call = client.infer('m', [input('x')], { signal: controller.signal });
        setTimeout(() => controller.abort(new Error('user gave up')), 50);
        await expect(call).rejects.toThrow('user gave up');
      } finally {
        await client.close();
      }
    });

    it('rejects calls made after close() with NetworkError', async () => {
      const client = clientOf(transport, server.url);
      await client.isServerLive();
      await client.close();
      await expect(client.isServerLive()).rejects.toMatchObject({ code: 'SCORELINE_NETWORK', message: /client is closed/ });
      await client.close(); // closing twice is harmless
    });
  });

  describe('waitUntilReady', () => {
    it('resolves once the server and the named models answer ready', async () => {
      let probes = 0;
      server.reply((req) => {
        probes++;
        return { status: probes < 4 || (req.url.includes('/models/') && probes < 6) ? 503 : 200, body: '{}' };
      });
      const client = clientOf(transport, server.url);
      try {
        await client.waitUntilReady({ timeoutMs: 5000, intervalMs: 10, models: ['a', { name: 'b', version: 2 }] });
        expect(server.requests.map((r) => r.url).slice(-3)).toEqual(['/v2/health/ready', '/v2/models/a/ready', '/v2/models/b/versions/2/ready']);
      } finally {
        await client.close();
      }
    });

    it('rides out a server that is not listening yet', async () => {
      const port = await freePort();
      const client = clientOf(transport, `127.0.0.1:${port}`);
      const late = http.createServer((_, res) => res.end());
      const timer = setTimeout(() => late.listen(port, '127.0.0.1'), 300);
      try {
        await client.waitUntilReady({ timeoutMs: 5000, intervalMs: 20 });
      } finally {
        clearTimeout(timer);
        await client.close();
        if (late.listening) await new Promise<void>((resolve) => late.close(() => resolve()));
      }
    });

    it('gives up at its deadline even when the server never answers', async () => {
      server.reply(() => ({ hang: true }));
      const client = clientOf(transport, server.url);
      try {
        const started = Date.now();
        await expect(client.waitUntilReady({ timeoutMs: 200 })).rejects.toThrow(/not ready after 200 ms: waiting for the server \(.* did not answer\)/);
        expect(Date.now() - started).toBeLessThan(2000);
      } finally {
        await client.close();
      }
    });

    it('gives up with ClientTimeoutError naming what was not ready', async () => {
      server.reply((req) => ({ status: req.url.includes('/models/') ? 400 : 200, body: '{"error":"unknown model"}' }));
      const client = clientOf(transport, server.url);
      try {
        const wait = client.waitUntilReady({ timeoutMs: 150, intervalMs: 20, models: ['ghost'] });
        await expect(wait).rejects.toThrow(ClientTimeoutError);
        await expect(client.waitUntilReady({ timeoutMs: 50, models: ['ghost'] })).rejects.toThrow(
          "not ready after 50 ms: waiting for model(s) 'ghost'",
        );
      } finally {
        await client.close();
      }
    });
  });
});
