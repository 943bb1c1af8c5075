/**
 * The zod schema (model-config-schema.ts) keeps what the proto cannot say: defaults, ranges,
 * semantic checks. Its structure must still be the proto's (proto/model_config.proto, read by
 * config-descriptor.ts): this walks both, through zod's public API only, so a field added to
 * one and not the other, or a message that became a list, fails here naming the path.
 */
import { z } from 'zod';
import { fieldKind, formatConfigPath, modelConfigKind, type ConfigKind } from '../../../src/engine/config/config-descriptor';
import { modelConfigObjectSchema, modelDynamicBatchingSchema, modelInputSchema } from '../../../src/engine/config/model-config-schema';

type Path = (string | number)[];

/** The schema under defaults, optionals and preprocessing. */
function unwrap(schema: z.ZodType): z.ZodType {
  for (;;) {
    if (schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault || schema instanceof z.ZodOptional) schema = schema.unwrap() as z.ZodType;
    else if (schema instanceof z.ZodPipe) schema = (schema.out instanceof z.ZodTransform ? schema.in : schema.out) as z.ZodType;
    else return schema;
  }
}

function compare(kind: ConfigKind, schema: z.ZodType, path: Path, problems: string[]): void {
  const at = path.length === 0 ? 'ModelConfig' : formatConfigPath(path);
  const node = unwrap(schema);
  // Accepted loosely on purpose (batch_input, batch_output, cuda.graph_spec): the engine refuses them by name.
  if (node instanceof z.ZodUnknown) return;
  switch (kind.kind) {
    case 'message': {
      if (!(node instanceof z.ZodObject)) return void problems.push(`${at}: a message in the proto, not an object in zod`);
      const shape = node.shape as Record<string, z.ZodType>;
      for (const field of kind.type.fieldsArray) {
        if (!(field.name in shape)) problems.push(`${formatConfigPath([...path, field.name])}: in the proto, missing from zod`);
      }
      for (const [name, child] of Object.entries(shape)) {
        const childKind = fieldKind(kind, name);
        if (childKind === undefined) problems.push(`${formatConfigPath([...path, name])}: in zod, not in the proto`);
        else compare(childKind, child, [...path, name], problems);
      }
      return;
    }
    case 'repeated':
      if (!(node instanceof z.ZodArray)) return void problems.push(`${at}: repeated in the proto, not an array in zod`);
      return compare(kind.element, node.element as z.ZodType, [...path, 0], problems);
    case 'map':
      if (!(node instanceof z.ZodRecord)) return void problems.push(`${at}: a map in the proto, not a record in zod`);
      return compare(kind.value, node.valueType as z.ZodType, [...path, 'key'], problems);
    case 'enum': {
      if (!(node instanceof z.ZodEnum)) return void problems.push(`${at}: an enum in the proto, not in zod`);
      const extra = (node.options as string[]).filter((value) => !kind.values.includes(value));
      if (extra.length > 0) problems.push(`${at}: zod allows ${extra.join(', ')}, which the proto's enum lacks`);
      return;
    }
    case 'string':
      if (!(node instanceof z.ZodString)) problems.push(`${at}: a string in the proto, not in zod`);
      return;
    case 'bool':
      if (!(node instanceof z.ZodBoolean)) problems.push(`${at}: a bool in the proto, not in zod`);
      return;
    case 'integer':
    case 'float':
      if (!(node instanceof z.ZodNumber)) problems.push(`${at}: a number in the proto, not in zod`);
      return;
  }
}

describe('the zod schema against the proto', () => {
  it('has every field of every ModelConfig message, with the same shape, and nothing the proto lacks', () => {
    const problems: string[] = [];
    compare(modelConfigKind(), modelConfigObjectSchema, [], problems);
    expect(problems).toEqual([]);
  });

  it('notices a difference (the walk is not vacuous)', () => {
    const problems: string[] = [];
    const drifted = modelConfigObjectSchema
      .extend({
        max_batch_size: z.string(),
        invented_field: z.boolean(),
        dynamic_batching: modelDynamicBatchingSchema.omit({ preserve_ordering: true }).optional(),
        input: z.array(modelInputSchema.extend({ dims: z.number() })),
      })
      .omit({ name: true });
    compare(modelConfigKind(), drifted, [], problems);
    expect(problems.sort()).toEqual(
      [
        'dynamic_batching.preserve_ordering: in the proto, missing from zod',
        'input[0].dims: repeated in the proto, not an array in zod',
        'invented_field: in zod, not in the proto',
        'max_batch_size: a number in the proto, not in zod',
        'name: in the proto, missing from zod',
      ].sort(),
    );
  });
});
