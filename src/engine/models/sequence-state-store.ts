/**
 * The engine's side of a sequence-batched model: the implicit state of every live sequence
 * (Triton's `sequence_batching.state`), and the control inputs (START, END, READY, CORRID)
 * it writes into each execution. The scheduler decides; this store only keeps tensors,
 * keyed by the scheduler's sequence key.
 *
 * - At a sequence's START (or the first step it runs, if its START was dropped) each state
 *   is its initial_state: zeros when none is configured, or the data_file read at load.
 *   Triton leaves a state without initial_state uninitialized; zeros are what a streaming
 *   client expects, and what scoreline gives.
 * - After a step the state output (`output_name`) becomes the next step's input
 *   (`input_name`); after END the state is dropped, and so on every release (idle, close).
 * - Variable state dims (max_batch_size 0 only, the config checks that) are 1 at the start,
 *   as in Triton; the model's output decides the shape from then on.
 * - READY is always true: scoreline runs no padding rows (Triton's direct strategy pads a
 *   batch's empty slots with not-ready rows so row index = slot; with state kept per
 *   sequence by the engine no ONNX model needs that).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { InvalidArgumentError, ModelLoadError } from '../../errors';
import { DataType, TensorData, allocateTypedArray, dataTypeFromConfigType, dataTypeInfo, elementCount } from '../../tensor/datatypes';
import { modelConfigLimits, overLimit } from '../config/config-limits';
import type { ModelConfig, ModelSequenceBatching, SequenceControl } from '../config/model-config';
import { type SequenceId, type SequenceStep, formatSequenceId } from '../scheduler/sequence-types';
import { concatRows, splitRows } from './batch-assembly';
import type { Tensor } from './inference-types';

interface StateSpec {
  inputName: string;
  outputName: string;
  datatype: DataType;
  /** Without the batch dim. */
  initial: { shape: number[]; data: TensorData };
}

interface ControlSpec {
  name: string;
  kind: SequenceControl['kind'];
  datatype: DataType;
  /** [false, true] for the boolean kinds. */
  values: readonly (number | boolean)[];
}

type SequenceTensors = Map<string, { shape: number[]; data: TensorData }>;

function zeros(datatype: DataType, count: number): TensorData {
  return datatype === 'BYTES' ? Array.from({ length: count }, () => new Uint8Array(0)) : allocateTypedArray(datatype, count);
}

