/**
 * The schema step of config.pbtxt parsing: walks the generic pbtxt tree alongside
 * model_config.proto's descriptor (config-descriptor.ts) and produces the same plain JSON
 * shape that Triton's JSON config uses (repeated fields as arrays, maps as objects).
 * Afterwards zod validates that JSON exactly as it validates a JSON config from the load
 * API, so both paths share every rule and message.
 *
 * What only the tree knows is checked here: field names, token kinds (a quoted string is
 * not an enum), list syntax on a non-repeated field, and a singular field given twice.
 */

import { fieldKind, type ConfigKind, type MessageKind } from './config-descriptor';
import type { PbtxtField, PbtxtMessage, PbtxtScalar, PbtxtValue } from './parse-pbtxt';

export type ConfigPath = Array<string | number>;

/** Reports a problem at a field path; must throw. */
export type FailFn = (path: ConfigPath, detail: string) => never;

export function pbtxtToJson(root: PbtxtMessage, message: MessageKind, fail: FailFn): Record<string, unknown> {
  return new Converter(fail).message(root, message, []);
}

class Converter {
  constructor(private readonly fail: FailFn) {}

  message(node: PbtxtMessage, message: MessageKind, path: ConfigPath): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, occurrences] of groupByName(node.fields)) {
      const fieldPath = [...path, name];
      const kind = fieldKind(message, name);
      if (kind === undefined) this.fail(fieldPath, 'unknown field');
      out[name] = this.field(occurrences, kind, fieldPath);
    }
    return out;
  }

  private field(occurrences: PbtxtField[], kind: ConfigKind, path: ConfigPath): unknown {
    if (kind.kind === 'repeated') return flatten(occurrences).map((item, i) => this.value(item, kind.element, [...path, i]));
    if (kind.kind === 'map') return this.map(flatten(occurrences), kind, path);
    if (occurrences.length > 1) {
      const second = occurrences[1].pos;
      this.fail(path, `is not a repeated field but is given more than once (again at line ${second.line}:${second.column})`);
    }
    const value = occurrences[0].value;
    if (value.kind === 'list') this.fail(path, 'is not a repeated field; list syntax [...] is not allowed');
    return this.value(value, kind, path);
  }

  /** Text format writes map<K, V> as repeated `{ key: K value: V }` entries. */
  private map(entries: Array<PbtxtScalar | PbtxtMessage>, kind: Extract<ConfigKind, { kind: 'map' }>, path: ConfigPath) {
    const out: Record<string, unknown> = {};
    const valueKind = kind.value;
    entries.forEach((entry, i) => {
      // Entries have no name of their own until their key is known: count them from 1.
      const where = `entry ${i + 1}`;
      if (entry.kind !== 'message') this.fail(path, `${where}: expected { key: ... value: ... }, found ${describe(entry)}`);
      let key: string | undefined;
      let value: PbtxtValue | undefined;
      for (const [name, occurrences] of groupByName(entry.fields)) {
        if (name !== 'key' && name !== 'value') {
          this.fail(path, `${where}: unknown field '${name}' (a map entry has only 'key' and 'value')`);
        }
        if (occurrences.length > 1) this.fail(path, `${where}: '${name}' is given more than once`);
        if (name === 'key') key = this.mapKey(occurrences[0].value, kind.integerKeys, path, where);
        else value = occurrences[0].value;
      }
      if (key === undefined) this.fail(path, `${where}: has no key`);
      if (Object.prototype.hasOwnProperty.call(out, key)) this.fail([...path, key], 'key is given more than once');
      out[key] = value === undefined ? {} : this.value(value, valueKind, [...path, key]);
    });
    return out;
  }

  private mapKey(node: PbtxtValue, integerKeys: boolean, path: ConfigPath, where: string): string {
    if (integerKeys) {
      if (node.kind !== 'number' || node.integer === undefined) this.fail(path, `${where}: expected an integer key, found ${describe(node)}`);
      return node.integer.toString();
    }
    if (node.kind !== 'string') this.fail(path, `${where}: expected a quoted string key, found ${describe(node)}`);
    return node.value;
  }

  private value(node: PbtxtValue, kind: ConfigKind, path: ConfigPath): unknown {
    if (node.kind === 'list') this.fail(path, 'a list cannot be nested in a list');
    switch (kind.kind) {
      case 'message':
        if (node.kind !== 'message') this.fail(path, `expected a message { ... }, found ${describe(node)}`);
        return this.message(node, kind, path);
      case 'string':
        if (node.kind !== 'string') this.fail(path, `expected a quoted string, found ${describe(node)}`);
        return node.value;
      case 'integer':
        if (node.kind !== 'number' || node.integer === undefined) this.fail(path, `expected an integer, found ${describe(node)}`);
        if (node.integer > BigInt(Number.MAX_SAFE_INTEGER) || node.integer < BigInt(Number.MIN_SAFE_INTEGER)) {
          this.fail(path, `integer ${node.text} is out of range`);
        }
        return node.value;
      case 'float':
        if (node.kind !== 'number') this.fail(path, `expected a number, found ${describe(node)}`);
        return node.value;
      case 'bool':
        if (node.kind === 'bool') return node.value;
        if (node.kind === 'identifier' && (node.value === 't' || node.value === 'f')) return node.value === 't';
        if (node.kind === 'number' && (node.integer === 0n || node.integer === 1n)) return node.integer === 1n;
        return this.fail(path, `expected true or false, found ${describe(node)}`);
      case 'enum':
        if (node.kind !== 'identifier') this.fail(path, `expected an enum value name, found ${describe(node)}`);
        return node.value;
      case 'repeated':
      case 'map':
        // A list element or map value is never itself repeated or a map in proto3.
        return this.fail(path, `expected a value, found ${describe(node)}`);
    }
  }
}

function groupByName(fields: PbtxtField[]): Map<string, PbtxtField[]> {
  const groups = new Map<string, PbtxtField[]>();
  for (const field of fields) {
    const group = groups.get(field.name);
    if (group) group.push(field);
    else groups.set(field.name, [field]);
  }
  return groups;
}

/** `f: a f: [b, c]` is the list a, b, c. */
function flatten(occurrences: PbtxtField[]): Array<PbtxtScalar | PbtxtMessage> {
  return occurrences.flatMap((o) => (o.value.kind === 'list' ? o.value.items : [o.value]));
}

function describe(node: PbtxtValue): string {
  switch (node.kind) {
    case 'message':
      return 'a message { ... }';
    case 'list':
      return 'a list [...]';
    case 'string':
      return JSON.stringify(node.value);
    case 'number':
      return node.text;
    default:
      return String(node.value);
  }
}
