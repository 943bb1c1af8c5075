/**
 * Label files for classification outputs: one label per line, as Triton reads them. Line
 * i is the label of class index i, so empty lines in the middle are kept; only the empty
 * "line" after a final newline is dropped.
 */

import fs from 'node:fs/promises';
import path from 'node:path';
import { ModelLoadError } from '../../errors';
import { modelConfigLimits, overLimit } from '../config/config-limits';
import { fsErrorText } from './fs-error-text';

/** `shownAs`: the name messages use (the config's label_filename), never the absolute path. */
export async function readLabels(file: string, modelName?: string, shownAs = path.basename(file)): Promise<string[]> {
  const who = modelName === undefined ? '' : `model '${modelName}': `;
  let text: string;
  try {
    // Read whole into memory, so its size is bounded first.
    const { size } = await fs.stat(file);
    const limit = modelConfigLimits().label_file_bytes;
    if (size > limit) throw new ModelLoadError(`${who}label file '${shownAs}' is ${size} bytes, which ${overLimit(size, 'label_file_bytes')}`);
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    throw new ModelLoadError(`${who}label file '${shownAs}': ${fsErrorText(err)}`, { cause: err });
  }
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
