/**
 * `key=value` pairs for log lines (logfmt): the shared logger writes plain text lines, and
 * these keep the request log machine-readable inside them. Values with spaces, quotes or
 * `=` are JSON-quoted; undefined values are left out.
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

/** An error for a log: its stack (which starts with name and message), or its text. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
