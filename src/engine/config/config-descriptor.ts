/**
 * Triton's ModelConfig as protobufjs describes it, from the proto/model_config.proto that
 * ships with the package (and serves the gRPC API): which fields a message has, and whether
 * each is a message, a repeated field, a map (and with which key type), an enum or a scalar.
 * The pbtxt converter (pbtxt-to-json.ts) and the error formatter (model-config.ts) walk the
 * config through here, so the structure of a config is the proto's; the zod schema
 * (model-config-schema.ts) adds what the proto cannot say: defaults, ranges, and the
 * semantic checks.
 */
import * as protobuf from 'protobufjs';
import { MODEL_CONFIG_PROTO, protoPath } from '../../util/proto-files';

export type ConfigKind =
  | { kind: 'message'; type: protobuf.Type }
  | { kind: 'repeated'; element: ConfigKind }
  /** map<K, V>: JSON writes it as an object; `integerKeys` when K is an integer type (pbtxt writes a number). */
  | { kind: 'map'; integerKeys: boolean; value: ConfigKind }
  | { kind: 'string' }
  | { kind: 'integer' }
  | { kind: 'float' }
  | { kind: 'bool' }
  | { kind: 'enum'; values: string[] };

export type MessageKind = Extract<ConfigKind, { kind: 'message' }>;

const INTEGER_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

let modelConfig: MessageKind | undefined;

/** inference.ModelConfig, read from proto/model_config.proto once per process. */
export function modelConfigKind(): MessageKind {
  if (modelConfig === undefined) {
    const root = new protobuf.Root().loadSync(protoPath(MODEL_CONFIG_PROTO), { keepCase: true });
    root.resolveAll();
    modelConfig = { kind: 'message', type: root.lookupType('inference.ModelConfig') };
  }
  return modelConfig;
}

/** The kind of a message's field, or undefined when the message has no such field. */
export function fieldKind(message: MessageKind, name: string): ConfigKind | undefined {
  if (!Object.prototype.hasOwnProperty.call(message.type.fields, name)) return undefined;
  const field = message.type.fields[name]!;
  if (field instanceof protobuf.MapField) return { kind: 'map', integerKeys: INTEGER_TYPES.has(field.keyType), value: valueKind(field) };
  return field.repeated ? { kind: 'repeated', element: valueKind(field) } : valueKind(field);
}

/** What one value of the field is (an element of a repeated field, the value of a map). */
function valueKind(field: protobuf.Field): ConfigKind {
  const resolved = field.resolvedType;
  if (resolved instanceof protobuf.Type) return { kind: 'message', type: resolved };
  if (resolved instanceof protobuf.Enum) return { kind: 'enum', values: Object.keys(resolved.values) };
  if (INTEGER_TYPES.has(field.type)) return { kind: 'integer' };
  if (field.type === 'float' || field.type === 'double') return { kind: 'float' };
  if (field.type === 'bool') return { kind: 'bool' };
  if (field.type === 'string' || field.type === 'bytes') return { kind: 'string' };
  throw new TypeError(`model_config.proto: field '${field.fullName}' has the unknown type '${field.type}'`);
}

/** One step into a value: a message's field, a list's element, a map's value. */
function step(kind: ConfigKind | undefined, segment: PropertyKey): ConfigKind | undefined {
  if (kind?.kind === 'repeated') return kind.element;
  if (kind?.kind === 'map') return kind.value;
  if (kind?.kind === 'message') return fieldKind(kind, String(segment));
  return undefined;
}

/** The kind of the field at `path` below ModelConfig (map keys and list indexes step into values), if any. */
export function configKindAt(path: ReadonlyArray<PropertyKey>): ConfigKind | undefined {
  let kind: ConfigKind | undefined = modelConfigKind();
  for (const segment of path) kind = step(kind, segment);
  return kind;
}

/**
 * Renders a path below ModelConfig as the user would write it: `input[1].data_type`,
 * `parameters["gpu_mem_limit"].string_value`, `dynamic_batching.priority_queue_policy[2]`.
 */
export function formatConfigPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  let kind: ConfigKind | undefined = modelConfigKind();
  for (const segment of path) {
    if (kind?.kind === 'map') out += kind.integerKeys ? `[${String(segment)}]` : `[${JSON.stringify(String(segment))}]`;
    else if (typeof segment === 'number') out += `[${segment}]`;
    else out += (out === '' ? '' : '.') + String(segment);
    kind = step(kind, segment);
  }
  return out;
}
