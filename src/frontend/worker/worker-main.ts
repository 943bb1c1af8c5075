/**
 * The script cluster workers run (the primary points cluster.setupPrimary's `exec` here):
 * options arrive validated, as JSON in the environment, so workers never parse flags.
 *
 * When the primary dies, however it dies (SIGKILL included), the kernel closes the IPC
 * channel and the worker gets 'disconnect'. Node's cluster then exits the worker at once,
 * with status 0, unless the disconnect was asked for (`exitedAfterDisconnect`; scoreline's
 * primary never asks): requests in flight on it are dropped, their clients see a reset.
 * Nobody is left to restart workers, watch them, or route them new connections, and the
 * engine is stopping too (engine-process.ts), so there is nothing to drain for.
 * test/faults/primary-kill.test.ts checks that the workers are gone within 2 s.
 */
import cluster from 'node:cluster';
import { createLogger } from '../../logger';
import { runWorker, WORKER_BOOT_FAILED, WORKER_CONFIG_ENV } from './worker-process';

/** If the worker still runs this long after an unasked-for disconnect, it exits anyway. */
const ORPHAN_EXIT_MS = 1_000;

const config = process.env[WORKER_CONFIG_ENV];
if (config === undefined) {
  console.error(`${__filename} is started by scoreline serve's primary, not by hand (${WORKER_CONFIG_ENV} is not set)`);
  process.exit(WORKER_BOOT_FAILED);
}
const options = JSON.parse(config) as Parameters<typeof runWorker>[0];
// Ahead of Node's own listener, which exits: say why this worker stops, and make sure it
// does even where that listener would not (it is Node's internals, not its documented API).
process.prependOnceListener('disconnect', () => {
  if (cluster.worker?.exitedAfterDisconnect === true) return;
  createLogger({ format: options.logFormat, prefix: `serve worker ${cluster.worker?.id ?? 0}:` }).warn('the primary went away (IPC channel closed): exiting; requests in flight here are dropped');
  setTimeout(() => process.exit(0), ORPHAN_EXIT_MS).unref();
});
runWorker(options).catch((err: unknown) => {
  console.error(err);
  process.exit(WORKER_BOOT_FAILED);
});
