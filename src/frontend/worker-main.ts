/**
 * The script cluster workers run (the primary points cluster.setupPrimary's `exec` here):
 * options arrive validated, as JSON in the environment, so workers never parse flags.
 */
import { runWorker, WORKER_BOOT_FAILED, WORKER_CONFIG_ENV } from './worker';

const config = process.env[WORKER_CONFIG_ENV];
if (config === undefined) {
  console.error(`${__filename} is started by scoreline serve's primary, not by hand (${WORKER_CONFIG_ENV} is not set)`);
  process.exit(WORKER_BOOT_FAILED);
}
runWorker(JSON.parse(config)).catch((err: unknown) => {
  console.error(err);
  process.exit(WORKER_BOOT_FAILED);
});
