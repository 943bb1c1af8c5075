/**
 * The ensemble dataflow checks, on configs alone: which graphs load, and the reason (in
 * Triton's words) for each that does not.
 */
import { ModelConfig, validateModelConfig } from '../../../src/engine/config/model-config';
import { EnsembleStepPlan, checkComposingConfigs, planEnsemble } from '../../../src/engine/models/ensemble-plan';

interface StepSpec {
  model?: string;
  version?: number;
  in: Record<string, string>;
  out: Record<string, string>;
}

function ensemble(steps: StepSpec[], io: { inputs?: string[]; outputs?: string[]; maxBatchSize?: number } = {}): ModelConfig {
  const tensor = (name: string) => ({ name, data_type: 'TYPE_FP32', dims: [-1] });
  const parsed = validateModelConfig(
    {
      name: 'ens',
      platform: 'ensemble',
      max_batch_size: io.maxBatchSize ?? 8,
      input: (io.inputs ?? ['IN']).map(tensor),
      output: (io.outputs ?? ['OUT']).map(tensor),
      ensemble_scheduling: {
        step: steps.map((s) => ({ model_name: s.model ?? 'm', model_version: s.version ?? -1, input_map: s.in, output_map: s.out })),
      },
    },
    'ens',
  );
  return parsed as ModelConfig;
}

describe('planEnsemble', () => {
  it('lists the steps with their maps, how often each tensor is read, and the composing models', () => {
    const plan = planEnsemble(
      ensemble(
        [
          { model: 'join', in: { A: 'X', B: 'Y' }, out: { C: 'OUT' } },
          { model: 'left', in: { I: 'IN' }, out: { O: 'X' } },
          { model: 'right', in: { I: 'IN' }, out: { O: 'Y' } },
        ],
        {},
      ),
    );
    expect(plan.steps.map((s) => [s.index, s.modelName, s.inputs, s.outputs])).toEqual([
      [0, 'join', [['A', 'X'], ['B', 'Y']], [['C', 'OUT']]],
      [1, 'left', [['I', 'IN']], [['O', 'X']]],
      [2, 'right', [['I', 'IN']], [['O', 'Y']]],
    ]);
    expect(Object.fromEntries(plan.readers)).toEqual({ X: 1, Y: 1, IN: 2 });
    expect(plan.composingModels).toEqual(['join', 'left', 'right']);
  });

  it.each<[string, StepSpec[], { inputs?: string[]; outputs?: string[] }, string]>([
    [
      'a tensor written by two steps',
      [
        { in: { I: 'IN' }, out: { O: 'OUT' } },
        { in: { I: 'IN' }, out: { O: 'OUT' } },
      ],
      {},
      "ensemble tensor 'OUT' can appear in an output map only once for ensemble 'ens' step 1",
    ],
    ['a step writing an ensemble input', [{ in: { I: 'IN' }, out: { O: 'IN', P: 'OUT' } }], {}, "ensemble input 'IN' cannot be written by ensemble 'ens' step 0"],
    ['an ensemble input no step reads', [{ in: { I: 'IN' }, out: { O: 'OUT' } }], { inputs: ['IN', 'SPARE'] }, "ensemble input 'SPARE' for ensemble 'ens' is not used"],
    [
      'a step reading a tensor nothing writes',
      [{ in: { I: 'IN', J: 'GHOST' }, out: { O: 'OUT' } }],
      {},
      "ensemble 'ens' step 0 reads ensemble tensor 'GHOST', which is neither an ensemble input nor written by any step",
    ],
    ['an output no step writes', [{ in: { I: 'IN' }, out: { O: 'OUT' } }], { outputs: ['OUT', 'EXTRA'] }, "ensemble output 'EXTRA' for ensemble 'ens' is not used"],
    [
      'a cycle between steps',
      [
        { in: { I: 'IN', J: 'B' }, out: { O: 'A' } },
        { in: { I: 'A' }, out: { O: 'B', P: 'OUT' } },
      ],
      {},
      "output 'OUT' for ensemble 'ens' is not written",
    ],
    ['a written tensor nobody reads', [{ in: { I: 'IN' }, out: { O: 'OUT', P: 'SPILL' } }], {}, "ensemble tensor 'SPILL' is unused in ensemble 'ens'"],
  ])('refuses %s', (_, steps, io, message) => {
    expect(() => planEnsemble(ensemble(steps, io))).toThrow(message);
  });
});

describe('checkComposingConfigs', () => {
  const model = (over: Partial<ModelConfig> = {}): ModelConfig =>
    ({
      ...(validateModelConfig(
        {
          name: 'm',
          max_batch_size: 8,
          input: [{ name: 'I', data_type: 'TYPE_FP32', dims: [-1] }],
          output: [{ name: 'O', data_type: 'TYPE_FP32', dims: [-1] }],
        },
        'm',
      ) as ModelConfig),
      ...over,
    }) as ModelConfig;
  const check = (config: ModelConfig, composing: ModelConfig) => {
    const plan = planEnsemble(config);
    checkComposingConfigs(config, plan, (_step: EnsembleStepPlan) => composing);
  };
  const oneStep = (over: Partial<StepSpec> = {}, maxBatchSize = 8) =>
    ensemble([{ in: { I: 'IN' }, out: { O: 'OUT' }, ...over }], { maxBatchSize });

  it('accepts maps that fit the composing model', () => {
    expect(() => check(oneStep(), model())).not.toThrow();
  });

  it('accepts a non-batching composing model in a batching ensemble when the full shapes agree', () => {
    const flat = model({ max_batch_size: 0, input: [{ ...model().input[0]!, dims: [-1, -1] }], output: [{ ...model().output[0]!, dims: [-1, -1] }] });
    expect(() => check(oneStep(), flat)).not.toThrow();
  });

  it.each<[string, ModelConfig, ModelConfig, string]>([
    [
      'a composing model with a smaller max_batch_size',
      oneStep(),
      model({ max_batch_size: 4 }),
      "ensemble 'ens' allows maximum batch size 8, but it contains model 'm' which only allows maximum batch size to be 4",
    ],
    ['a map to an input the model lacks', oneStep({ in: { NOPE: 'IN' } }), model(), "ensemble tensor 'IN' is mapping to non-existing input 'NOPE' in model 'm'"],
    ['a map from an output the model lacks', oneStep({ out: { NOPE: 'OUT' } }), model(), "ensemble tensor 'OUT' is mapped from non-existing output 'NOPE' in model 'm'"],
    [
      'a required model input left unmapped',
      oneStep(),
      model({ input: [...model().input, { ...model().input[0]!, name: 'J' }] }),
      "input 'J' in model 'm' is not mapped to any ensemble tensors",
    ],
    [
      'a datatype that disagrees',
      oneStep(),
      model({ input: [{ ...model().input[0]!, data_type: 'TYPE_INT32' }] }),
      "ensemble tensor 'IN': inconsistent data type: TYPE_FP32 is inferred from model 'ens' while TYPE_INT32 is inferred from model 'm'",
    ],
    [
      'a shape that disagrees',
      oneStep(),
      model({ output: [{ ...model().output[0]!, dims: [3, 3] }] }),
      "ensemble tensor 'OUT': inconsistent shape: [-1,-1] is inferred from model 'ens' while [-1,3,3] is inferred from model 'm'",
    ],
  ])('refuses %s', (_, config, composing, message) => {
    expect(() => check(config, composing)).toThrow(`in ensemble 'ens', ${message}`);
  });
});
