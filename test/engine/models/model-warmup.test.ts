/**
 * Preparing warmup samples from a config and the model directory's warmup/ folder: the
 * requests they become, and the reasons a sample is refused.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ModelConfig, validateModelConfig } from '../../../src/engine/config/model-config';
import { buildWarmupData } from '../../../src/engine/backend/warmup-data';
import { WarmupSample, prepareWarmupSamples } from '../../../src/engine/models/model-warmup';
import { elementCount } from '../../../src/tensor/datatypes';
import { encodeBytesElements } from '../../../src/tensor/bytes-elements';

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-warmup-unit-'));
  await fs.mkdir(path.join(dir, 'warmup'));
  await fs.writeFile(path.join(dir, 'warmup', 'three_ints'), Buffer.from(Int32Array.of(7, 8, 9, 10).buffer));
  await fs.writeFile(path.join(dir, 'warmup', 'words'), encodeBytesElements([Buffer.from('hi'), Buffer.from('there')]));
  await fs.writeFile(path.join(dir, 'outside'), 'x');
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function config(input: { data_type: string; dims: number[] }, warmup: object[], maxBatchSize = 4): ModelConfig {
  return validateModelConfig(
    {
      name: 'm',
      max_batch_size: maxBatchSize,
      input: [{ name: 'X', ...input }],
      output: [{ name: 'Y', ...input }],
      model_warmup: warmup,
    },
    'm',
  ) as ModelConfig;
}

const sample = (source: object, over: object = {}, dims = [3]) => ({
  name: 's',
  batch_size: 2,
  inputs: { X: { data_type: 'TYPE_INT32', dims, ...source } },
  ...over,
});

/** The tensor data a sample's input becomes in the instance's thread. */
function contents(s: WarmupSample, k = 0): ArrayBufferView | string[] {
  const input = s.inputs[k]!;
  return buildWarmupData(input.datatype, elementCount(input.shape), input.fill);
}

describe('prepareWarmupSamples', () => {
  it('builds batch_size rows of zeros, with the batch dim when the model batches', async () => {
    const [s] = await prepareWarmupSamples('m', dir, config({ data_type: 'TYPE_INT32', dims: [3] }, [sample({ zero_data: true })]));
    expect(s).toMatchObject({ name: 's', executions: 1, batchSize: 2 });
    expect(s!.inputs).toEqual([{ name: 'X', datatype: 'INT32', shape: [2, 3], fill: { kind: 'zero' } }]);
    expect(contents(s!)).toEqual(new Int32Array(6));
  });

  it('repeats the first row of a data file for every row, and runs count times', async () => {
    const [s] = await prepareWarmupSamples(
      'm',
      dir,
      config({ data_type: 'TYPE_INT32', dims: [3] }, [sample({ input_data_file: 'three_ints' }, { count: 5 })]),
    );
    expect(s!.executions).toBe(5);
    expect(Array.from(contents(s!) as Int32Array)).toEqual([7, 8, 9, 7, 8, 9]);
  });

  it('reads BYTES data files as length-prefixed elements', async () => {
    const [s] = await prepareWarmupSamples(
      'm',
      dir,
      config({ data_type: 'TYPE_STRING', dims: [2] }, [sample({ data_type: 'TYPE_STRING', input_data_file: 'words' }, { batch_size: 1 }, [2])]),
    );
    expect(contents(s!)).toEqual(['hi', 'there']);
  });

  it('gives random FP32 data that holds no NaN', async () => {
    const [s] = await prepareWarmupSamples(
      'm',
      dir,
      config({ data_type: 'TYPE_FP32', dims: [8] }, [sample({ data_type: 'TYPE_FP32', random_data: true }, {}, [8])]),
    );
    const a = contents(s!) as Float32Array;
    expect(a).toHaveLength(16);
    expect(a.every((v) => Number.isFinite(v) && v >= -1 && v <= 1)).toBe(true);
  });

  it('allocates nothing for zero_data or random_data: a large sample stays a recipe until the thread builds it', async () => {
    const dims = [4096, 2048]; // 32 MiB of FP32 if it were built here, on the I/O thread
    const [s] = await prepareWarmupSamples(
      'm',
      dir,
      config({ data_type: 'TYPE_FP32', dims }, [sample({ data_type: 'TYPE_FP32', random_data: true }, { batch_size: 1 }, dims)]),
    );
    expect(s!.inputs[0]).toEqual({ name: 'X', datatype: 'FP32', shape: [1, ...dims], fill: { kind: 'random' } });
  });

  it('leaves out the batch dim for a model that does not batch', async () => {
    const [s] = await prepareWarmupSamples('m', dir, config({ data_type: 'TYPE_INT32', dims: [3] }, [sample({ zero_data: true }, { batch_size: 1 })], 0));
    expect(s!.inputs[0]!.shape).toEqual([3]);
  });

  it.each<[string, object, string]>([
    ['a variable dim', sample({ zero_data: true }, {}, [-1]), "warmup setting expects all variable-size dimensions are specified for input 'X'"],
    ['a missing data file', sample({ input_data_file: 'absent' }), "unable to read input_data_file 'absent' of input 'X'"],
    ['a data file outside the warmup folder', sample({ input_data_file: '../outside' }), "must name a file inside the model's 'warmup' folder"],
    ['a data file too short', sample({ input_data_file: 'three_ints' }, {}, [5]), 'warmup setting expects 20 bytes, but the data provided from three_ints only has 16 bytes'],
    ['an input the model does not have', { name: 's', batch_size: 1, inputs: { Z: { data_type: 'TYPE_INT32', dims: [3], zero_data: true } } }, "unexpected inference input 'Z' for model 'm'"],
    ['a datatype the model does not take', sample({ data_type: 'TYPE_FP32', zero_data: true }), "inference input 'X' data-type is 'FP32', but model 'm' expects 'INT32'"],
  ])('refuses %s, naming the model and the sample', async (_, warmup, message) => {
    const promise = prepareWarmupSamples('m', dir, config({ data_type: 'TYPE_INT32', dims: [-1] }, [warmup]));
    await expect(promise).rejects.toThrow(`model 'm': warmup sample 's': `);
    await expect(promise).rejects.toThrow(message);
  });
});
