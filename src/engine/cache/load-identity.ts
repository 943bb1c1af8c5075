/**
 * A number per loaded servable version, unique in the process. The response cache keys on
 * it besides the model name and version number: a reload (poll mode after a file changed, or
 * an explicit load) serves the same name and version from a new model, whose answers may
 * differ, so entries of the old load must never answer for it. They are not removed; they
 * are never looked up again and the LRU evicts them as space is needed.
 */
let next = 1;

export function newLoadIdentity(): number {
  return next++;
}
