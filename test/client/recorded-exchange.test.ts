/**
 * Triton wire compatibility without a Triton server. The request side pins the exact bytes
 * the client puts on the wire. They were worked out from tritonclient.http's source
 * (_get_inference_request, InferInput._get_tensor, InferRequestedOutput): python-rapidjson's
 * compact output, keys in its order (id, inputs, outputs, parameters; name, shape, datatype,
 * parameters, data; classification before binary_data), binary inputs in input order, and
 * Inference-Header-Content-Length only when binary data follows. The response side replays
 * responses framed as Triton's HTTP endpoint frames them (JSON header of
 * Inference-Header-Content-Length bytes, then the binary outputs in output order).
 */
import {
  InferInput,
  InferRequestedOutput,
  InferenceServerClient,
  InferenceServerError,
  float16BitsToFloat32,
} from '../../src/client';
import { RecordingServer, startRecordingServer } from './helpers/recording-server';
import { clientOf, TRANSPORTS } from './helpers/client-of';

describe.each(TRANSPORTS)('over the %s transport', (transport) => {
  const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

  let server: RecordingServer;
  let client: InferenceServerClient;

  beforeAll(async () => {
    server = await startRecordingServer();
    client = clientOf(transport, { url: `127.0.0.1:${server.port}` });
  });

  afterAll(async () => {
    await client.close();
    await server.close();
  });

  beforeEach(() => {
    server.requests.length = 0;
  });

  /** A binary response as Triton frames it. */
  function binaryResponse(header: string, binary: Buffer) {
    return {
      status: 200,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(Buffer.byteLength(header)) },
      body: Buffer.concat([Buffer.from(header), binary]),
    };
  }

  const SIMPLE_RESPONSE = binaryResponse(
    '{"model_name":"simple","model_version":"1","outputs":[' +
      '{"name":"OUTPUT0","datatype":"INT32","shape":[1,4],"parameters":{"binary_data_size":16}}]}',
    hex('02000000 04000000 06000000 feffffff'),
  );

  describe('a binary inference request', () => {
    it('is byte for byte what tritonclient.http sends, headers included', async () => {
      server.reply(() => SIMPLE_RESPONSE);
      const inputs = [
        new InferInput('INPUT0', [1, 4], 'INT32').setData(new Int32Array([1, 2, 3, -1])),
        new InferInput('INPUT1', [2], 'BYTES').setData(['ab', Buffer.from([0xff])]),
        new InferInput('INPUT2', [2], 'FP32').setData([0.5, -2.5], { binaryData: false }),
      ];
      const outputs = [new InferRequestedOutput('OUTPUT0'), new InferRequestedOutput('OUTPUT1', { binaryData: false, classCount: 2 })];

      await client.infer('simple', inputs, {
        modelVersion: '1',
        outputs,
        requestId: 'req-7',
        priority: 2,
        timeout: 5000,
        parameters: { custom: 'x' },
        queryParams: { trace: 'on' },
      });

      const json =
        '{"id":"req-7","inputs":[' +
        '{"name":"INPUT0","shape":[1,4],"datatype":"INT32","parameters":{"binary_data_size":16}},' +
        '{"name":"INPUT1","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":11}},' +
        '{"name":"INPUT2","shape":[2],"datatype":"FP32","data":[0.5,-2.5]}],' +
        '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}},' +
        '{"name":"OUTPUT1","parameters":{"classification":2,"binary_data":false}}],' +
        '"parameters":{"priority":2,"timeout":5000,"custom":"x"}}';
      const binary = hex(`
        01000000 02000000 03000000 ffffffff
        02000000 6162 01000000 ff`);
      const [req] = server.requests;
      expect(req!.method).toBe('POST');
      expect(req!.url).toBe('/v2/models/simple/versions/1/infer?trace=on');
      expect(req!.body.subarray(0, json.length).toString()).toBe(json);
      expect(req!.body).toEqual(Buffer.concat([Buffer.from(json), binary]));
      expect(req!.headers['inference-header-content-length']).toBe(String(json.length));
      expect(req!.headers['content-length']).toBe(String(json.length + binary.length));
      expect(req!.headers['content-type']).toBe('application/octet-stream');
      expect(req!.headers['transfer-encoding']).toBeUndefined();
    });

    it('asks for every output in binary when no outputs are requested', async () => {
      server.reply(() => SIMPLE_RESPONSE);
      await client.infer('simple', [new InferInput('INPUT0', [2], 'FP32').setData(new Float32Array([1.5, -1]))]);
      const json =
        '{"inputs":[{"name":"INPUT0","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":8}}],' +
        '"parameters":{"binary_data_output":true}}';
      expect(server.requests[0]!.url).toBe('/v2/models/simple/infer');
      expect(server.requests[0]!.body).toEqual(Buffer.concat([Buffer.from(json), hex('0000c03f 000080bf')]));
    });

    it('sends an all-JSON body without Inference-Header-Content-Length', async () => {
      server.reply(() => SIMPLE_RESPONSE);
      await client.infer('simple', [new InferInput('IN', [3], 'INT64').setData([1, -2, 9007199254740991], { binaryData: false })], {
        outputs: [new InferRequestedOutput('OUTPUT0', { binaryData: false })],
      });
      const [req] = server.requests;
      expect(req!.body.toString()).toBe(
        '{"inputs":[{"name":"IN","shape":[3],"datatype":"INT64","data":[1,-2,9007199254740991]}],' +
          '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":false}}]}',
      );
      expect(req!.headers['inference-header-content-length']).toBeUndefined();
      expect(req!.headers['content-type']).toBe('application/json');
    });

    it('streams a large body in pieces under a Content-Length, never chunked', async () => {
      server.reply(() => SIMPLE_RESPONSE);
      const big = new Float32Array(100_000).map((_, i) => i);
      const small = new Int8Array([7, -7]);
      await client.infer('simple', [new InferInput('A', [100_000], 'FP32').setData(big), new InferInput('B', [2], 'INT8').setData(small)]);
      const [req] = server.requests;
      const headerLength = Number(req!.headers['inference-header-content-length']);
      expect(req!.headers['transfer-encoding']).toBeUndefined();
      expect(Number(req!.headers['content-length'])).toBe(headerLength + 400_000 + 2);
      expect(req!.body.subarray(headerLength, headerLength + 400_000).equals(Buffer.from(big.buffer))).toBe(true);
      expect(req!.body.subarray(headerLength + 400_000)).toEqual(hex('07f9'));
    });
  });

  describe('a binary inference response', () => {
    const header =
      '{"model_name":"simple","model_version":"1","id":"req-7","outputs":[' +
      '{"name":"OUTPUT0","datatype":"INT32","shape":[1,4],"parameters":{"binary_data_size":16}},' +
      '{"name":"OUTPUT1","datatype":"BYTES","shape":[1,2],"data":["0.9:3:cat","0.1:1:dog"]},' +
      '{"name":"OUTPUT2","datatype":"FP16","shape":[2],"parameters":{"binary_data_size":4}},' +
      '{"name":"OUTPUT3","datatype":"BYTES","shape":[2],"parameters":{"binary_data_size":11}},' +
      '{"name":"OUTPUT4","datatype":"FP64","shape":[1],"parameters":{"binary_data_size":8}}]}';
    const binary = hex(`
      02000000 04000000 06000000 feffffff
      003c 00c0
      02000000 6869 01000000 ff
      000000000000f03f`);

    it('parses every output by its binary_data_size, mixed with JSON outputs', async () => {
      server.reply(() => binaryResponse(header, binary));
      const result = await client.infer('simple', [new InferInput('INPUT0', [1], 'INT32').setData([1])]);

      expect(result.getResponse()).toMatchObject({ model_name: 'simple', model_version: '1', id: 'req-7' });
      expect(result.getOutput('OUTPUT0')).toEqual({ name: 'OUTPUT0', datatype: 'INT32', shape: [1, 4], parameters: { binary_data_size: 16 } });
      expect(result.asTypedArray('OUTPUT0')).toEqual(new Int32Array([2, 4, 6, -2]));
      expect(result.asTypedArray('OUTPUT1', { bytesAs: 'string' })).toEqual(['0.9:3:cat', '0.1:1:dog']);
      expect(result.asTypedArray('OUTPUT3')).toEqual([Buffer.from('hi'), Buffer.from([0xff])]);
      // The header length is odd, so this FP64 sits misaligned in the body and is copied.
      expect(result.asTypedArray('OUTPUT4')).toEqual(new Float64Array([1]));
      expect(result.getOutput('missing')).toBeUndefined();
    });

    it('refuses to guess at FP16 but hands out its bits on request', async () => {
      server.reply(() => binaryResponse(header, binary));
      const result = await client.infer('simple', [new InferInput('INPUT0', [1], 'INT32').setData([1])]);
      expect(() => result.asTypedArray('OUTPUT2')).toThrow(/OUTPUT2' is FP16.*raw: true/);
      const bits = result.asTypedArray<Uint16Array>('OUTPUT2', { raw: true });
      expect(bits).toEqual(new Uint16Array([0x3c00, 0xc000]));
      expect(Array.from(bits, float16BitsToFloat32)).toEqual([1, -2]);
    });

    it('names the outputs that exist when asked for one that does not', async () => {
      server.reply(() => SIMPLE_RESPONSE);
      const result = await client.infer('simple', [new InferInput('INPUT0', [1], 'INT32').setData([1])]);
      expect(() => result.asTypedArray('nope')).toThrow("output 'nope' is not in the response (outputs: 'OUTPUT0')");
    });

    it.each([
      ['binary data runs past the end', binaryResponse(header, binary.subarray(0, 20))],
      ['more binary data than outputs claim', binaryResponse(header, Buffer.concat([binary, hex('00')]))],
      ['no outputs array', binaryResponse('{"model_name":"simple"}', Buffer.alloc(0))],
      ['a header length beyond the body', { status: 200, headers: { 'inference-header-content-length': '9999' }, body: '{}' }],
    ])('is rejected as malformed (502) when it has %s', async (_, reply) => {
      server.reply(() => reply);
      const call = client.infer('simple', [new InferInput('INPUT0', [1], 'INT32').setData([1])]);
      await expect(call).rejects.toMatchObject({ code: 'SCORELINE_SERVER_ERROR', status: 502, message: /malformed inference response/ });
    });
  });

  describe('server errors', () => {
    it.each([
      [400, '{"error":"unexpected inference input \'X\' for model \'simple\'"}', "unexpected inference input 'X' for model 'simple'"],
      [503, '{"error":"Exceeds maximum queue size"}', 'Exceeds maximum queue size'],
      [500, '', 'client received an empty response from the server.'],
      [502, '<html>bad gateway</html>', 'HTTP 502: <html>bad gateway</html>'],
    ])('surface a %i with the server message', async (status, body, message) => {
      server.reply(() => ({ status, body }));
      const call = client.infer('simple', [new InferInput('INPUT0', [1], 'INT32').setData([1])]);
      await expect(call).rejects.toThrow(InferenceServerError);
      await expect(client.infer('simple', [new InferInput('INPUT0', [1], 'INT32').setData([1])])).rejects.toMatchObject({
        code: 'SCORELINE_SERVER_ERROR',
        status,
        message,
      });
    });
  });

  describe('the other endpoints', () => {
    it.each<[string, string, string, string, (c: InferenceServerClient) => Promise<unknown>]>([
      ['isServerLive', 'GET', '/v2/health/live', '', (c) => c.isServerLive()],
      ['isServerReady', 'GET', '/v2/health/ready', '', (c) => c.isServerReady()],
      ['isModelReady', 'GET', '/v2/models/m%20x/ready', '', (c) => c.isModelReady('m x')],
      ['isModelReady (version 2)', 'GET', '/v2/models/m/versions/2/ready', '', (c) => c.isModelReady('m', { modelVersion: 2 })],
      ['getServerMetadata', 'GET', '/v2', '', (c) => c.getServerMetadata()],
      ['getModelMetadata (version 3)', 'GET', '/v2/models/m/versions/3', '', (c) => c.getModelMetadata('m', { modelVersion: '3' })],
      ['getModelConfig', 'GET', '/v2/models/m/config', '', (c) => c.getModelConfig('m')],
      ['getModelRepositoryIndex', 'POST', '/v2/repository/index', '', (c) => c.getModelRepositoryIndex()],
      ['loadModel', 'POST', '/v2/repository/models/m/load', '{}', (c) => c.loadModel('m')],
      [
        'loadModel with a config',
        'POST',
        '/v2/repository/models/m/load',
        '{"parameters":{"config":"{\\"max_batch_size\\":2}"}}',
        (c) => c.loadModel('m', { config: { max_batch_size: 2 } }),
      ],
      ['unloadModel', 'POST', '/v2/repository/models/m/unload', '{"parameters":{"unload_dependents":false}}', (c) => c.unloadModel('m')],
      ['getInferenceStatistics (all models)', 'GET', '/v2/models/stats', '', (c) => c.getInferenceStatistics()],
      [
        'getInferenceStatistics (one version)',
        'GET',
        '/v2/models/m/versions/1/stats',
        '',
        (c) => c.getInferenceStatistics('m', { modelVersion: '1' }),
      ],
      [
        'queryParams, encoded as tritonclient encodes them,',
        'GET',
        '/v2?a=x+y&b=1&b=2',
        '',
        (c) => c.getServerMetadata({ queryParams: { a: 'x y', b: [1, 2] } }),
      ],
    ])('%s sends %s %s with body %j', async (_, method, url, body, call) => {
      server.reply(() => ({ status: 200, body: '[]' }));
      await call(client);
      const [req] = server.requests;
      expect([req!.method, req!.url, req!.body.toString()]).toEqual([method, url, body]);
    });

    it('sends per-call headers and the client-wide ones', async () => {
      const withHeaders = clientOf(transport, { url: server.url, headers: { Authorization: 'Bearer k' } });
      try {
        await withHeaders.isServerLive({ headers: { 'X-Trace': 't1' } });
        expect(server.requests[0]!.headers).toMatchObject({ authorization: 'Bearer k', 'x-trace': 't1' });
      } finally {
        await withHeaders.close();
      }
    });

    it('reports not-live and not-ready as false rather than an error', async () => {
      server.reply(() => ({ status: 503, body: '{"error":"not ready"}' }));
      await expect(client.isServerLive()).resolves.toBe(false);
      await expect(client.isServerReady()).resolves.toBe(false);
      await expect(client.isModelReady('m')).resolves.toBe(false);
    });

    it('prefixes the base path of a url like host:port/base', async () => {
      const based = clientOf(transport, `127.0.0.1:${server.port}/triton/`);
      try {
        await based.isServerLive();
        expect(server.requests[0]!.url).toBe('/triton/v2/health/live');
      } finally {
        await based.close();
      }
    });
  });
});
