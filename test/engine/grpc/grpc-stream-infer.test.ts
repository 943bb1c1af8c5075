/**
 * ModelStreamInfer from the outside: `scoreline engine` from dist in a child process, a
 * @grpc/grpc-js client built from the package's own proto files writing to one
 * bidirectional stream as tritonclient's start_stream / async_stream_infer / stop_stream
 * do. One answer per request, in request order; a failed request is answered with
 * error_message and its id and the stream goes on; stream requests batch with ModelInfer
 * and HTTP requests; a cancelled stream's queued requests never run.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { MAX_STREAM_IN_FLIGHT } from '../../../src/engine/grpc/grpc-stream-infer';
import { configText, writeRepositoryModel } from '../../../tools/onnx/repository-writer';
import { makeTestRepository, testModels } from '../../fixtures/test-repository';
import { waitFor } from '../models/helpers/engine-http';
import { RunningEngine, startEngine } from '../../helpers/start-engine';
import { GrpcTestClient, GrpcTestStream, connectGrpc, int32Values } from './helpers/grpc-test-client';
import { emptyBytesContents, lengthDelimited, wireInferRequest, wireInput } from './helpers/wire-messages';
import { scrapedValue } from '../metrics/parse-prometheus';

 

let repo: string;
let engine: RunningEngine;
let client: GrpcTestClient;

const range = (n: number, f: (i: number) => number): number[] => Array.from({ length: n }, (_, i) => f(i));

/** An add_sub request (one row of 16): a = k*100 + i, b = k. */
function addSubRequest(model: string, k: number, extra: object = {}): object {
  return {
    model_name: model,
    id: `req-${k}`,
    inputs: [
      { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], contents: { int_contents: range(16, (i) => k * 100 + i) } },
      { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], contents: { int_contents: range(16, () => k) } },
    ],
    ...extra,
  };
}

/** The answer addSubRequest(k) must get: OUTPUT0 = a + b, OUTPUT1 = a - b, id req-k. */
function expectAddSub(answer: { error_message: string; infer_response: any }, model: string, k: number): void {
  expect(answer.error_message).toBe('');
  const r = answer.infer_response;
  expect(r).toMatchObject({ model_name: model, model_version: '1', id: `req-${k}` });
  expect(r.parameters).toEqual({ triton_final_response: { bool_param: true, parameter_choice: 'bool_param' } });
  expect(r.outputs.map((o: { name: string }) => o.name)).toEqual(['OUTPUT0', 'OUTPUT1']);
  expect(int32Values(r.raw_output_contents[0])).toEqual(range(16, (i) => k * 100 + i + k));
  expect(int32Values(r.raw_output_contents[1])).toEqual(range(16, (i) => k * 100 + i - k));
}

/** A failed request's answer: the message, and only its id in infer_response. */
function expectError(answer: { error_message: string; infer_response: any }, id: string, message: RegExp): void {
  expect(answer.error_message).toMatch(message);
  expect(answer.infer_response).toMatchObject({ id, model_name: '', outputs: [], raw_output_contents: [] });
}

const metric = (name: string, labels: Record<string, string>): Promise<number> => scrapedValue(engine.metricsUrl!, name, labels);

const statsOf = async (model: string) => (await client.rpc('ModelStatistics', { name: model })).model_stats[0];

beforeAll(async () => {
  repo = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-grpc-stream-'));
  await makeTestRepository(repo);
  // add_sub that waits up to 1 s to fill a batch of 8: requests stay queued long enough
  // to be batched with others or cancelled.
  for (const name of ['long_delay', 'cancel_delay']) {
    await writeRepositoryModel(repo, {
      name,
      versions: { 1: testModels().addSub.bytes },
      config: configText({
        name,
        maxBatchSize: 8,
        inputs: ['INPUT0', 'INPUT1'].map((n) => ({ name: n, datatype: 'INT32' as const, dims: [16] })),
        outputs: ['OUTPUT0', 'OUTPUT1'].map((n) => ({ name: n, datatype: 'INT32' as const, dims: [16] })),
        extra: ['dynamic_batching { max_queue_delay_microseconds: 1000000 preferred_batch_size: [ 8 ] }', 'instance_group [{ count: 1, kind: KIND_CPU }]'],
      }),
    });
  }
  const models = ['add_sub', 'long_delay', 'cancel_delay'];
  engine = await startEngine({ modelRepository: repo, args: ['--model-control-mode=explicit', ...models.map((m) => `--load-model=${m}`)] });
  client = connectGrpc(engine.grpcUrl!);
});

/** A stream the client never half-closes (see the last test): the engine's shutdown ends it. */
let leftOpen: GrpcTestStream | undefined;

afterAll(async () => {
  const code = await engine?.stop();
  client?.close();
  await fs.rm(repo, { recursive: true, force: true });
  expect(code).toBe(0);
  if (leftOpen) expect(await leftOpen.ended).toMatchObject({ code: status.OK });
});

