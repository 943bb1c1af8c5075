/**
 * The "naive deployment" the MLP benchmark compares scoreline with: what one writes without
 * a serving stack: express with express.json(), onnxruntime-node in the same process, each
 * request run on its own (no batching). `workers` cluster processes share the port, each
 * with its own session on one intra-op thread, so the workers together use every core
 * without oversubscribing them (the kindest configuration for this design).
 * Run as `node dist/bench/naive-server.js PORT WORKERS MODEL.onnx`.
 *
 *   POST /score {"data": [[x0, ..., x511]]}  →  {"result": [[y0, ..., y9]]}
 */
import cluster from 'node:cluster';
import { runPeerPrimary } from './cluster-peer';
import express from 'express';
import * as ort from 'onnxruntime-node';

const [portText, workersText, modelPath] = process.argv.slice(2) as [string, string, string];
const port = Number(portText);
const workers = Number(workersText);

async function worker(): Promise<void> {
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1, interOpNumThreads: 1, executionProviders: ['cpu'] });
  const [inputName] = session.inputNames as [string];
  const [outputName] = session.outputNames as [string];
  const app = express();
  app.post('/score', express.json({ limit: '10mb' }), async (req, res) => {
    const rows = (req.body as { data?: number[][] }).data;
    if (!Array.isArray(rows) || rows.length === 0 || !Array.isArray(rows[0])) {
      res.status(400).json({ message: 'expected {"data": [[...], ...]}' });
      return;
    }
    const features = rows[0].length;
    const input = new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, features]);
    const output = (await session.run({ [inputName]: input }))[outputName]!;
    const y = output.data as Float32Array;
    const width = y.length / rows.length;
    res.json({ result: rows.map((_, i) => Array.from(y.subarray(i * width, (i + 1) * width))) });
  });
  app.listen(port, '127.0.0.1');
}

if (cluster.isPrimary) {
  runPeerPrimary(workers, `naive server listening on 127.0.0.1:${port} with ${workers} workers`);
} else {
  worker().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
