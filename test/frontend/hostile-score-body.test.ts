/**
 * Issue 20, /score: a body's JSON structure is bounded before JSON.parse builds it
 * (--max-json-containers, --max-json-values; env SCORELINE_MAX_JSON_*), answered 413 with
 * the limit named; and under the default limits, 60 MB of empty arrays (which JSON.parse
 * made 1.1 GiB of heap in a worker, kept after) is refused with the worker barely grown.
 */
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { fixture, startServe, type ServeProcess } from './helpers/serve-process';

const MiB = 1024 * 1024;

function post(url: string, body: Buffer): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const list = (n: number, item: string): string => `[${n === 0 ? '' : `${item},`.repeat(n - 1) + item}]`;
const rss = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

describe('/score JSON structure limits', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(['--entry-script', fixture('count-items.cjs'), '--worker-count', '1', '--max-json-containers', '1000'], {
      env: { SCORELINE_MAX_JSON_VALUES: '5000' },
    });
  });
  afterAll(async () => {
    expect(await serve.stop()).toEqual({ code: 0, signal: null });
  });

  it('answers bodies within the limits', async () => {
    expect(await post(`${serve.url}/score`, Buffer.from(list(900, '[]')))).toMatchObject({ status: 200, json: { items: 900 } });
    expect(await post(`${serve.url}/score`, Buffer.from(list(4000, '0')))).toMatchObject({ status: 200, json: { items: 4000 } });
    // Brackets and commas inside strings are text, not structure.
    expect(await post(`${serve.url}/score`, Buffer.from(JSON.stringify([`${'[],'.repeat(5000)}\\"`])))).toMatchObject({ status: 200, json: { items: 1 } });
  });

  it('refuses more containers than --max-json-containers with 413, naming the flag and the variable', async () => {
    const reply = await post(`${serve.url}/score`, Buffer.from(list(1001, '[]')));
    expect(reply.status).toBe(413);
    expect(reply.json.message).toBe('The request body holds more than 1000 JSON arrays and objects (limit: --max-json-containers (SCORELINE_MAX_JSON_CONTAINERS))');
  });

  it('refuses more values than SCORELINE_MAX_JSON_VALUES with 413', async () => {
    const reply = await post(`${serve.url}/score`, Buffer.from(JSON.stringify({ data: Array(6000).fill(0) })));
    expect(reply.status).toBe(413);
    expect(reply.json.message).toMatch(/holds more than 5000 JSON values \(limit: --max-json-values \(SCORELINE_MAX_JSON_VALUES\)\)/);
    // And the worker still answers.
    expect((await post(`${serve.url}/score`, Buffer.from('[1,2]'))).json).toMatchObject({ items: 2 });
  });
});

describe('/score under the default limits', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServe(['--entry-script', fixture('count-items.cjs'), '--worker-count', '1']);
  });
  afterAll(async () => {
    expect(await serve.stop()).toEqual({ code: 0, signal: null });
  });

  it('refuses 60 MB of empty arrays without growing the worker by the ~1 GiB JSON.parse would', async () => {
    const { pid } = (await post(`${serve.url}/score`, Buffer.from('[]'))).json as { pid: number };
    const before = rss(pid);
    const body = Buffer.from(list(20_000_000, '[]'));
    const reply = await post(`${serve.url}/score`, body);
    expect(reply.status).toBe(413);
    expect(reply.json.message).toMatch(/holds more than 1000000 JSON arrays and objects/);
    const grown = rss(pid) - before;
    // The body itself is read into memory (60 MB, in chunks then one buffer): a few times
    // that, not the 1.1 GiB of 20 million arrays.
    expect(grown).toBeLessThan(4 * body.length);
    console.error(`[hostile] /score 60 MB of [] -> 413; worker RSS ${(before / MiB).toFixed(0)} -> ${(rss(pid) / MiB).toFixed(0)} MiB`);
    expect((await post(`${serve.url}/score`, Buffer.from('[1]'))).json).toMatchObject({ items: 1 });
  });
});
