/**
 * A warmup sample's BYTES data file feeds an onnxruntime string tensor too: elements it
 * would alter (not UTF-8, or holding NUL) fail the load with a message naming the file, the
 * input and the element, instead of warming the model up on other bytes than the file's.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ModelConfig, validateModelConfig } from '../../../src/engine/config/model-config';
import { prepareWarmupSamples } from '../../../src/engine/models/model-warmup';
import { encodeBytesElements } from '../../../src/tensor/bytes-elements';

let dir: string;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-warmup-text-'));
  await fs.mkdir(path.join(dir, 'warmup'));
  await fs.writeFile(path.join(dir, 'warmup', 'text'), encodeBytesElements([Buffer.from('héllo'), Buffer.from('😀')]));
  await fs.writeFile(path.join(dir, 'warmup', 'latin1'), encodeBytesElements([Buffer.from('ok'), Buffer.from([0x68, 0xe9])]));
  await fs.writeFile(path.join(dir, 'warmup', 'nul'), encodeBytesElements([Buffer.from('a\0b'), Buffer.from('ok')]));
});

afterAll(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function config(file: string): ModelConfig {
  return validateModelConfig(
    {
      name: 'm',
      max_batch_size: 0,
      input: [{ name: 'TEXT', data_type: 'TYPE_STRING', dims: [2] }],
      output: [{ name: 'OUT', data_type: 'TYPE_STRING', dims: [2] }],
      model_warmup: [{ name: 's', batch_size: 1, inputs: { TEXT: { data_type: 'TYPE_STRING', dims: [2], input_data_file: file } } }],
    },
    'm',
  ) as ModelConfig;
}

test('a file of UTF-8 text is read as it is', async () => {
  const [s] = await prepareWarmupSamples('m', dir, config('text'));
  expect(s!.inputs[0]!.fill).toEqual({ kind: 'elements', elements: [Buffer.from('héllo'), Buffer.from('😀')] });
});

test.each([
  ['latin1', "model 'm': warmup sample 's': input_data_file 'latin1' of input 'TEXT': element 1 of BYTES is not valid UTF-8 (onnxruntime string tensors hold text); the file must hold UTF-8 text without NUL"],
  ['nul', "model 'm': warmup sample 's': input_data_file 'nul' of input 'TEXT': element 0 of BYTES holds a NUL byte (onnxruntime-node string tensors end at the first NUL); the file must hold UTF-8 text without NUL"],
])('a file with an element a string tensor would alter (%s) fails the load, naming file, input and element', async (file, message) => {
  await expect(prepareWarmupSamples('m', dir, config(file))).rejects.toThrow(message);
});
