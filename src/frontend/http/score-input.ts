/**
 * What `run(data)` gets from a request, as AzureML's server builds it:
 * - POST: the body as UTF-8 text, parsed as JSON when it parses (else the text itself);
 *   a body that is not UTF-8 is a 400, one with more JSON structure than the limits a 413.
 * - GET: the query parameters as an object, each value parsed as JSON when it parses;
 *   a repeated parameter becomes an array (`?a=1&b=[1,2]&c=x&c=y` → {a:1, b:[1,2], c:['x','y']}).
 */
import { isUtf8 } from 'node:buffer';
import { MalformedRequestError } from '../../errors';
import { UNHANDLED, readJsonFast } from '../../util/parse-json-bytes';
import { DEFAULT_MAX_JSON_CONTAINERS, DEFAULT_MAX_JSON_VALUES, JsonStructureLimits, checkJsonStructure } from '../../util/json-structure-scan';
import { describeOption } from '../serve-options';

/** The serve defaults, for callers that do not pass the options' limits. */
const DEFAULT_LIMITS: JsonStructureLimits = {
  maxContainers: DEFAULT_MAX_JSON_CONTAINERS,
  maxValues: DEFAULT_MAX_JSON_VALUES,
  names: { maxContainers: describeOption('maxJsonContainers'), maxValues: describeOption('maxJsonValues') },
};

/** @param limits the JSON structure the body may have, checked before it is parsed (413 beyond). */
export function bodyInput(body: Buffer, limits: JsonStructureLimits = DEFAULT_LIMITS): unknown {
  if (!isUtf8(body)) throw new MalformedRequestError('Input cannot be decoded as UTF-8');
  checkJsonStructure(body, limits);
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