/** Reads each state's initial_state data_file from `<model dir>/initial_state/` (Triton's folder). */
export async function readInitialStates(modelName: string, modelDir: string, config: ModelConfig): Promise<Map<string, TensorData>> {
  const out = new Map<string, TensorData>();
  for (const state of config.sequence_batching?.state ?? []) {
    const init = state.initial_state[0];
    if (init?.data_file === undefined) continue;
    const datatype = dataTypeFromConfigType(state.data_type)!;
    const where = `model '${modelName}': initial_state '${init.name || state.input_name}' data_file '${init.data_file}'`;
    if (datatype === 'BYTES') throw new ModelLoadError(`${where}: a TYPE_STRING state can only start from zero_data`);
    const count = elementCount(init.dims);
    const bytes = count * dataTypeInfo(datatype).byteSize!;
    if (bytes > modelConfigLimits().state_bytes) throw new ModelLoadError(`${where}: ${overLimit(bytes, 'state_bytes')}`);
    let buffer: Buffer;
    try {
      buffer = await fs.readFile(path.join(modelDir, 'initial_state', init.data_file));
    } catch (err) {
      throw new ModelLoadError(`${where}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { cause: err });
    }
    if (buffer.byteLength !== bytes) {
      throw new ModelLoadError(`${where}: holds ${buffer.byteLength} bytes, but dims [${init.dims}] of ${state.data_type} need ${bytes}`);
    }
    const data = allocateTypedArray(datatype, count);
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(buffer);
    out.set(state.input_name, data);
  }
  return out;
}

export class SequenceStateStore {
  private readonly states: StateSpec[];
  private readonly controls: ControlSpec[];
  private readonly live = new Map<number, SequenceTensors>();

  constructor(
    private readonly modelName: string,
    sequence: ModelSequenceBatching,
    private readonly batching: boolean,
    initialData: ReadonlyMap<string, TensorData> = new Map(),
  ) {
    this.states = sequence.state.map((s) => {
      const datatype = dataTypeFromConfigType(s.data_type)!;
      const init = s.initial_state[0];
      const shape = init ? [...init.dims] : s.dims.map((d) => (d === -1 ? 1 : d));
      const data = initialData.get(s.input_name) ?? zeros(datatype, elementCount(shape));
      return { inputName: s.input_name, outputName: s.output_name, datatype, initial: { shape, data } };
    });
    this.controls = sequence.control_input.flatMap((input) =>
      input.control.map((c): ControlSpec => {
        if (c.kind === 'CONTROL_SEQUENCE_CORRID') return { name: input.name, kind: c.kind, datatype: dataTypeFromConfigType(c.data_type)!, values: [] };
        if (c.int32_false_true.length > 0) return { name: input.name, kind: c.kind, datatype: 'INT32', values: c.int32_false_true };
        if (c.fp32_false_true.length > 0) return { name: input.name, kind: c.kind, datatype: 'FP32', values: c.fp32_false_true };
        return { name: input.name, kind: c.kind, datatype: 'BOOL', values: c.bool_false_true };
      }),
    );
  }

  /** Sequences whose state is held now. */
  get count(): number {
    return this.live.size;
  }

  /** The state outputs a run must return besides the model's own outputs. */
  get stateOutputNames(): string[] {
    return this.states.map((s) => s.outputName);
  }

  /** Frees a released sequence's state (the scheduler's onSequenceReleased). */
  release(key: number): void {
    this.live.delete(key);
  }

  /**
   * Refuses, before it is queued, a request whose correlation ID the CORRID control cannot
   * carry: a string ID needs TYPE_STRING, an integer ID an integer type (Triton checks the same).
   */
  checkId(id: SequenceId): void {
    const corrid = this.controls.find((c) => c.kind === 'CONTROL_SEQUENCE_CORRID');
    if (!corrid) return;
    const stringId = typeof id === 'string';
    if (stringId !== (corrid.datatype === 'BYTES')) {
      throw new InvalidArgumentError(
        `inference request for sequence ${formatSequenceId(id)} to model '${this.modelName}': the correlation ID is ${stringId ? 'a string' : 'an unsigned integer'}, ` +
          `but the CONTROL_SEQUENCE_CORRID input '${corrid.name}' has data type ${dataTypeInfo(corrid.datatype).configType}`,
      );
    }
  }

  /** The control and state inputs of one execution, one row per step, in the batch's order. */
  feeds(steps: readonly SequenceStep[]): Tensor[] {
    const rows = steps.length;
    const out: Tensor[] = [];
    for (const c of this.controls) {
      const shape = this.batching ? [rows, 1] : [1];
      out.push({ name: c.name, datatype: c.datatype, shape, data: this.controlData(c, steps) });
    }
    for (const spec of this.states) {
      const per = steps.map((step) => this.stateOf(step, spec));
      const rest = per[0]!.shape;
      const data = per.length === 1 ? per[0]!.data : concatRows(spec.datatype, per.map((p) => p.data));
      out.push({ name: spec.inputName, datatype: spec.datatype, shape: this.batching ? [rows, ...rest] : [...rest], data });
    }
    return out;
  }

  /**
   * The control and state inputs of a warmup execution of `rows` rows: each row a
   * one-step sequence (START and END set, correlation ID 0, each state at its initial
   * value). Warmup runs straight on the instances (model-version.ts), so no sequence is
   * opened and nothing is kept.
   */
  warmupFeeds(rows: number): Tensor[] {
    const WARMUP_KEY = -1;
    return this.feeds(Array.from({ length: rows }, (_, slot) => ({ key: WARMUP_KEY, id: 0n, start: true, end: true, slot })));
  }

  /**
   * Takes the state outputs out of a run's outputs and keeps each row as its sequence's next
   * state (dropped after END); returns the other outputs.
   */
  absorb(steps: readonly SequenceStep[], outputs: Tensor[]): Tensor[] {
    const stateNames = new Set(this.stateOutputNames);
    for (const spec of this.states) {
      const out = outputs.find((o) => o.name === spec.outputName);
      if (!out) throw new InvalidArgumentError(`model '${this.modelName}' produced no state output '${spec.outputName}'`);
      const pieces = this.batching
        ? splitRows(out.datatype, out.data, out.shape, steps.map(() => 1)).map((p) => ({ shape: p.shape.slice(1), data: copy(out.datatype, p.data) }))
        : [{ shape: out.shape, data: out.data }];
      const bytes = pieces[0] ? byteSize(out.datatype, pieces[0].data) : 0;
      if (bytes > modelConfigLimits().state_bytes) {
        throw new InvalidArgumentError(`model '${this.modelName}': state output '${spec.outputName}' grew to ${overLimit(bytes, 'state_bytes')}`);
      }
      steps.forEach((step, i) => {
        if (step.end) return;
        let tensors = this.live.get(step.key);
        if (!tensors) this.live.set(step.key, (tensors = new Map()));
        tensors.set(spec.inputName, pieces[i]!);
      });
    }
    for (const step of steps) if (step.end) this.live.delete(step.key);
    return outputs.filter((o) => !stateNames.has(o.name));
  }

  /**
   * A copy of the sequence's state for one execution: the instance transfers (detaches) its
   * input buffers to the model thread, so the initial state and a held state must never be
   * handed over themselves. A held state also stays intact if the step fails.
   */
  private stateOf(step: SequenceStep, spec: StateSpec): { shape: number[]; data: TensorData } {
    if (step.start) this.live.delete(step.key);
    const state = this.live.get(step.key)?.get(spec.inputName) ?? spec.initial;
    return { shape: state.shape, data: copy(spec.datatype, state.data) };
  }

  private controlData(c: ControlSpec, steps: readonly SequenceStep[]): TensorData {
    if (c.kind === 'CONTROL_SEQUENCE_CORRID') {
      if (c.datatype === 'BYTES') return steps.map((s) => Buffer.from(formatSequenceId(s.id), 'utf8'));
      const data = allocateTypedArray(c.datatype, steps.length);
      steps.forEach((s, i) => {
        const id = s.id as bigint;
        // 32-bit types carry the low-order 32 bits (Triton's rule).
        if (c.datatype === 'UINT64') (data as BigUint64Array)[i] = id;
        else if (c.datatype === 'INT64') (data as BigInt64Array)[i] = BigInt.asIntN(64, id);
        else (data as Uint32Array)[i] = Number(BigInt.asUintN(32, id));
      });
      return data;
    }
    const flag = (s: SequenceStep) => (c.kind === 'CONTROL_SEQUENCE_START' ? s.start : c.kind === 'CONTROL_SEQUENCE_END' ? s.end : true);
    const data = allocateTypedArray(c.datatype, steps.length);
    steps.forEach((s, i) => {
      const v = c.values[flag(s) ? 1 : 0]!;
      (data as Float32Array)[i] = typeof v === 'boolean' ? Number(v) : v;
    });
    return data;
  }
}

/** A row kept as state must not pin the whole batch's output buffer. */
function copy(datatype: DataType, data: TensorData): TensorData {
  return datatype === 'BYTES' ? [...(data as Uint8Array[])] : (data as Float32Array).slice();
}

function byteSize(datatype: DataType, data: TensorData): number {
  return datatype === 'BYTES' ? (data as Uint8Array[]).reduce((n, b) => n + b.byteLength, 0) : (data as Float32Array).byteLength;
}
