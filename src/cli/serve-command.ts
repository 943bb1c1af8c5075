/**
 * `scoreline serve [options]`: the AzureML-style scoring front end (see src/frontend/primary.ts).
 * Resolves with the process exit status: 0 after SIGTERM/SIGINT, 2 for invalid options,
 * 3 when a worker could not start (entry script or init() failed), 1 when the engine failed.
 */
import { isScorelineError } from '../errors';
import { runPrimary } from '../frontend/primary';
import { resolveServeOptions, serveUsage } from '../frontend/serve-options';

export const EXIT_USAGE = 2;

export async function serveCommand(args: string[]): Promise<number> {
  let resolved;
  try {
    resolved = resolveServeOptions(args, process.env);
  } catch (err) {
    if (!isScorelineError(err)) throw err;
    console.error(`scoreline serve: ${err.message}`);
    return EXIT_USAGE;
  }
  if (resolved.help) {
    console.log(serveUsage());
    return 0;
  }
  return runPrimary(resolved.options, resolved.warnings);
}
