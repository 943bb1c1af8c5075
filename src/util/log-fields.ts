/**
 * A log line's fields, as text and as JSON. The logger calls these with the fields a line
 * was given (`logger.info('request', { status })`): text lines end in `key=value` pairs
 * (logfmt), which keep the request log machine-readable inside a plain line; JSON lines
 * (`--log-format json`) carry them as properties.
 */

/**
 * `key=value` pairs (logfmt). Values with spaces, quotes or `=` are JSON-quoted; undefined
 * values are left out.
 */
export function logFields(fields: Record<string, unknown>): string {
  // A plain loop and string concatenation: this runs for every request's log line.
  let line = '';
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    line += `${line === '' ? '' : ' '}${key}=${formatValue(value)}`;
  }
  return line;
}

function formatValue(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = typeof value === 'string' ? value : safeJson(value);
  return text === '' || /[\s"=\\]/.test(text) ? JSON.stringify(text) : text;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Properties the JSON line itself writes: a field of the same name gets a `field_` prefix rather than shadow them. */
const RESERVED = new Set(['time', 'level', 'logger', 'message', 'trace_id', 'span_id']);

/**
 * `,"key":value` for each field (undefined values left out), to append inside a JSON line's
 * object. `except`: the fields written after these, whose names win (a line's own fields
 * over withFields' bound ones).
 */
export function jsonFields(fields: Record<string, unknown>, except: Record<string, unknown> | undefined): string {
  let text = '';
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined || (except !== undefined && Object.hasOwn(except, key) && except[key] !== undefined)) continue;
    text += `,${jsonString(RESERVED.has(key) ? `field_${key}` : key)}:${jsonValue(value)}`;
  }
  return text;
}

/** What JSON.stringify would escape: control characters, quote, backslash, (lone) surrogates. */
// eslint-disable-next-line no-control-regex -- control characters are what JSON must escape
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/**
 * A JSON string literal; newlines and control characters escaped, so a line stays one line.
 * Most values (ids, paths, methods) need no escape and are just quoted: the test and a
 * template cost less than JSON.stringify per string (bench/README.md, "Measurements behind
 * design choices").
 */
export function jsonString(text: string): string {
  return NEEDS_ESCAPE.test(text) ? JSON.stringify(text) : `"${text}"`;
}

function jsonValue(value: unknown): string {
  if (typeof value === 'string') return jsonString(value);
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  // NaN and Infinity are no JSON numbers: written as strings, not as JSON.stringify's null.
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : jsonString(String(value));
  // JSON.stringify writes an Error as {}.
  if (value instanceof Error) return jsonString(describeError(value));
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text;
  } catch {
    // Cycles and bigints inside: the value's text instead.
  }
  return jsonString(String(value));
}

/** An error for a log: its stack (which starts with name and message), or its text. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
