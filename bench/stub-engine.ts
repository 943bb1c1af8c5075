/**
 * The MLP benchmark's ceiling for the front end: a KServe v2 stub that serves the bench
 * model's metadata and config and answers every infer at once with zeros of the right shape
 * (no model runs). `scoreline serve --engine-url` on it measures what the front end, the
 * worker's client and the HTTP hop cost on their own; the gap between it and the real
 * engine is the model's share of the two cores (its compute, and the memory traffic that
 * slows every process beside it).
 *
 * Run as `node dist/bench/stub-engine.js PORT MODEL INPUT_WIDTH OUTPUT_WIDTH MAX_BATCH_SIZE`;
 * prints "stub engine listening" once it listens.
 */
import http from 'node:http';
import { INFERENCE_HEADER_CONTENT_LENGTH, joinInferenceBody } from '../src/tensor';

const [portText, model, inputText, outputText, maxBatchText] = process.argv.slice(2) as [string, string, string, string, string];
const [inputWidth, outputWidth, maxBatchSize] = [inputText, outputText, maxBatchText].map(Number) as [number, number, number];

const metadata = {
  name: model,
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, inputWidth] }],
  outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, outputWidth] }],
};
const config = { name: model, platform: 'onnxruntime_onnx', max_batch_size: maxBatchSize };

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}

/** Zeros for every row of the request's first input, as a binary KServe response. */
function inferResponse(res: http.ServerResponse, body: Buffer, headerLength: number): void {
  const header = JSON.parse(body.subarray(0, headerLength).toString('utf8')) as { inputs: { shape: number[] }[] };
  const rows = header.inputs[0]!.shape[0]!;
  const zeros = new Uint8Array(rows * outputWidth * 4);
  const json = JSON.stringify({
    model_name: model,
    model_version: '1',
    outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [rows, outputWidth], parameters: { binary_data_size: zeros.byteLength } }],
  });
  const { parts, headerLength: length, byteLength } = joinInferenceBody(json, [zeros]);
  res.writeHead(200, { 'content-type': 'application/octet-stream', [INFERENCE_HEADER_CONTENT_LENGTH]: String(length), 'content-length': String(byteLength) });
  res.end(Buffer.concat(parts, byteLength));
}

http
  .createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = req.url ?? '/';
      if (url === '/v2/health/ready' || url === '/v2/health/live') res.writeHead(200, { 'content-length': '0' }).end();
      else if (url === '/v2/repository/index') sendJson(res, 200, [{ name: model, version: '1', state: 'READY' }]);
      else if (url === `/v2/models/${model}`) sendJson(res, 200, metadata);
      else if (url === `/v2/models/${model}/config`) sendJson(res, 200, config);
      else if (url === `/v2/models/${model}/ready`) res.writeHead(200, { 'content-length': '0' }).end();
      else if (url === `/v2/models/${model}/infer` && req.method === 'POST') {
        inferResponse(res, Buffer.concat(chunks), Number(req.headers[INFERENCE_HEADER_CONTENT_LENGTH]));
      } else sendJson(res, 404, { error: `the stub engine does not serve ${req.method} ${url}` });
    });
  })
  .listen(Number(portText), '127.0.0.1', () => console.log(`stub engine listening on 127.0.0.1:${portText}`));
