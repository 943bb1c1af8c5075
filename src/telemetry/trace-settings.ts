/**
 * Triton's trace extension (`GET|POST /v2[/models/M]/trace/setting`) mapped onto
 * OpenTelemetry. Triton's settings and what they mean here:
 *
 * - trace_level: ["OFF"] → the engine starts no span for the model's requests;
 *   ["TIMESTAMPS"] → it does (the server span with its queue and compute children).
 *   "TENSORS" is refused: tensor contents are never put in spans.
 * - trace_rate N: 1 in N requests that arrive without a sampled parent is traced (the
 *   OTEL_TRACES_SAMPLER still decides for those); a request whose caller sampled its trace
 *   (traceparent flag 01) is always continued, so a front end's trace is never cut.
 * - trace_count N: trace N more requests, then stop (the value counts down; -1 = no limit).
 * - trace_mode: "opentelemetry" only (Triton's other mode, "triton", writes its own JSON files).
 * - trace_file, log_frequency: Triton's file output; the exporter is OTEL_EXPORTER_OTLP_*
 *   here, so only "" and "0" (their values here) are accepted.
 *
 * As in Triton, a model's settings start as a copy of the global ones for the fields a
 * request gives, a field set to null goes back to the global value, and a POST for a model
 * with no settings in its body removes the model's own settings. Values are strings (Triton's
 * wire form); trace_level is an array of strings.
 */
import { InvalidArgumentError } from '../errors';

export interface TraceSettingValues {
  trace_level: string[];
  trace_rate: string;
  trace_count: string;
  log_frequency: string;
  trace_file: string;
  trace_mode: string;
}

interface Override {
  level?: 'OFF' | 'TIMESTAMPS';
  rate?: number;
  /** Remaining traces; -1: no limit. */
  count?: number;
}

const FIELDS = ['trace_level', 'trace_rate', 'trace_count', 'log_frequency', 'trace_file', 'trace_mode'] as const;

function stringValue(field: string, value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new InvalidArgumentError(`trace setting '${field}' must be a string`);
}

function parseLevel(value: unknown): 'OFF' | 'TIMESTAMPS' {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new InvalidArgumentError("trace setting 'trace_level' must name at least one level (OFF, TIMESTAMPS)");
  let on = false;
  let off = false;
  for (const item of list) {
    const level = stringValue('trace_level', item).toUpperCase();
    if (level === 'TIMESTAMPS') on = true;
    else if (level === 'OFF') off = true;
    else if (level === 'TENSORS') {
      throw new InvalidArgumentError("trace setting 'trace_level': TENSORS is not supported by scoreline (tensor contents are never put in spans); use TIMESTAMPS or OFF");
    } else throw new InvalidArgumentError(`trace setting 'trace_level': unknown level '${level}' (expected OFF or TIMESTAMPS)`);
  }
  if (on && off) throw new InvalidArgumentError("trace setting 'trace_level': OFF cannot be combined with another level");
  return on ? 'TIMESTAMPS' : 'OFF';
}

function parseInteger(field: string, value: unknown, min: number): number {
  const text = stringValue(field, value).trim();
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
    throw new InvalidArgumentError(`trace setting '${field}' must be an integer >= ${min}, got '${text}'`);
  }
  return Number(text);
}

