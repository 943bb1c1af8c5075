/**
 * sequence_batching's cross-field rules and Triton's normalization of it, and the tensors
 * it names (control inputs, state inputs and outputs), which the engine fills and keeps:
 * they are model tensors that requests never carry and config `input`/`output` never list.
 */

import type { ConfigIssue } from './config-semantics';
import type { ModelSequenceBatching, ParsedModelConfig, SequenceControl } from './model-config-schema';

/** Triton's SEQUENCE_IDLE_DEFAULT_MICROSECONDS: what max_sequence_idle_microseconds 0 means. */
export const DEFAULT_SEQUENCE_IDLE_MICROSECONDS = 1_000_000;

export type ControlKind = SequenceControl['kind'];

/** The datatypes a CONTROL_SEQUENCE_CORRID tensor may have (Triton's list, plus STRING for string ids). */
export const CORRID_DATA_TYPES = ['TYPE_UINT64', 'TYPE_INT64', 'TYPE_UINT32', 'TYPE_INT32', 'TYPE_STRING'] as const;

const BOOLEAN_FORMS = ['int32_false_true', 'fp32_false_true', 'bool_false_true'] as const;

export function sequenceIssues(config: ParsedModelConfig): ConfigIssue[] {
  const sequence = config.sequence_batching;
  if (!sequence) return [];
  const issues: ConfigIssue[] = [];
  const sb = 'sequence_batching';
  const add = (path: ConfigIssue['path'], message: string) => issues.push({ path: [sb, ...path], message });
  const mbs = config.max_batch_size;

  if (sequence.direct && sequence.oldest) add(['oldest'], 'cannot be combined with direct (strategy_choice is a oneof)');
  if (sequence.direct) {
    const u = sequence.direct.minimum_slot_utilization;
    if (!(u >= 0 && u <= 1)) add(['direct', 'minimum_slot_utilization'], `must be in [0, 1], got ${u}`);
  }
  if (sequence.oldest) {
    if (sequence.oldest.max_candidate_sequences < 0) add(['oldest', 'max_candidate_sequences'], 'must be >= 0');
    sequence.oldest.preferred_batch_size.forEach((size, i) => {
      if (size < 1) add(['oldest', 'preferred_batch_size', i], 'must be >= 1');
      else if (mbs !== undefined && mbs > 0 && size > mbs) add(['oldest', 'preferred_batch_size', i], `must be <= max_batch_size (${mbs})`);
    });
  }

  // Triton refuses it too: a response depends on the sequence's state, not only on the request.
  if (config.response_cache?.enable) issues.push({ path: ['response_cache', 'enable'], message: 'cannot be true for a model with sequence_batching' });

  const listed = new Set([...config.input.map((t) => t.name), ...config.output.map((t) => t.name)]);
  const seenKinds = new Set<ControlKind>();
  const seenNames = new Set<string>();
  sequence.control_input.forEach((input, i) => {
    if (seenNames.has(input.name)) add(['control_input', i, 'name'], `duplicate control input '${input.name}'`);
    seenNames.add(input.name);
    if (listed.has(input.name)) add(['control_input', i, 'name'], `'${input.name}' is also listed in input; the server fills control inputs, so remove it there`);
    if (input.control.length !== 1) add(['control_input', i, 'control'], `must hold exactly one control, got ${input.control.length}`);
    input.control.forEach((control, j) => {
      const path = ['control_input', i, 'control', j];
      if (seenKinds.has(control.kind)) add([...path, 'kind'], `${control.kind} is given more than once`);
      seenKinds.add(control.kind);
      const forms = BOOLEAN_FORMS.filter((f) => control[f].length > 0);
      if (control.kind === 'CONTROL_SEQUENCE_CORRID') {
        if (forms.length > 0) add([...path, forms[0]!], 'is not used by CONTROL_SEQUENCE_CORRID (its value is the correlation ID)');
        if (!(CORRID_DATA_TYPES as readonly string[]).includes(control.data_type)) {
          add([...path, 'data_type'], `CONTROL_SEQUENCE_CORRID needs data_type ${CORRID_DATA_TYPES.join(', ')}; got ${control.data_type}`);
        }
        return;
      }
      if (forms.length !== 1) {
        add(path, `${control.kind} must set exactly one of ${BOOLEAN_FORMS.join(', ')}`);
        return;
      }
      const values = control[forms[0]!];
      if (values.length !== 2) add([...path, forms[0]!], `must hold 2 values (false, then true), got ${values.length}`);
    });
  });

  const seenState = new Set<string>();
  sequence.state.forEach((state, i) => {
    const path = ['state', i];
    for (const key of ['input_name', 'output_name'] as const) {
      const name = state[key];
      if (seenState.has(name) || seenNames.has(name)) add([...path, key], `'${name}' is named by another state or control input`);
      seenState.add(name);
      if (listed.has(name)) add([...path, key], `'${name}' is also listed in ${key === 'input_name' ? 'input' : 'output'}; the server keeps state tensors, so remove it there`);
    }
    if (state.dims.length === 0) add([...path, 'dims'], 'must list at least one dimension');
    // Rows of different sequences are joined along the batch dim, which needs equal state shapes.
    if (mbs !== undefined && mbs > 0 && state.dims.includes(-1)) {
      add([...path, 'dims'], 'variable (-1) state dims need max_batch_size 0 (scoreline joins the states of a batch, which needs one shape)');
    }
    if (state.initial_state.length > 1) {
      add([...path, 'initial_state'], `must contain exactly one or zero element, found ${state.initial_state.length} (as Triton)`);
    }
    state.initial_state.forEach((init, j) => {
      const ip = [...path, 'initial_state', j];
      if ((init.zero_data !== undefined) === (init.data_file !== undefined)) add(ip, 'must set exactly one of zero_data, data_file');
      if (init.data_type !== state.data_type) add([...ip, 'data_type'], `must be the state's data_type ${state.data_type}`);
      const fits = init.dims.length === state.dims.length && init.dims.every((d, k) => d >= 1 && (state.dims[k] === -1 || state.dims[k] === d));
      if (!fits) add([...ip, 'dims'], `[${init.dims}] must be the state's dims [${state.dims}] with each -1 made a size >= 1`);
      const file = init.data_file;
      if (file !== undefined && (file === '' || file.startsWith('/') || file.includes('\0') || file.split(/[\\/]/).includes('..'))) {
        add([...ip, 'data_file'], `'${file}' must name a file inside the model's initial_state directory`);
      }
    });
  });
  return issues;
}

/** What Triton's NormalizeModelConfig fills: the idle default, and oldest's preferred size. */
export function normalizeSequenceBatching(sequence: ModelSequenceBatching, maxBatchSize: number): void {
  if (sequence.max_sequence_idle_microseconds === 0) sequence.max_sequence_idle_microseconds = DEFAULT_SEQUENCE_IDLE_MICROSECONDS;
  if (sequence.oldest && sequence.oldest.preferred_batch_size.length === 0 && maxBatchSize > 0) {
    sequence.oldest.preferred_batch_size = [maxBatchSize];
  }
}

/** Model inputs the server fills (control inputs and state inputs). */
export function serverFilledInputs(sequence: ModelSequenceBatching | undefined): string[] {
  if (!sequence) return [];
  return [...sequence.control_input.map((c) => c.name), ...sequence.state.map((s) => s.input_name)];
}

/** Model outputs the server keeps (state outputs). */
export function serverKeptOutputs(sequence: ModelSequenceBatching | undefined): string[] {
  return sequence ? sequence.state.map((s) => s.output_name) : [];
}
