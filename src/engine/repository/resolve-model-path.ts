/**
 * Model names arrive from the load/unload API and from URLs, and become directory names
 * under the repository. This is the one guard that keeps them there: a name is a single
 * path segment, never '.', '..' or anything with a separator.
 */

import path from 'node:path';
import { InvalidArgumentError } from '../../errors';

/** The absolute directory of model `name` in `root`; throws InvalidArgumentError for an unsafe name. */
export function resolveModelPath(root: string, name: string): string {
  const shown = JSON.stringify(String(name));
  if (typeof name !== 'string' || name === '') {
    throw new InvalidArgumentError(`invalid model name ${shown}: a model name must not be empty`);
  }
  if (name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new InvalidArgumentError(
      `invalid model name ${shown}: a model name must not be '.' or '..' or contain '/', '\\' or NUL`,
    );
  }
  const base = path.resolve(root);
  const dir = path.resolve(base, name);
  // Belt and braces for platforms with other path syntax (drive letters): one level below root.
  if (path.dirname(dir) !== base) {
    throw new InvalidArgumentError(`invalid model name ${shown}: it resolves outside the model repository`);
  }
  return dir;
}
