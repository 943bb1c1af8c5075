/**
 * Label files for classification outputs: one label per line, as Triton reads them. Line
 * i is the label of class index i, so empty lines in the middle are kept; only the empty
 * "line" after a final newline is dropped.
 */

import fs from 'node:fs/promises';
import { ModelLoadError } from '../../errors';

export async function readLabels(file: string, modelName?: string): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const who = modelName === undefined ? '' : `model '${modelName}': `;
    throw new ModelLoadError(`${who}unable to read label file '${file}': ${(err as Error).message}`, { cause: err });
  }
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
