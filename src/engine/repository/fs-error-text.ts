/**
 * What a file-system error means, in words a caller can act on, without the absolute path
 * and errno name that Node puts in its message ("ENOENT: no such file or directory, open
 * '/srv/repo/m/labels.txt'"). Messages that reach a response name the model-relative file
 * themselves; the full error stays the `cause`, which the log prints.
 */

const BY_CODE: Record<string, string> = {
  ENOENT: 'not found',
  ENOTDIR: 'not found (a parent is not a directory)',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files; try again',
  ENFILE: 'too many open files; try again',
  EIO: 'input/output error',
};

export function fsErrorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return (code !== undefined && BY_CODE[code]) || 'could not be read';
}
