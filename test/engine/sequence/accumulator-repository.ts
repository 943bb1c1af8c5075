/**
 * Accumulator models (tools/onnx/model-zoo.ts accumulator) in a model repository, each with
 * a sequence_batching block: the state STATE_IN/STATE_OUT kept by the engine, and the
 * START, END and CORRID control inputs filled by it. Shared by the in-process and the
 * outside sequence tests.
 */
import { accumulator } from '../../../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';

export const WIDTH = 4;

export interface AccumulatorSpec {
  name: string;
  maxBatchSize: number;
  /** Verbatim strategy block, e.g. `oldest { max_candidate_sequences: 4 }`; none = direct (the default). */
  strategy?: string;
  idleUs?: number;
  instances?: number;
  /** Extra lines inside sequence_batching, e.g. an initial_state for the state. */
  initialState?: string;
  /** The CORRID control's type: UINT64 (default) for integer IDs, STRING for string IDs. */
  corrid?: 'UINT64' | 'STRING';
  /** The START/END (and READY) controls' type: int32_false_true (default), fp32_false_true or bool_false_true. */
  flags?: 'INT32' | 'FP32' | 'BOOL';
  /** Add a CONTROL_SEQUENCE_READY input. */
  ready?: boolean;
  /** A model_warmup sample of this many rows (zero_data INPUT); none by default. */
  warmupRows?: number;
}

const FLAG_FORMS = { INT32: 'int32_false_true: [ 0, 1 ]', FP32: 'fp32_false_true: [ 0, 1 ]', BOOL: 'bool_false_true: [ false, true ]' } as const;

const controlNames = (spec: AccumulatorSpec) => ['START', 'END', ...(spec.ready ? ['READY'] : [])];

export function accumulatorConfig(spec: AccumulatorSpec): string {
  return configText({
    name: spec.name,
    maxBatchSize: spec.maxBatchSize,
    inputs: [{ name: 'INPUT', datatype: 'FP32', dims: [WIDTH] }],
    outputs: [
      { name: 'OUTPUT', datatype: 'FP32', dims: [WIDTH] },
      ...controlNames(spec).map((c) => ({ name: `${c}_SEEN`, datatype: spec.flags ?? ('INT32' as const), dims: [1] })),
      { name: 'CORRID_SEEN', datatype: spec.corrid === 'STRING' ? 'BYTES' : 'UINT64', dims: [1] },
    ],
    extra: [
      `sequence_batching {`,
      spec.strategy ?? '',
      spec.idleUs !== undefined ? `  max_sequence_idle_microseconds: ${spec.idleUs}` : '',
      `  control_input [`,
      ...controlNames(spec).map((c) => `    { name: "${c}" control [ { kind: CONTROL_SEQUENCE_${c} ${FLAG_FORMS[spec.flags ?? 'INT32']} } ] },`),
      `    { name: "CORRID" control [ { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_${spec.corrid ?? 'UINT64'} } ] }`,
      `  ]`,
      `  state [ { input_name: "STATE_IN" output_name: "STATE_OUT" data_type: TYPE_FP32 dims: [ ${WIDTH} ] ${spec.initialState ?? ''} } ]`,
      `}`,
      `instance_group [ { kind: KIND_CPU count: ${spec.instances ?? 1} } ]`,
      spec.warmupRows === undefined
        ? ''
        : `model_warmup [ { name: "zeros" batch_size: ${spec.warmupRows} inputs { key: "INPUT" value: { data_type: TYPE_FP32 dims: [ ${WIDTH} ] zero_data: true } } } ]`,
    ],
  });
}

export async function writeAccumulator(repo: string, spec: AccumulatorSpec): Promise<void> {
  await writeRepositoryModel(repo, {
    name: spec.name,
    versions: { 1: accumulator({ width: WIDTH, batched: spec.maxBatchSize > 0, corrid: spec.corrid === 'STRING' ? 'BYTES' : 'UINT64', flags: spec.flags, ready: spec.ready }).bytes },
    config: accumulatorConfig(spec),
  });
}
