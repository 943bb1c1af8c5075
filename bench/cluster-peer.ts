/**
 * The primary of a benchmark peer (the bare echo and the naive deployment): fork `workers`
 * processes sharing the port, print `announce` once every one listens (the bench waits for
 * that line), and stop them all on SIGTERM.
 */
import cluster from 'node:cluster';

export function runPeerPrimary(workers: number, announce: string): void {
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('listening', () => {
      if (++listening === workers) console.log(announce);
    });
  }
  process.on('SIGTERM', () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill();
    process.exit(0);
  });
}
