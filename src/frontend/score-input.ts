/**
 * What `run(data)` gets from a request, as AzureML's server builds it:
 * - POST: the body as UTF-8 text, parsed as JSON when it parses (else the text itself);
 *   a body that is not UTF-8 is a 400.
 * - GET: the query parameters as an object, each value parsed as JSON when it parses;
 *   a repeated parameter becomes an array (`?a=1&b=[1,2]&c=x&c=y` → {a:1, b:[1,2], c:['x','y']}).
 */
import { isUtf8 } from 'node:buffer';
import { MalformedRequestError } from '../errors';
import { UNHANDLED, readJsonFast } from '../util/parse-json-bytes';

export function bodyInput(body: Buffer): unknown {
  if (!isUtf8(body)) throw new MalformedRequestError('Input cannot be decoded as UTF-8');
  // JSON.parse's result, read faster from bodies of decimal numbers (parse-json-bytes.ts).
  const value = readJsonFast(body);
  return value === UNHANDLED ? jsonOrText(body.toString('utf8')) : value;
}

export function queryInput(search: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const params = new URLSearchParams(search);
  for (const key of new Set(params.keys())) {
    const values = params.getAll(key);
    out[key] = values.length === 1 ? jsonOrText(values[0]!) : values.map(jsonOrText);
  }
  return out;
}

function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
