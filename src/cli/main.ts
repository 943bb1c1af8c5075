/**
 * `scoreline <command>`: dispatches to the command modules, loading only the one asked for
 * (the engine does not need express, the front end does not need onnxruntime).
 */
import { packageVersion } from '../util/package-root';

const USAGE = `Usage: scoreline <command> [options]

Commands:
  serve     the scoring front end: WORKER_COUNT workers hosting score.ts behind POST /score,
            with the embedded engine (see \`scoreline serve --help\`)
  engine    the Triton-compatible inference engine alone (see \`scoreline engine --help\`)
  perf      load generator and analyzer for the engine or /score, like perf_analyzer
            (see \`scoreline perf --help\`)
  version   print the version
`;

/* eslint-disable @typescript-eslint/no-require-imports */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'engine':
      return (require('./engine-command') as typeof import('./engine-command')).engineCommand(rest);
    case 'serve':
      return (require('./serve-command') as typeof import('./serve-command')).serveCommand(rest);
    case 'perf':
      return (require('./perf-command') as typeof import('./perf-command')).perfCommand(rest);
    case 'version':
    case '--version':
      process.stdout.write(`${packageVersion()}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`scoreline: unknown command '${command}'\n\n${USAGE}`);
      return 1;
  }
}
