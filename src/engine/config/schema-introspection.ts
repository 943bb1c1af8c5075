/**
 * Reads the zod schema as a protobuf descriptor: which fields are messages, repeated,
 * maps, or scalars of which kind. The pbtxt converter and the error formatter both walk
 * the schema through here, so the schema in `model-config-schema.ts` stays the single
 * description of the config (fields, kinds, defaults).
 */

import { z } from 'zod';

export type SchemaKind =
  | { kind: 'message'; fields: Readonly<Record<string, z.ZodType>>; strict: boolean }
  | { kind: 'repeated'; element: z.ZodType }
  | { kind: 'map'; integerKeys: boolean; value: z.ZodType }
  | { kind: 'string' }
  | { kind: 'integer' }
  | { kind: 'float' }
  | { kind: 'bool' }
  | { kind: 'enum'; values: string[] }
  /** Accepted without a schema (e.g. `optimization.cuda.graph_spec`): converted generically. */
  | { kind: 'any' };

/**
 * Map keys that must be unsigned integers in pbtxt (map<uint64, ...>). JSON object keys
 * are always strings, so the schema validates them as digit strings; this registry tells
 * the pbtxt converter to expect a number token for `key`.
 */
export const integerKeyRegistry = z.registry<{ integerKey: true }>();

interface AnyDef {
  type: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  getter?: () => z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  catchall?: z.ZodType;
  keyType?: z.ZodType;
  valueType?: z.ZodType;
  entries?: Record<string, string | number>;
}

function defOf(schema: z.ZodType): AnyDef {
  return (schema as unknown as { _zod: { def: AnyDef } })._zod.def;
}

/** Strips wrappers that don't change what a value looks like (optional, default, pipe...). */
function unwrap(schema: z.ZodType): z.ZodType {
  for (;;) {
    const def = defOf(schema);
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'nonoptional':
      case 'readonly':
      case 'catch':
        schema = def.innerType as z.ZodType;
        break;
      case 'pipe':
        // z.preprocess(fn, inner) is a pipe from a transform: the shape is the inner schema.
        schema = (defOf(def.in as z.ZodType).type === 'transform' ? def.out : def.in) as z.ZodType;
        break;
      case 'lazy':
        schema = (def.getter as () => z.ZodType)();
        break;
      default:
        return schema;
    }
  }
}

export function schemaKindOf(schema: z.ZodType): SchemaKind {
  const inner = unwrap(schema);
  const def = defOf(inner);
  switch (def.type) {
    case 'object':
      return {
        kind: 'message',
        fields: def.shape as Record<string, z.ZodType>,
        strict: def.catchall !== undefined && defOf(def.catchall).type === 'never',
      };
    case 'array':
      return { kind: 'repeated', element: def.element as z.ZodType };
    case 'record':
      return {
        kind: 'map',
        integerKeys: integerKeyRegistry.has(unwrap(def.keyType as z.ZodType)) || integerKeyRegistry.has(def.keyType as z.ZodType),
        value: def.valueType as z.ZodType,
      };
    case 'string':
      return { kind: 'string' };
    case 'number':
      return (inner as z.ZodNumber).isInt ? { kind: 'integer' } : { kind: 'float' };
    case 'boolean':
      return { kind: 'bool' };
    case 'enum':
      return { kind: 'enum', values: Object.values(def.entries ?? {}).map(String) };
    default:
      return { kind: 'any' };
  }
}

/**
 * Renders a zod/converter path as the user would write it: `input[1].data_type`,
 * `parameters["gpu_mem_limit"].string_value`, `dynamic_batching.priority_queue_policy[2]`.
 */
export function formatFieldPath(root: z.ZodType, path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  let schema: z.ZodType | undefined = root;
  for (const segment of path) {
    const kind: SchemaKind | undefined = schema === undefined ? undefined : schemaKindOf(schema);
    if (kind?.kind === 'repeated' && typeof segment === 'number') {
      out += `[${segment}]`;
      schema = kind.element;
    } else if (kind?.kind === 'map') {
      out += kind.integerKeys ? `[${String(segment)}]` : `[${JSON.stringify(String(segment))}]`;
      schema = kind.value;
    } else if (typeof segment === 'number') {
      out += `[${segment}]`;
      schema = undefined;
    } else {
      out += (out === '' ? '' : '.') + String(segment);
      schema = kind?.kind === 'message' ? fieldOf(kind, String(segment)) : undefined;
    }
  }
  return out;
}

/** The kind of the field at `path` (map keys and list indexes step into values), if any. */
export function schemaKindAt(root: z.ZodType, path: ReadonlyArray<PropertyKey>): SchemaKind | undefined {
  let kind: SchemaKind | undefined = schemaKindOf(root);
  for (const segment of path) {
    let next: z.ZodType | undefined;
    if (kind?.kind === 'repeated') next = kind.element;
    else if (kind?.kind === 'map') next = kind.value;
    else if (kind?.kind === 'message') next = fieldOf(kind, String(segment));
    kind = next === undefined ? undefined : schemaKindOf(next);
  }
  return kind;
}

/** The schema of a message's field, ignoring inherited properties such as `constructor`. */
export function fieldOf(kind: Extract<SchemaKind, { kind: 'message' }>, name: string): z.ZodType | undefined {
  return Object.prototype.hasOwnProperty.call(kind.fields, name) ? kind.fields[name] : undefined;
}
