/**
 * Writes models into a Triton model repository:
 * `<repo>/<model>/[config.pbtxt] [labels.txt] <version>/model.onnx`.
 * Shared by the test fixtures and the example repository script, which is why the small
 * config.pbtxt writer lives here too.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DataType, configTypeFromDataType } from '../../src/tensor/datatypes';

export interface RepositoryModel {
  name: string;
  /** model.onnx bytes per version number. */
  versions: Readonly<Record<number, Uint8Array>>;
  /** config.pbtxt text; none means the engine auto-completes the config. */
  config?: string;
  /** labels.txt, one label per line. */
  labels?: readonly string[];
}

export interface WrittenModel {
  name: string;
  path: string;
  versions: number[];
  bytes: number;
}

/**
 * Replaces `<repo>/<name>` with the model's files. The directory is removed first, so
 * writing the same model twice leaves the same tree (no stale versions or labels).
 */
export async function writeRepositoryModel(repo: string, model: RepositoryModel): Promise<WrittenModel> {
  const path = join(repo, model.name);
  await rm(path, { recursive: true, force: true });
  await mkdir(path, { recursive: true });
  const entries = Object.entries(model.versions).map(([v, b]) => [Number(v), b] as const);
  let bytes = 0;
  for (const [version, onnx] of entries) {
    if (!Number.isInteger(version) || version < 0) throw new RangeError(`model '${model.name}': version ${version} is not a non-negative integer`);
    await mkdir(join(path, String(version)));
    await writeFile(join(path, String(version), 'model.onnx'), onnx);
    bytes += onnx.byteLength;
  }
  if (model.config !== undefined) await writeFile(join(path, 'config.pbtxt'), model.config);
  if (model.labels) await writeFile(join(path, 'labels.txt'), model.labels.map((l) => `${l}\n`).join(''));
  return { name: model.name, path, versions: entries.map(([v]) => v).sort((a, b) => a - b), bytes };
}

export interface ConfigTensor {
  name: string;
  datatype: DataType;
  /** Without the batch dim when max_batch_size > 0, as Triton expects; -1 for a variable dim. */
  dims: readonly number[];
  labelFilename?: string;
}

export interface ConfigSpec {
  name: string;
  maxBatchSize: number;
  inputs: readonly ConfigTensor[];
  outputs: readonly ConfigTensor[];
  /** Further top-level blocks, verbatim, e.g. `dynamic_batching { }`. */
  extra?: readonly string[];
}

/** A config.pbtxt for an onnxruntime_onnx model, in the layout Triton's docs use. */
export function configText(spec: ConfigSpec): string {
  const tensors = (list: readonly ConfigTensor[]) => list.map(configTensor).join(',\n');
  return [
    `name: "${spec.name}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${spec.maxBatchSize}`,
    `input [\n${tensors(spec.inputs)}\n]`,
    `output [\n${tensors(spec.outputs)}\n]`,
    ...(spec.extra ?? []),
    '',
  ].join('\n');
}

function configTensor(t: ConfigTensor): string {
  const fields = [`name: "${t.name}"`, `data_type: ${configTypeFromDataType(t.datatype)}`, `dims: [ ${t.dims.join(', ')} ]`];
  if (t.labelFilename !== undefined) fields.push(`label_filename: "${t.labelFilename}"`);
  return `  {\n${fields.map((f) => `    ${f}`).join('\n')}\n  }`;
}
