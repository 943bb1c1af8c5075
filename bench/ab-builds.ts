/**
 * `npm run bench:ab`: this checkout's `scoreline serve` against another checkout's (a
 * baseline: the commit before a change), on the same MLP deployment bench:frontend measures
 * (scoring/score.ts of each checkout + its embedded engine, one worker, concurrency 64),
 * in alternating rounds. Reports the median of the per-round req/s ratios: what a change
 * costs or gains, measured so that the machine's drift cancels out.
 *
 *   BENCH_AB_BASELINE=/path/to/other/checkout   (built: its dist/ and bin/; required)
 *   BENCH_AB_ARGS="--no-overload-protection"    extra serve flags for this checkout (optional)
 *   BENCH_ROUNDS, BENCH_SECONDS                 as for the other benchmarks
 *
 * A baseline checkout can be made with `git worktree add /tmp/base <commit>`, a symlink to
 * this checkout's node_modules, and `npx tsc -p tsconfig.build.json` there.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort, median, measure, PACKAGE_ROOT, progress, ROUNDS, spawnServer, type ChildServer } from './bench-load';
import { mlpBody, writeMlpRepository } from './frontend';

const TAG = 'bench:ab';
const CONCURRENCY = 64;

interface Build {
  name: string;
  root: string;
  args: string[];
}

async function startServe(build: Build, repository: string): Promise<ChildServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const args = [
    path.join(build.root, 'bin', 'scoreline.js'),
    'serve',
    '--host', '127.0.0.1',
    '--port', String(port),
    '--entry-script', path.join(build.root, 'scoring', 'score.ts'),
    '--worker-count', '1',
    '--model-repository', repository,
    '--engine-http-port', '0', '--engine-metrics-port', '0', '--engine-grpc-port', '0',
    ...build.args,
  ];
  return spawnServer(args, /serve primary: serving on/, { url });
}

async function main(): Promise<void> {
  const baseline = process.env.BENCH_AB_BASELINE;
  if (baseline === undefined || baseline === '') throw new Error('set BENCH_AB_BASELINE to a built checkout to compare with');
  const builds: Build[] = [
    { name: 'this checkout', root: PACKAGE_ROOT, args: (process.env.BENCH_AB_ARGS ?? '').split(' ').filter((a) => a !== '') },
    { name: `baseline (${baseline})`, root: path.resolve(baseline), args: [] },
  ];
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-bench-ab-'));
  const servers: ChildServer[] = [];
  try {
    await writeMlpRepository(dir);
    for (const build of builds) servers.push(await startServe(build, dir));
    // One unmeasured step each: a fresh server's first seconds run below its steady state.
    for (const server of servers) await measure(`${server.url}/score`, mlpBody(), CONCURRENCY);
    const rps: number[][] = builds.map(() => []);
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) {
        const step = await measure(`${servers[i]!.url}/score`, mlpBody(), CONCURRENCY);
        rps[i]!.push(step.requestsPerSecond);
        progress(TAG, `round ${round + 1}/${ROUNDS} ${builds[i]!.name}: ${step.requestsPerSecond.toFixed(0)} req/s, ${step.errorCount} errors`);
      }
      ratios.push(rps[0]![round]! / rps[1]![round]!);
    }
    const lines = [
      `MLP deployment (scoring/score.ts, 1 worker, concurrency ${CONCURRENCY}), ${ROUNDS} alternating rounds`,
      '',
      '| build | median req/s | rounds |',
      '|---|---:|---|',
      ...builds.map((b, i) => `| ${b.name}${b.args.length > 0 ? ` \`${b.args.join(' ')}\`` : ''} | ${median(rps[i]!).toFixed(0)} | ${rps[i]!.map((v) => v.toFixed(0)).join(', ')} |`),
      '',
      `this checkout / baseline, median of per-round ratios: **${median(ratios).toFixed(3)}** (rounds: ${ratios.map((r) => r.toFixed(3)).join(', ')})`,
    ];
    console.log(lines.join('\n'));
  } finally {
    for (const server of servers) await server.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
