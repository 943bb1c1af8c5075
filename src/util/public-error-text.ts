/**
 * The safety net under every error response (engine HTTP and gRPC, front end): a response
 * says what the caller did wrong, never where things live. Messages are written without
 * absolute paths and errno names at their source; this catches what slips through (a
 * library's message forwarded whole): absolute file paths become `<path>`, Node's errno
 * prefixes ("ENOENT: no such file or directory, open '...'") become their plain words, and
 * stack frames are dropped. The log keeps the full text: this runs on the reply only.
 */

/**
 * An absolute POSIX path of two or more segments (/x/y), or a Windows one (C:\x). A URL's
 * path (after a host, or after an HTTP method as in "Not Found: GET /v2/x/y") is the
 * caller's own and stays.
 */
const POSIX_PATH = /(^|[\s'"`(=,:[])\/(?:[^\s/'"`()<>,;]+\/)+[^\s/'"`()<>,;]*/g;
const WINDOWS_PATH = /(^|[\s'"`(=,:[])[A-Za-z]:\\[^\s'"`()<>,;]*/g;
const HTTP_METHOD_BEFORE = /\b(?:GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH) $/;

/** "ENOENT: no such file or directory, open '<path>'" → "no such file or directory". */
const ERRNO_MESSAGE = /\bE[A-Z]{2,}: ([^,\n]+?)(?:, [a-z_]+(?: '[^']*')?(?: -> '[^']*')?)?(?=$|[\n;)]|\.\s)/g;
/** A bare errno code left over ("code ENOENT", "(EACCES)"). */
const ERRNO_CODE =
  /\b(?:ENOENT|EACCES|EPERM|EISDIR|ENOTDIR|EEXIST|ENOTEMPTY|EMFILE|ENFILE|ELOOP|ENAMETOOLONG|EIO|EBUSY|ENOSPC|EROFS|EBADF|EINVAL|ENOMEM|EAGAIN|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EADDRINUSE|EADDRNOTAVAIL|EHOSTUNREACH|ENETUNREACH)\b:?\s*/g;
/** "    at fn (/x/y.js:1:2)" and "at /x/y.js:1:2", on their own lines or run together. */
const STACK_FRAME = /\s*\n\s*at [^\n]*|\s+at (?:[\w$.<>]+ )?\(?(?:file:\/\/|node:|\/|[A-Za-z]:\\)[^\s)]*:\d+:\d+\)?/g;

export function publicErrorText(message: string): string {
  let out = String(message).replace(STACK_FRAME, '');
  out = out.replace(ERRNO_MESSAGE, '$1');
  out = out.replace(ERRNO_CODE, '');
  out = out.replace(POSIX_PATH, (match: string, lead: string, offset: number, whole: string) => {
    // A route after its method is the caller's. (A URL's path never matches: it follows its host.)
    if (HTTP_METHOD_BEFORE.test(whole.slice(0, offset + lead.length))) return match;
    return `${lead}<path>`;
  });
  out = out.replace(WINDOWS_PATH, (_match: string, lead: string) => `${lead}<path>`);
  return out;
}
