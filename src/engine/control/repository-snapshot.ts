/**
 * What poll mode compares between two scans of the repository: one fingerprint per model
 * directory, built from every entry below it (config.pbtxt, labels, warmup data, version
 * directories and the model files in them) with its size and modification time in
 * nanoseconds. Any added, removed, resized or rewritten file changes the fingerprint.
 * Dot-files are left out, so an editor's swap file does not reload a model.
 *
 * diffSnapshots is a pure function, tested without a file system or timers.
 */
import { createHash } from 'node:crypto';
import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { listModelNames } from '../repository/scan-repository';

/** Model name → fingerprint of its directory. */
export type RepositorySnapshot = ReadonlyMap<string, string>;

export interface RepositoryChanges {
  added: string[];
  modified: string[];
  removed: string[];
}

/** Entries beyond this many per model stop the walk (a repository is not a dataset store). */
const MAX_ENTRIES_PER_MODEL = 10_000;

export async function snapshotRepository(root: string): Promise<Map<string, string>> {
  const names = await listModelNames(root);
  const snapshot = new Map<string, string>();
  await Promise.all(
    names.map(async (name) => {
      const fingerprint = await fingerprintModel(path.join(root, name));
      // A directory removed between listing and walking is simply not there.
      if (fingerprint !== undefined) snapshot.set(name, fingerprint);
    }),
  );
  return snapshot;
}

/** A digest of every entry under `dir`; undefined when `dir` is gone. */
export async function fingerprintModel(dir: string): Promise<string | undefined> {
  const lines: string[] = [];
  const walk = async (relative: string): Promise<boolean> => {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(path.join(dir, relative), { withFileTypes: true });
    } catch (err) {
      if (relative === '' && (err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      lines.push(`${relative}:unreadable`);
      return true;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.') || lines.length >= MAX_ENTRIES_PER_MODEL) continue;
      const child = relative === '' ? entry.name : `${relative}/${entry.name}`;
      let stat;
      try {
        // stat follows symlinks: a re-pointed link is a change too.
        stat = await fs.stat(path.join(dir, child), { bigint: true });
      } catch {
        lines.push(`${child}:gone`);
        continue;
      }
      if (stat.isDirectory()) {
        lines.push(`${child}/`);
        await walk(child);
      } else {
        lines.push(`${child}:${stat.size}:${stat.mtimeNs}`);
      }
    }
    return true;
  };
  if (!(await walk(''))) return undefined;
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** Models added, changed and removed between two snapshots, each list sorted by name. */
export function diffSnapshots(previous: RepositorySnapshot, next: RepositorySnapshot): RepositoryChanges {
  const added: string[] = [];
  const modified: string[] = [];
  const removed: string[] = [];
  for (const [name, fingerprint] of next) {
    const before = previous.get(name);
    if (before === undefined) added.push(name);
    else if (before !== fingerprint) modified.push(name);
  }
  for (const name of previous.keys()) if (!next.has(name)) removed.push(name);
  return { added: added.sort(), modified: modified.sort(), removed: removed.sort() };
}

export function hasChanges(changes: RepositoryChanges): boolean {
  return changes.added.length + changes.modified.length + changes.removed.length > 0;
}
