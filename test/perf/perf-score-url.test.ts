/**
 * `scoreline perf --score-url` against a plain node:http server standing in for a scoring
 * endpoint that fails every fifth request: the body file and headers arrive as given, and
 * every failure is counted under its status, exactly as the server counted it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parsePerfArgs, PerfOptions } from '../../src/perf/perf-options';
import { runPerf } from '../../src/perf/run-perf';

let dir: string;
let server: Server;
let url: string;
const seen = { requests: 0, failed: 0, bodies: new Set<string>(), headers: [] as IncomingMessage['headers'][] };

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-perf-score-'));
  await writeFile(path.join(dir, 'body.json'), '{"data": [[1, 2, 3]]}');
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.requests += 1;
      seen.bodies.add(Buffer.concat(chunks).toString());
      if (seen.headers.length < 3) seen.headers.push(req.headers);
      if (seen.requests % 5 === 0) {
        seen.failed += 1;
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"message":"run() failed"}');
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"result":[0.5]}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/score`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

it('POSTs the body file with the given headers and counts each failure under its status', async () => {
  const parsed = parsePerfArgs([
    '--score-url', url, '--body', path.join(dir, 'body.json'), '-H', 'Authorization: Bearer key', '--concurrency-range', '1:2',
    '--warmup-interval', '100', '-p', '300', '-s', '50', '-r', '4',
  ]);
  const report = await runPerf(parsed as PerfOptions);

  expect(seen.bodies).toEqual(new Set(['{"data": [[1, 2, 3]]}']));
  expect(seen.headers[0]).toMatchObject({ authorization: 'Bearer key', 'content-type': 'application/json' });
  expect(report.target).toEqual({ kind: 'score', url });
  expect(report.steps.map((s) => s.server)).toEqual([undefined, undefined]);
  expect(report.totals).toEqual({ sent: seen.requests, completed: seen.requests - seen.failed, errors: { '500': seen.failed } });
  for (const step of report.steps) {
    expect(step.errors['500']).toBeGreaterThan(0);
    // One in five fails, so about four in five complete.
    expect(step.completed / step.sent).toBeGreaterThan(0.7);
    expect(step.completed / step.sent).toBeLessThan(0.9);
  }
});