describe('ModelStreamInfer', () => {
  it('answers a stream of valid and invalid requests one by one, in order, and stays usable after each error', async () => {
    const stream = client.openStream();
    const requests: Array<[object | Buffer, (a: any) => void]> = [
      [addSubRequest('add_sub', 1), (a) => expectAddSub(a, 'add_sub', 1)],
      [addSubRequest('nope', 2), (a) => expectError(a, 'req-2', /^Request for unknown model: 'nope' is not found$/)],
      [addSubRequest('add_sub', 3), (a) => expectAddSub(a, 'add_sub', 3)],
      [addSubRequest('add_sub', 4, { model_version: '9' }), (a) => expectError(a, 'req-4', /^Request for unknown model: 'add_sub' version 9 is not found$/)],
      [
        { ...addSubRequest('add_sub', 5), inputs: [0, 1].map((i) => ({ name: `INPUT${i}`, datatype: 'FP32', shape: [1, 16], contents: { fp32_contents: range(16, () => 1) } })) },
        (a) => expectError(a, 'req-5', /inference input 'INPUT0' data-type is 'FP32', but model 'add_sub' expects 'INT32'/),
      ],
      [addSubRequest('add_sub', 6, { parameters: { triton_enable_empty_final_response: { bool_param: true } } }), (a) => expectAddSub(a, 'add_sub', 6)],
      [addSubRequest('add_sub', 7, { parameters: { triton_x: { bool_param: true } } }), (a) => expectError(a, 'req-7', /keys starting with 'triton_' are reserved/)],
      // Refused by the wire check before decoding (more contents elements than the shape
      // holds), answered with the id read from the wire.
      [
        Buffer.concat([wireInferRequest('add_sub', [wireInput('INPUT0', 'BYTES', [1, 1], emptyBytesContents(5))]), lengthDelimited(3, Buffer.from('req-8'))]),
        (a) => expectError(a, 'req-8', /^input 'INPUT0': contents.bytes_contents holds more than the 1 elements the shape needs$/),
      ],
      // Not a ModelInferRequest at all: inputs (field 5) claims 5 bytes and 2 follow.
      [Buffer.from([0x2a, 0x05, 0x0a, 0x10]), (a) => expectError(a, '', /^ModelInferRequest cannot be decoded: index out of range/)],
      [addSubRequest('add_sub', 10), (a) => expectAddSub(a, 'add_sub', 10)],
    ];
    for (const [message] of requests) stream.send(message);
    const answers = await stream.next(requests.length);
    answers.forEach((a, i) => requests[i]![1](a));

    // Still open: another request after the errors, then stop_stream ends it with OK.
    stream.send(addSubRequest('add_sub', 11));
    expectAddSub((await stream.next(1))[0]!, 'add_sub', 11);
    expect(await stream.end()).toMatchObject({ code: status.OK });
  });

  it(`answers ${3 * MAX_STREAM_IN_FLIGHT} requests written at once, past the stream's in-flight bound (${MAX_STREAM_IN_FLIGHT}), all in order`, async () => {
    const stream = client.openStream();
    const n = 3 * MAX_STREAM_IN_FLIGHT;
    for (let k = 0; k < n; k++) stream.send(addSubRequest('add_sub', k));
    const answers = await stream.next(n);
    answers.forEach((a, k) => expectAddSub(a, 'add_sub', k));
    expect(await stream.end()).toMatchObject({ code: status.OK });
  }, 30_000);

  it('answers in request order even when a later request finishes first', async () => {
    const stream = client.openStream();
    // long_delay waits up to 1 s for a batch; add_sub (2 ms) would finish long before it.
    stream.send(addSubRequest('long_delay', 1));
    stream.send(addSubRequest('add_sub', 2));
    const [first, second] = await stream.next(2);
    expectAddSub(first!, 'long_delay', 1);
    expectAddSub(second!, 'add_sub', 2);
    await stream.end();
  });

  it("batches a stream's requests with ModelInfer requests: 4 + 4 rows to a model that waits for 8 run as one execution", async () => {
    const before = await statsOf('long_delay');
    const stream = client.openStream();
    for (let k = 0; k < 4; k++) stream.send(addSubRequest('long_delay', k));
    const unary = Array.from({ length: 4 }, (_, i) => client.rpc('ModelInfer', addSubRequest('long_delay', 4 + i)));
    const answers = await stream.next(4);
    answers.forEach((a, k) => expectAddSub(a, 'long_delay', k));
    (await Promise.all(unary)).forEach((r: any, i) => expect(int32Values(r.raw_output_contents[0])).toEqual(range(16, (j) => (4 + i) * 101 + j)));
    await stream.end();
    const after = await statsOf('long_delay');
    expect(after.inference_count - before.inference_count).toBe(8);
    expect(after.execution_count - before.execution_count).toBe(1);
  });

  it('drops the queued requests of a cancelled stream before they run, and goes on serving', async () => {
    const model = 'cancel_delay';
    const before = await statsOf(model);
    const stream = client.openStream();
    stream.send(addSubRequest(model, 1));
    stream.send(addSubRequest(model, 2));
    await waitFor('2 requests queued', async () => (await metric('nv_inference_pending_request_count', { model })) >= 2);
    stream.cancel();
    expect((await stream.ended).code).toBe(status.CANCELLED);

    // A request after the cancel runs alone once the delay has passed: the cancelled two never joined it.
    const control = await client.rpc('ModelInfer', addSubRequest(model, 3));
    expect(int32Values(control.raw_output_contents[0])).toEqual(range(16, (i) => 303 + i));
    const after = await statsOf(model);
    expect(after.inference_count - before.inference_count).toBe(1);
    expect(after.execution_count - before.execution_count).toBe(1);
    await waitFor('2 CANCELED failures', async () => (await metric('nv_inference_request_failure', { model, reason: 'CANCELED' })) === 2, 5_000);

    // And a new stream is served.
    const next = client.openStream();
    next.send(addSubRequest('add_sub', 4));
    expectAddSub((await next.next(1))[0]!, 'add_sub', 4);
    await next.end();
  }, 20_000);

  it('does not hold the engine open at shutdown: a stream the client leaves open is answered and ended (checked after stop)', async () => {
    leftOpen = client.openStream();
    leftOpen.send(addSubRequest('add_sub', 12));
    expectAddSub((await leftOpen.next(1))[0]!, 'add_sub', 12);
  });
});
