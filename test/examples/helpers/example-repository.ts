/** A temporary model repository holding some of the example models, for one test file. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXAMPLE_MODELS, makeExampleRepository } from '../../../examples/make-example-repository';

export interface TemporaryRepository {
  dir: string;
  remove(): Promise<void>;
}

export async function exampleRepository(names: readonly string[]): Promise<TemporaryRepository> {
  const dir = await mkdtemp(join(tmpdir(), 'scoreline-example-'));
  const models = EXAMPLE_MODELS.filter((m) => names.includes(m.name));
  if (models.length !== names.length) throw new Error(`unknown example model among ${names.join(', ')}`);
  await makeExampleRepository(dir, { models });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The embedded engine's URL, from the primary's "engine ready at URL" log line. */
export function engineUrlFrom(output: string): string {
  const match = /engine ready at (http:\/\/\S+)/.exec(output);
  if (match === null) throw new Error(`no "engine ready at" line in:\n${output}`);
  return match[1]!;
}

/** Flags that keep the embedded engine off fixed ports, so test files can run side by side. */
export const FREE_ENGINE_PORTS = ['--engine-http-port', '0', '--engine-metrics-port', '0', '--engine-grpc-port', '0'];
