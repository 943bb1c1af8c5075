/**
 * What onnxruntime-node does with string tensors and with a run that fails inside the
 * graph, seen through OnnxInstance (a real session in its own thread). The first part pins
 * down the behaviour request validation refuses around (NUL ends a string; text round-trips
 * exactly): if a later onnxruntime-node keeps NUL, this test says the refusal can go.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OnnxInstance } from '../../../src/engine/backend/onnx-instance';
import { InferenceError } from '../../../src/errors';
import { stringIdentity, unbroadcastableAdd } from '../../../tools/onnx/model-zoo';

let dir: string;
let strings: OnnxInstance;
let add: OnnxInstance;
const failures: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'scoreline-string-tensors-'));
  const start = async (name: string, bytes: Uint8Array) => {
    const modelPath = path.join(dir, `${name}.onnx`);
    await writeFile(modelPath, bytes);
    return OnnxInstance.create(
      { modelPath, executionProvider: 'cpu', deviceId: 0, intraOpNumThreads: 1, interOpNumThreads: 1 },
      { onRunFailure: (message) => failures.push(message) },
    );
  };
  strings = await start('strings', stringIdentity().bytes);
  add = await start('add', unbroadcastableAdd().bytes);
});

afterAll(async () => {
  await strings?.close();
  await add?.close();
  await rm(dir, { recursive: true, force: true });
});

async function echo(values: string[]): Promise<string[]> {
  const result = await strings.run([{ name: 'INPUT0', type: 'string', dims: [values.length, 1], data: values }], ['OUTPUT0']);
  return result.outputs[0]!.data as string[];
}

describe('onnxruntime-node string tensors', () => {
  test('text round-trips exactly: multibyte characters, U+FFFD itself, empty strings', async () => {
    const values = ['plain', 'é', '€ 10', '😀 four bytes', '\uFFFD', '', '日本語'];
    expect(await echo(values)).toEqual(values);
  });

  test('a string ends at its first NUL (why request validation refuses NUL in BYTES)', async () => {
    expect(await echo(['a\0b', '\0', 'x\0'])).toEqual(['a', '', 'x']);
  });
});

describe('a run that fails inside onnxruntime', () => {
  const feeds = (a: number, b: number) => [
    { name: 'A', type: 'float32', dims: [a], data: new Float32Array(a).fill(1) },
    { name: 'B', type: 'float32', dims: [b], data: new Float32Array(b).fill(2) },
  ];

  test("rejects with an InferenceError carrying onnxruntime's message, and the instance keeps running", async () => {
    const err = (await add.run(feeds(2, 3), ['SUM']).catch((e: unknown) => e)) as InferenceError;
    expect(err).toBeInstanceOf(InferenceError);
    expect(err.code).toBe('SCORELINE_INFERENCE_FAILED');
    expect(err.status).toBe(500);
    expect(err.message).toMatch(/^onnx runtime error: Non-zero status code returned while running Add node\. Name:'add' Status Message: /);
    expect(err.message).toContain('Attempting to broadcast an axis by a dimension other than 1. 2 by 3');
    // The hook (the engine's log) hears the same text, whole.
    expect(failures.at(-1)).toContain("Name:'add'");
    const ok = await add.run(feeds(3, 3), ['SUM']);
    expect(Array.from(ok.outputs[0]!.data as Float32Array)).toEqual([3, 3, 3]);
  });
});
