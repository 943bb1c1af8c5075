/**
 * Triton's version policies: which of the numeric version directories a model serves.
 * `latest { num_versions: N }` (the default, N = 1) serves the N highest, `all` every one,
 * `specific { versions: [...] }` exactly those listed, all of which must exist.
 */

import { ModelLoadError } from '../../errors';

/** The shape of model_config's version_policy (structural, so the repository needs no config import). */
export interface VersionPolicy {
  latest?: { num_versions?: number };
  all?: object;
  specific?: { versions: number[] };
}

/** Selected versions in ascending order; [] when none are available under latest/all. */
export function selectVersions(available: number[], policy?: VersionPolicy, modelName?: string): number[] {
  const sorted = [...new Set(available)].sort((a, b) => a - b);
  if (policy?.specific) {
    const have = new Set(sorted);
    const wanted = [...new Set(policy.specific.versions)].sort((a, b) => a - b);
    const missing = wanted.filter((v) => !have.has(v));
    if (missing.length > 0) {
      const who = modelName === undefined ? '' : `model '${modelName}': `;
      const plural = missing.length > 1 ? 's' : '';
      throw new ModelLoadError(
        `${who}version policy lists version${plural} ${missing.join(', ')}, which ${missing.length > 1 ? 'do' : 'does'} not exist ` +
          `(available: ${sorted.join(', ') || 'none'})`,
      );
    }
    return wanted;
  }
  if (policy?.all) return sorted;
  const count = policy?.latest?.num_versions ?? 1;
  return count <= 0 ? [] : sorted.slice(-count);
}
