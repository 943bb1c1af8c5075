/**
 * The primary's supervision, against the built CLI with two workers: a worker killed under
 * load is replaced while the other keeps serving; SIGTERM lets every in-flight request
 * finish and exits 0; the grace period bounds how long that may take.
 */
import { Agent, errors } from 'undici';
import { call, fixture, postJson, startServe, waitForOutput, type ServeProcess } from './helpers/serve-process';

interface LoadResult {
  ok: number;
  failed: number;
  /** Worker pids that answered, in order of first answer. */
  pids: number[];
  /** Statuses (or error codes) of the requests sent after `mark()`. */
  afterMark: string[];
}

/** `loops` clients each sending `{action: 'pid'}` back to back until stopped. */
function load(agent: Agent, url: string, loops: number) {
  const result: LoadResult = { ok: 0, failed: 0, pids: [], afterMark: [] };
  let running = true;
  let marked = false;
  const loop = async (): Promise<void> => {
    while (running) {
      const record = marked;
      try {
        const reply = await postJson(agent, `${url}/score`, { action: 'pid' });
        if (reply.status === 200) {
          result.ok++;
          const { pid } = reply.json();
          if (!result.pids.includes(pid)) result.pids.push(pid);
        } else {
          result.failed++;
        }
        if (record) result.afterMark.push(String(reply.status));
      } catch (err) {
        result.failed++;
        if (record) result.afterMark.push((err as { code?: string }).code ?? String(err));
      }
    }
  };
  const loopsDone = Promise.all(Array.from({ length: loops }, loop));
  return {
    result,
    mark: () => {
      marked = true;
    },
    stop: async () => {
      running = false;
      await loopsDone;
      return result;
    },
  };
}

async function until(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('a worker that dies', () => {
  let serve: ServeProcess;
  // A connection per request (pipelining 0: no keep-alive), so the new worker gets its
  // share; kept-alive connections would all stay on the surviving worker. The timeouts
  // bound the one known loss of Node's round-robin cluster: a connection the primary was
  // handing to the worker as it died is never answered (nodejs/node#21746, #21940).
  const agent = new Agent({ pipelining: 0, headersTimeout: 5000, bodyTimeout: 5000 });
  beforeAll(async () => {
    serve = await startServe(['--entry-script', fixture('behaviours.ts'), '--worker-count', '2']);
  });
  afterAll(async () => {
    await agent.close();
    await serve?.stop();
  });

  it('is replaced under load, and the server answers every request once the new worker is up', async () => {
    const traffic = load(agent, serve.url, 6);
    try {
      await until(() => traffic.result.pids.length === 2, 10_000, 'both workers to answer');
      const [victim, survivor] = traffic.result.pids as [number, number];

      process.kill(victim, 'SIGKILL');
      await waitForOutput(serve, (output) => /worker \d died \(signal SIGKILL\); starting a new one/.test(output));
      await until(() => traffic.result.pids.length === 3, 15_000, 'the new worker to answer');
      const replacement = traffic.result.pids[2]!;
      traffic.mark();
      await until(() => traffic.result.afterMark.length >= 200, 15_000, '200 more requests');
      const result = await traffic.stop();

      expect([victim, survivor]).not.toContain(replacement);
      expect(result.afterMark.every((status) => status === '200')).toBe(true);
      // Only requests that were in flight on (or being handed to) the killed worker can have failed.
      expect(result.failed).toBeLessThanOrEqual(6);
      expect(result.ok).toBeGreaterThan(200);
      expect((await call(agent, `${serve.url}/ready`)).status).toBe(200);
    } finally {
      await traffic.stop();
    }
  });
});

describe('SIGTERM and SIGINT', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s lets every in-flight request finish, refuses new connections, then exits 0', async (signal) => {
    const serve = await startServe(['--entry-script', fixture('behaviours.ts'), '--worker-count', '2']);
    const agent = new Agent({ connections: 8 });
    const fresh = new Agent();
    try {
      const inFlight = Array.from({ length: 6 }, () => postJson(agent, `${serve.url}/score`, { action: 'sleep', ms: 1500 }));
      await new Promise((resolve) => setTimeout(resolve, 300));
      serve.child.kill(signal);
      await waitForOutput(serve, (output) => (output.match(/draining/g) ?? []).length === 2);

      await expect(call(fresh, `${serve.url}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
      const replies = await Promise.all(inFlight);
      expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200, 200]);
      expect(await serve.exited).toEqual({ code: 0, signal: null });
      expect(serve.output()).toMatch(new RegExp(`stopping: ${signal}`));
    } finally {
      await Promise.all([agent.close(), fresh.close()]);
      await serve.stop('SIGKILL');
    }
  });

  it('waits no longer than the grace period for requests in flight', async () => {
    const serve = await startServe(['--entry-script', fixture('behaviours.ts'), '--grace-period-ms', '500']);
    const agent = new Agent();
    try {
      const slow = postJson(agent, `${serve.url}/score`, { action: 'sleep', ms: 20_000 }).then(
        (reply) => reply.status,
        (err: unknown) => (err instanceof errors.UndiciError ? err.code : String(err)),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = performance.now();
      serve.child.kill('SIGTERM');
      expect(await serve.exited).toEqual({ code: 0, signal: null });
      expect(performance.now() - started).toBeLessThan(5000);
      expect(await slow).toBe('UND_ERR_SOCKET');
      expect(serve.output()).toMatch(/grace period over; closing connections with requests in flight in_flight=1/);
    } finally {
      await agent.close();
      await serve.stop('SIGKILL');
    }
  });
});
