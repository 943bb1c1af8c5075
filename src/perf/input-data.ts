/**
 * Input tensor contents for engine requests: zeros, seeded random values, or the samples
 * of a perf_analyzer-style JSON data file:
 *
 *   {"data": [ {"INPUT0": [1, 2, 3, 4]},
 *              {"INPUT0": {"content": [[1, 2], [3, 4]], "shape": [2, 2]}} ]}
 *
 * Each entry of "data" is one sample (the non-batch dims); each becomes one request, sent
 * in turn. `content` may be nested; `shape` gives the dims of an input whose dims vary.
 * Random data is generated once and reused, as perf_analyzer does, so generating it costs
 * nothing during the measurement.
 */
import { readFile } from 'node:fs/promises';
import type { DataType } from '../client';
import { InvalidOptionError } from '../errors';
import type { RandomSource as Random } from '../util/seeded-random';

export type SampleValues = unknown[];

/** One input of one sample as a data file gives it. */
export interface FileTensor {
  values: SampleValues;
  /** Non-batch dims, when the file names them. */
  shape: number[] | undefined;
}

export type FileSample = Record<string, FileTensor>;

const INTEGER_LIMIT: Partial<Record<DataType, number>> = { UINT8: 255, INT8: 127 };

/** `count` values of `datatype`: zeros, or random values every model accepts (small non-negative integers, floats in [0, 1)). */
export function generateValues(datatype: DataType, count: number, mode: 'zero' | 'random', random: Random): SampleValues {
  const out = new Array<unknown>(count);
  for (let i = 0; i < count; i++) {
    if (datatype === 'BOOL') out[i] = mode === 'zero' ? false : random() < 0.5;
    else if (datatype === 'BYTES') out[i] = mode === 'zero' ? '0' : randomWord(random);
    else if (mode === 'zero') out[i] = 0;
    else if (datatype === 'FP16' || datatype === 'BF16' || datatype === 'FP32' || datatype === 'FP64') out[i] = random();
    else out[i] = Math.floor(random() * Math.min(100, (INTEGER_LIMIT[datatype] ?? 100) + 1));
  }
  return out;
}

function randomWord(random: Random): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += String.fromCharCode(97 + Math.floor(random() * 26));
  return s;
}

function flatten(value: unknown, out: unknown[]): void {
  if (Array.isArray(value)) for (const v of value) flatten(v, out);
  else out.push(value);
}

/** Reads a perf_analyzer JSON data file into samples; messages name the file, entry and input. */
export async function readDataFile(file: string): Promise<FileSample[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new InvalidOptionError(`--input-data ${file}: ${(err as Error).message}`, { cause: err });
  }
  const data = (parsed as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length === 0) {
    throw new InvalidOptionError(`--input-data ${file}: expected {"data": [ {INPUT: values}, ... ]} with at least one entry`);
  }
  return data.map((entry, index) => {
    const where = `--input-data ${file}: data[${index}]`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw new InvalidOptionError(`${where} must be an object of input name → values`);
    const sample: FileSample = {};
    for (const [name, value] of Object.entries(entry as Record<string, unknown>)) {
      let content: unknown = value;
      let shape: number[] | undefined;
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        const v = value as { content?: unknown; shape?: unknown };
        if (v.content === undefined) throw new InvalidOptionError(`${where}.${name} must be an array or {"content": [...], "shape": [...]}`);
        content = v.content;
        if (v.shape !== undefined) {
          if (!Array.isArray(v.shape) || !v.shape.every((d) => Number.isInteger(d) && d >= 0)) {
            throw new InvalidOptionError(`${where}.${name}.shape must be an array of non-negative integers`);
          }
          shape = v.shape as number[];
        }
      }
      const values: unknown[] = [];
      flatten(content, values);
      sample[name] = { values, shape };
    }
    return sample;
  });
}