/** Parses a POST body into the fields it sets (undefined) or clears (null). */
function parseRequest(body: Record<string, unknown>, forModel: boolean): { [K in keyof Override]?: Override[K] | null } {
  const out: { [K in keyof Override]?: Override[K] | null } = {};
  for (const [field, value] of Object.entries(body)) {
    if (!(FIELDS as readonly string[]).includes(field)) {
      throw new InvalidArgumentError(`unknown trace setting '${field}' (known: ${FIELDS.join(', ')})`);
    }
    if (value === null) {
      if (!forModel) throw new InvalidArgumentError(`trace setting '${field}': null clears a model's setting; the global one cannot be cleared`);
      if (field === 'trace_level') out.level = null;
      else if (field === 'trace_rate') out.rate = null;
      else if (field === 'trace_count') out.count = null;
      continue;
    }
    switch (field) {
      case 'trace_level':
        out.level = parseLevel(value);
        break;
      case 'trace_rate':
        out.rate = parseInteger('trace_rate', value, 1);
        break;
      case 'trace_count':
        out.count = parseInteger('trace_count', value, -1);
        break;
      case 'trace_mode':
        if (stringValue(field, value).toLowerCase() !== 'opentelemetry') {
          throw new InvalidArgumentError("trace setting 'trace_mode' must be 'opentelemetry' (scoreline exports traces with OpenTelemetry only)");
        }
        break;
      case 'trace_file':
        if (stringValue(field, value) !== '') {
          throw new InvalidArgumentError("trace setting 'trace_file' is not supported: traces go to the OpenTelemetry exporter (OTEL_EXPORTER_OTLP_ENDPOINT), not to a file");
        }
        break;
      case 'log_frequency':
        if (parseInteger(field, value, 0) !== 0) {
          throw new InvalidArgumentError("trace setting 'log_frequency' is not supported: the exporter batches spans itself (OTEL_BSP_*); only '0' is accepted");
        }
        break;
    }
  }
  return out;
}

export class TraceSettings {
  private readonly global: Required<Override>;
  private readonly models = new Map<string, Override>();
  /** Requests seen without a sampled parent, per model: trace_rate's counter. */
  private readonly seen = new Map<string, number>();

  /** `tracing`: whether the process exports traces at all (the default level follows it). */
  constructor(tracing: boolean) {
    this.global = { level: tracing ? 'TIMESTAMPS' : 'OFF', rate: 1, count: -1 };
  }

  /** The settings in Triton's JSON form: the global ones, or a model's (its own fields over the global ones). */
  get(model?: string): TraceSettingValues {
    const o = model === undefined ? undefined : this.models.get(model);
    return {
      trace_level: [o?.level ?? this.global.level],
      trace_rate: String(o?.rate ?? this.global.rate),
      trace_count: String(o?.count ?? this.global.count),
      log_frequency: '0',
      trace_file: '',
      trace_mode: 'opentelemetry',
    };
  }

  /** Applies a POST body (InvalidArgumentError naming the field for a setting that makes no sense here). */
  update(body: Record<string, unknown>, model?: string): TraceSettingValues {
    const parsed = parseRequest(body, model !== undefined);
    if (model === undefined) {
      if (parsed.level != null) this.global.level = parsed.level;
      if (parsed.rate != null) this.global.rate = parsed.rate;
      if (parsed.count != null) this.global.count = parsed.count;
      return this.get();
    }
    if (Object.keys(body).length === 0) {
      this.models.delete(model);
      this.seen.delete(model);
      return this.get(model);
    }
    const o: Override = { ...this.models.get(model) };
    for (const key of ['level', 'rate', 'count'] as const) {
      const v = parsed[key];
      if (v === null) delete o[key];
      else if (v !== undefined) (o as Record<string, unknown>)[key] = v;
    }
    if (Object.keys(o).length === 0) this.models.delete(model);
    else this.models.set(model, o);
    return this.get(model);
  }

  /**
   * Whether a request for `model` gets a span: its level is TIMESTAMPS, trace_count is not
   * used up, and either its caller sampled the trace or it is the 1-in-trace_rate.
   */
  admit(model: string, sampledParent: boolean): boolean {
    const o = this.models.get(model);
    if ((o?.level ?? this.global.level) === 'OFF') return false;
    const counter = o?.count !== undefined ? o : this.global;
    if (counter.count === 0) return false;
    if (!sampledParent) {
      const rate = o?.rate ?? this.global.rate;
      if (rate > 1) {
        const n = this.seen.get(model) ?? 0;
        this.seen.set(model, n + 1 === rate ? 0 : n + 1);
        if (n !== 0) return false;
      }
    }
    if (counter.count! > 0) counter.count! -= 1;
    return true;
  }
}
