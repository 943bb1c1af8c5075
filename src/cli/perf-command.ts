/**
 * `scoreline perf`: perf_analyzer for scoreline (see src/perf). Prints a progress line on a
 * terminal, the table (or --json) on stdout at the end, and writes -f CSV and --plot SVG.
 * Exit status: 0 when every step was measured, 1 when the run failed or a step completed
 * no request at all (its figures would mean nothing), 2 for invalid options (including
 * those only the model can refute: shapes, batch size, data files), 130 after
 * Ctrl+C (the steps measured so far are still reported).
 */
import { writeFile } from 'node:fs/promises';
import { isScorelineError } from '../errors';
import { EXIT_USAGE } from './flag-table';
import { parsePerfArgs, perfUsage, PerfOptions } from '../perf/perf-options';
import { stepLabel } from '../perf/perf-report';
import { reportPlotSvg } from '../perf/plot-svg';
import { ProgressLine } from '../perf/progress-line';
import { formatErrors, toCsv } from '../perf/report-csv';
import { formatTable } from '../perf/report-table';
import { runPerf } from '../perf/run-perf';

export const EXIT_INTERRUPTED = 130;

function describe(options: PerfOptions): string {
  const t = options.target;
  const what =
    t.kind === 'score'
      ? `${t.url} (body ${t.bodyFile})`
      : `model '${t.model}'${t.modelVersion ? ` version ${t.modelVersion}` : ''} at ${t.protocol === 'grpc' ? `grpc://${t.url}` : t.url} ` +
        `(${t.protocol === 'grpc' ? 'gRPC' : `${t.inputTensorFormat} inputs`}, batch ${options.batchSize})`;
  const load =
    options.load.mode === 'concurrency'
      ? `concurrency ${options.load.steps.join(', ')}`
      : `request rate ${options.load.steps.join(', ')}/s (${options.load.distribution})`;
  return `scoreline perf: ${what}; ${load}; warm-up ${options.warmupMs} ms, windows of ${options.measurementIntervalMs} ms until stable within ${options.stabilityPercentage}% (at most ${options.maxTrials})`;
}

export async function perfCommand(args: string[]): Promise<number> {
  let options: PerfOptions | 'help';
  try {
    options = parsePerfArgs(args);
  } catch (err) {
    if (!isScorelineError(err)) throw err;
    process.stderr.write(`scoreline perf: ${err.message}\n`);
    return EXIT_USAGE;
  }
  if (options === 'help') {
    process.stdout.write(perfUsage());
    return 0;
  }
  const opts = options;
  const err = process.stderr;
  const progress = new ProgressLine(err);
  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(EXIT_INTERRUPTED);
    progress.clear();
    err.write('scoreline perf: stopping after this window (Ctrl+C again to quit now)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  err.write(`${describe(opts)}\n`);

  let report;
  try {
    report = await runPerf(opts, {
      signal: controller.signal,
      onWindow: (e) => {
        const text =
          `${stepLabel(e.load)}: window ${e.trial}/${e.maxTrials}: ${e.inferPerSecond.toFixed(1)} infer/s, ` +
          `avg ${e.avgMs.toFixed(2)} ms, p99 ${e.p99Ms.toFixed(2)} ms, errors ${e.errors}, generator ${(e.elu * 100).toFixed(0)}% busy` +
          (e.threads > 1 ? ` on ${e.threads} threads` : '');
        if (opts.verbose) {
          progress.clear();
          err.write(`${text}\n`);
        } else {
          progress.update(text);
        }
      },
      onNote: (message) => {
        progress.clear();
        err.write(`scoreline perf: ${message}\n`);
      },
      onStep: (step) => {
        progress.clear();
        if (step.errorCount > 0) err.write(`scoreline perf: ${stepLabel(step.load)}: ${step.errorCount} requests failed (${formatErrors(step.errors)})\n`);
      },
    });
  } catch (e) {
    progress.clear();
    if (!isScorelineError(e)) throw e;
    err.write(`scoreline perf: ${e.message}\n`);
    // Options that only the target can check (a shape, a data file) are still usage errors.
    return e.code === 'SCORELINE_INVALID_OPTION' ? EXIT_USAGE : 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
  progress.clear();

  process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : formatTable(report));
  if (opts.csvFile !== undefined) {
    await writeFile(opts.csvFile, toCsv(report));
    err.write(`scoreline perf: wrote ${opts.csvFile}\n`);
  }
  if (opts.plotFile !== undefined) {
    await writeFile(opts.plotFile, reportPlotSvg(report));
    err.write(`scoreline perf: wrote ${opts.plotFile}\n`);
  }
  if (report.interrupted) return EXIT_INTERRUPTED;
  return report.steps.some((s) => s.completed === 0) ? 1 : 0;
}
