/**
 * `scoreline serve [options]`: the AzureML-style scoring front end (see src/frontend/supervisor/primary.ts).
 * Resolves with the process exit status: 0 after SIGTERM/SIGINT, 2 for invalid options,
 * 3 when a worker could not start (entry script or init() failed), 1 when the engine failed.
 */
import { isScorelineError } from '../errors';
import { EXIT_USAGE } from './flag-table';
import { runPrimary } from '../frontend/supervisor/primary';
import { resolveServeOptions, serveUsage } from '../frontend/serve-options';
import { FRONTEND_SERVICE_NAME } from '../frontend/worker/worker-process';
import { appInsightsFlagEnv, readTelemetrySettings } from '../telemetry';


export async function serveCommand(args: string[]): Promise<number> {
  let resolved;
  try {
    resolved = resolveServeOptions(args, process.env);
    const key = resolved.help ? undefined : resolved.options.appInsightsKey;
    // azmlinfsrv's flag (or config file) sets both App Insights variables for what it starts;
    // the workers and the engine inherit them.
    if (key !== undefined && process.env.AML_APP_INSIGHTS_KEY !== key) Object.assign(process.env, appInsightsFlagEnv(key));
    // OTEL_* and App Insights settings are checked once here: a bad one is a usage error naming
    // it, not every worker failing to boot.
    readTelemetrySettings(process.env, FRONTEND_SERVICE_NAME);
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
