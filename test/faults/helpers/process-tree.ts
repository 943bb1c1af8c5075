/**
 * Resource figures of a server and everything it started (primary, workers, engine), read
 * from Linux's /proc: resident memory and open file descriptors per process.
 */
import { readFileSync, readdirSync } from 'node:fs';

export const ON_LINUX = process.platform === 'linux';

export interface ProcessFigures {
  pid: number;
  command: string;
  rssBytes: number;
  fds: number;
}

/** `root` and its descendants, each with its figures; processes that exit meanwhile are skipped. */
export function processTree(root: number): ProcessFigures[] {
  const out: ProcessFigures[] = [];
  const visit = (pid: number): void => {
    const figures = figuresOf(pid);
    if (figures === undefined) return;
    out.push(figures);
    for (const child of childrenOf(pid)) visit(child);
  };
  visit(root);
  return out;
}

export function childrenOf(pid: number): number[] {
  try {
    const tasks = readdirSync(`/proc/${pid}/task`);
    return tasks.flatMap((task) => readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

/** The engine child of a `scoreline serve` primary. */
export function enginePid(primary: number): number | undefined {
  return childrenOf(primary).find((pid) => / engine /.test(` ${commandLine(pid)} `));
}

/**
 * A running process's identity: its start time (clock ticks since boot, /proc/PID/stat field
 * 22), so a pid the kernel has given to a new process does not pass for the old one.
 * Undefined once it has exited, a zombie included (an orphan that exited waits for its new
 * parent to reap it, which a container's init may never do).
 */
export function runningSince(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    return state === 'Z' || state === 'X' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

function figuresOf(pid: number): ProcessFigures | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = /VmRSS:\s+(\d+) kB/.exec(status);
    return { pid, command: commandLine(pid), rssBytes: rss === null ? 0 : Number(rss[1]) * 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
  } catch {
    return undefined;
  }
}

export function totalRss(tree: readonly ProcessFigures[]): number {
  return tree.reduce((sum, p) => sum + p.rssBytes, 0);
}

export function totalFds(tree: readonly ProcessFigures[]): number {
  return tree.reduce((sum, p) => sum + p.fds, 0);
}

export const MiB = 1024 * 1024;
