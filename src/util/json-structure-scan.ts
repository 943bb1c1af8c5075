/**
 * A byte scan that bounds what JSON.parse would build from a body, run before it parses.
 *
 * Why: JSON.parse's output can be far larger than its input. `[[],[],…]` is 3 bytes per
 * empty array and about 55 bytes of heap each, so a body of tens of megabytes can grow a
 * /score worker by gigabytes (bench/README.md, "Measurements behind design choices"), and V8
 * keeps a grown heap. Counting is a fraction of parsing's cost (one pass over the
 * bytes, no allocation), so a body that breaks a limit is refused before anything is built.
 *
 * Counted: containers (arrays and objects, the costly values) and values (containers,
 * scalars and object keys). Strings are skipped whole, escapes included; the scan does not
 * check the syntax (JSON.parse does that next). Not counted: nesting depth, which costs
 * nothing beyond its containers (V8's JSON.parse does not recurse).
 */
import { PayloadTooLargeError } from '../errors';

/**
 * The defaults of `scoreline serve --max-json-containers / --max-json-values`. 1M containers
 * is at most ~55 MB of heap; 10M values hold a batch of 32 224×224×3 images as numbers.
 */
export const DEFAULT_MAX_JSON_CONTAINERS = 1_000_000;
export const DEFAULT_MAX_JSON_VALUES = 10_000_000;

export interface JsonStructureLimits {
  /** Arrays and objects a body may hold. */
  maxContainers: number;
  /** Values a body may hold: containers, scalars (strings, numbers, literals) and object keys. */
  maxValues: number;
  /** How messages name each limit (the option and its environment variable). */
  names: { maxContainers: string; maxValues: string };
}

/**
 * Throws PayloadTooLargeError (413) naming the first limit `bytes` breaks. Values are
 * counted from their separators: every value after a container's first follows a `,`, and
 * every object value a `:`, so containers + separators + 1 bounds them from above.
 */
export function checkJsonStructure(bytes: Buffer, limits: JsonStructureLimits): void {
  // Each value takes at least one byte and each container two: a body too short to break a
  // limit needs no scan, which keeps the scan off the path of ordinary requests.
  const n = bytes.length;
  if (n <= limits.maxValues && n <= 2 * limits.maxContainers) return;
  const { maxContainers, maxValues } = limits;
  let containers = 0;
  let separators = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c === 0x2c /* , */ || c === 0x3a /* : */) {
      if (++separators + containers >= maxValues) throw refused(`holds more than ${maxValues} JSON values`, limits.names.maxValues);
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++containers > maxContainers) {
        throw refused(`holds more than ${maxContainers} JSON arrays and objects`, limits.names.maxContainers);
      }
      if (separators + containers >= maxValues) throw refused(`holds more than ${maxValues} JSON values`, limits.names.maxValues);
    } else if (c === 0x22 /* " */) {
      // Skip the string (its brackets and commas are text); a backslash escapes the next byte.
      for (i++; i < n; i++) {
        const d = bytes[i]!;
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    }
  }
}
function refused(what: string, option: string): PayloadTooLargeError {
  return new PayloadTooLargeError(`The request body ${what} (limit: ${option})`);
}
