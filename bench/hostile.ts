/**
 * `npm run bench:hostile`: what one hostile request costs a server (issue 20's probes).
 * Each probe runs against a fresh server (a fresh engine, or `scoreline serve` with
 * scoring/score.ts and one worker, for the /score probe), so every figure starts from the
 * same baseline:
 *
 *   status and time to the whole answer (or "no answer in 60 s": wedged; "died")
 *   peak RSS growth of the engine (the worker for /score), and that ÷ the request's size
 *   the longest wait of a liveness probe polled every 10 ms meanwhile (event-loop stall)
 *   where it makes sense, the same for a same-size request the server accepts, and the
 *   refused request's memory growth ÷ the accepted one's
 *
 * Environment: BENCH_HOSTILE_QUICK=1 (bodies an eighth the size: a check that it works),
 * BENCH_HOSTILE_TIMEOUT_S (60), BENCH_HOSTILE_CEILING_MIB (6144: past this RSS the measured
 * process is killed and the probe reported so), BENCH_HOSTILE_ONLY (a substring of probe names).
 * Writes bench/results/hostile.md (quick: hostile-quick.md) and prints it.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { addSub, identityAll, mlp, stringIdentity } from '../tools/onnx/model-zoo';
import { configText, writeRepositoryModel } from '../tools/onnx/repository-writer';
import { RESULTS_DIR, progress } from './bench-load';
import { validConfigJson } from './hostile-config';
import { MiB, grpcInfer, httpPost, measure, modelInferMessage, type Answer, type Measurement } from './hostile-measure';
import { startEngine, startServe, type HostileServer } from './hostile-servers';

const TAG = 'bench:hostile';
const QUICK = process.env.BENCH_HOSTILE_QUICK === '1';
const SCALE = QUICK ? 1 / 8 : 1;
const TIMEOUT_MS = Number(process.env.BENCH_HOSTILE_TIMEOUT_S ?? 60) * 1000;
const CEILING = Number(process.env.BENCH_HOSTILE_CEILING_MIB ?? 6144) * MiB;
const ONLY = process.env.BENCH_HOSTILE_ONLY;
/** Just under the engine's default --http-max-input-size (64 MiB), so the body is read, not refused by size. */
const BODY = Math.floor(64 * MiB * SCALE) - 4096;

type Target = 'engine' | 'serve';

interface Request {
  target: Target;
  bytes: number;
  send(server: HostileServer, signal: AbortSignal): Promise<Answer>;
}

interface Probe {
  name: string;
  probe: () => Request;
  /** A request of the same size the server accepts, for comparison. */
  accepted?: () => Request;
}

const list = (n: number, item: string): string => (n === 0 ? '' : `${item},`.repeat(n - 1) + item);
const JSON_HEADERS = { 'content-type': 'application/json' };

function jsonInfer(model: string, text: string): Request {
  const body = Buffer.from(text);
  return { target: 'engine', bytes: body.length, send: (s, signal) => httpPost(`${s.url}/v2/models/${model}/infer`, body, JSON_HEADERS, signal) };
}

function binaryInfer(model: string, head: object, binary: Buffer): Request {
  const json = Buffer.from(JSON.stringify(head));
  const body = Buffer.concat([json, binary]);
  const headers = { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.length) };
  return { target: 'engine', bytes: body.length, send: (s, signal) => httpPost(`${s.url}/v2/models/${model}/infer`, body, headers, signal) };
}

function grpc(message: object): Request {
  const bytes = modelInferMessage(message);
  return { target: 'engine', bytes: bytes.length, send: (s, signal) => grpcInfer(s.grpcAddress!, bytes, signal) };
}

function loadOverride(configText: string): Request {
  const body = Buffer.from(JSON.stringify({ parameters: { config: configText } }));
  return { target: 'engine', bytes: body.length, send: (s, signal) => httpPost(`${s.url}/v2/repository/models/add_sub/load`, body, JSON_HEADERS, signal) };
}

function override(edit: (config: Record<string, any>) => void): Request {
  const config = validConfigJson();
  edit(config);
  return loadOverride(JSON.stringify(config));
}

/** One BYTES element of `size` bytes, as KServe JSON: a string of that many 'x'. */
const oneString = (size: number): string => `{"inputs":[{"name":"INPUT_STRING","datatype":"BYTES","shape":[1,1],"data":["${'x'.repeat(size)}"]}],"parameters":{"binary_data_output":true}}`;

 
const PROBES: Probe[] = [
  {
    name: '64 MiB flat INT32 JSON, shape [1,16] (a lie)',
    probe: () => {
      const n = Math.floor((BODY - 200) / 2);
      return jsonInfer('ident_int32', `{"inputs":[{"name":"INPUT_INT32","datatype":"INT32","shape":[1,16],"data":[${list(n, '0')}]}]}`);
    },
    // The same size with a true shape: 9-digit values, so that the decoded tensor (4 bytes a value) fits
    // under --http-max-input-size as well as the body does (2-byte `0,` values would decode to twice the body).
    accepted: () => {
      const n = Math.floor((BODY - 200) / 10);
      return jsonInfer('ident_int32', `{"inputs":[{"name":"INPUT_INT32","datatype":"INT32","shape":[1,${n}],"data":[${list(n, '123456789')}]}],"parameters":{"binary_data_output":true}}`);
    },
  },
  {
    name: '64 MiB of zero-length BYTES elements, JSON',
    probe: () => {
      const n = Math.floor((BODY - 200) / 3);
      return jsonInfer('ident_bytes', `{"inputs":[{"name":"INPUT_STRING","datatype":"BYTES","shape":[1,${n}],"data":[${list(n, '""')}]}],"parameters":{"binary_data_output":true}}`);
    },
    accepted: () => jsonInfer('ident_bytes', oneString(BODY - 200)),
  },
  {
    name: '64 MiB of zero-length BYTES elements, binary',
    probe: () => {
      const n = Math.floor((BODY - 300) / 4);
      return binaryInfer('ident_bytes', { inputs: [{ name: 'INPUT_STRING', datatype: 'BYTES', shape: [1, n], parameters: { binary_data_size: 4 * n } }], parameters: { binary_data_output: true } }, Buffer.alloc(4 * n));
    },
    accepted: () => {
      const size = BODY - 304;
      const element = Buffer.alloc(4 + size, 0x78);
      element.writeUInt32LE(size, 0);
      return binaryInfer('ident_bytes', { inputs: [{ name: 'INPUT_STRING', datatype: 'BYTES', shape: [1, 1], parameters: { binary_data_size: element.length } }], parameters: { binary_data_output: true } }, element);
    },
  },
  {
    name: `${(2.2 * SCALE).toFixed(2)}M repeated outputs`,
    probe: () => jsonInfer('ident_int32', `{"inputs":[{"name":"INPUT_INT32","datatype":"INT32","shape":[1,1],"data":[1]}],"outputs":[${list(Math.floor(2_200_000 * SCALE), '{"name":"OUTPUT_INT32"}')}]}`),
  },
  {
    name: `/score: ${Math.round(60 * SCALE)} MB of empty arrays`,
    probe: () => {
      const body = Buffer.from(`{"model":"mlp","data":[${list(Math.floor((60e6 * SCALE) / 3), '[]')}]}`);
      return { target: 'serve', bytes: body.length, send: (s, signal) => httpPost(`${s.url}/score`, body, JSON_HEADERS, signal) };
    },
  },
  {
    name: 'gRPC: 64 MiB of zero-length BYTES in raw_input_contents',
    probe: () => {
      const n = Math.floor((BODY - 100) / 4);
      return grpc({ model_name: 'ident_bytes', inputs: [{ name: 'INPUT_STRING', datatype: 'BYTES', shape: [1, n] }], raw_input_contents: [Buffer.alloc(4 * n)] });
    },
    accepted: () => {
      const size = BODY - 104;
      const element = Buffer.alloc(4 + size, 0x78);
      element.writeUInt32LE(size, 0);
      return grpc({ model_name: 'ident_bytes', inputs: [{ name: 'INPUT_STRING', datatype: 'BYTES', shape: [1, 1] }], raw_input_contents: [element] });
    },
  },
  {
    name: 'gRPC: an 80 MiB message',
    probe: () => {
      const size = Math.floor(80 * MiB * SCALE);
      const element = Buffer.alloc(4 + size, 0x78);
      element.writeUInt32LE(size, 0);
      return grpc({ model_name: 'ident_bytes', inputs: [{ name: 'INPUT_STRING', datatype: 'BYTES', shape: [1, 1] }], raw_input_contents: [element] });
    },
  },
  { name: 'load override: instance_group count 2^31−1', probe: () => override((c) => (c.instance_group[0].count = 2 ** 31 - 1)), accepted: () => override(() => undefined) },
  { name: 'load override: priority_levels 5e7', probe: () => override((c) => (c.dynamic_batching.priority_levels = 5e7)), accepted: () => override(() => undefined) },
  { name: 'load override: intra_op_thread_count 1e5', probe: () => override((c) => (c.parameters.intra_op_thread_count.string_value = '100000')), accepted: () => override(() => undefined) },
  { name: 'load override: model_warmup count 2^32−1', probe: () => override((c) => (c.model_warmup[0].count = 2 ** 32 - 1)), accepted: () => override(() => undefined) },
  {
    name: 'load override: config nested 300 000 deep',
    probe: () => {
      const depth = Math.floor(300_000 * SCALE);
      return loadOverride(JSON.stringify(validConfigJson()).replace('"parameters":{', `"parameters":{"x":{"string_value":${'['.repeat(depth)}${']'.repeat(depth)}},`));
    },
    accepted: () => override(() => undefined),
  },
];

async function writeRepository(dir: string): Promise<void> {
  await writeRepositoryModel(dir, { name: 'mlp', versions: { 1: mlp({ layers: [8, 16, 4], batchDim: 'batch', seed: 11 }).bytes } });
  await writeRepositoryModel(dir, {
    name: 'add_sub',
    versions: { 1: addSub({ width: 16 }).bytes },
    config: configText({
      name: 'add_sub',
      maxBatchSize: 8,
      inputs: ['INPUT0', 'INPUT1'].map((name) => ({ name, datatype: 'INT32' as const, dims: [16] })),
      outputs: ['OUTPUT0', 'OUTPUT1'].map((name) => ({ name, datatype: 'INT32' as const, dims: [16] })),
      extra: ['dynamic_batching { max_queue_delay_microseconds: 2000 }'],
    }),
  });
  // Identities over [batch, n]: any element count is a valid request, so a same-size request can be accepted.
  await writeRepositoryModel(dir, { name: 'ident_int32', versions: { 1: identityAll({ datatypes: ['INT32'] }).bytes } });
  await writeRepositoryModel(dir, { name: 'ident_bytes', versions: { 1: identityAll({ datatypes: ['BYTES'] }).bytes } });
  await writeRepositoryModel(dir, {
    name: 'string_identity',
    versions: { 1: stringIdentity().bytes },
    config: configText({ name: 'string_identity', maxBatchSize: 8, inputs: [{ name: 'INPUT0', datatype: 'BYTES', dims: [1] }], outputs: [{ name: 'OUTPUT0', datatype: 'BYTES', dims: [1] }] }),
  });
}

interface Row {
  name: string;
  probe: Measurement & { bytes: number };
  accepted?: Measurement & { bytes: number };
}

/** Runs `request` against a fresh server of its kind; the server is stopped afterwards (killed if it does not stop). */
async function run(repository: string, label: string, make: () => Request): Promise<Measurement & { bytes: number }> {
  const request = make();
  const server = request.target === 'engine' ? await startEngine(repository) : await startServe(repository);
  try {
    const m = await measure(server, (signal) => request.send(server, signal), { timeoutMs: TIMEOUT_MS, ceilingBytes: CEILING });
    const what = m.answer ? `${m.answer.status} in ${(m.answerMs! / 1000).toFixed(2)} s` : 'no answer';
    progress(TAG, `${label}: ${what}${m.failure ? ` (${m.failure})` : ''}, RSS +${(m.peakGrowthBytes / MiB).toFixed(0)} MiB, health stall ${m.maxHealthMs.toFixed(0)} ms${m.answer?.message ? `: ${m.answer.message.slice(0, 120).replace(/\s+/g, ' ')}` : ''}`);
    return { ...m, bytes: request.bytes };
  } finally {
    if (!server.alive()) progress(TAG, `${label}: the ${server.kind} is gone; the next probe starts a fresh one`);
    server.child.kill('SIGKILL');
    await server.stop();
  }
}

const mib = (bytes: number): string => (bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0);
const seconds = (m: Measurement): string => (m.answerMs === undefined ? '—' : (m.answerMs / 1000).toFixed(2));
const statusOf = (m: Measurement): string => {
  const s = m.answer ? m.answer.status : '**none**';
  return m.failure ? `${s} — **${m.failure}**` : s;
};

function markdown(rows: Row[], started: Date, wallSeconds: number): string {
  const cpus = os.cpus();
  const lines = [
    `# bench:hostile${QUICK ? ' (quick: bodies ⅛ size)' : ''}`,
    '',
    `${started.toISOString()}, ${cpus.length} × ${cpus[0]?.model.trim() ?? 'CPU'}, Node.js ${process.version}, ${wallSeconds.toFixed(0)} s. Each request against a fresh server; RSS of the engine (/score: the worker), peak from VmHWM and 20 ms samples; stall: the longest GET of the liveness route, polled every 10 ms while the request ran. Timeout ${TIMEOUT_MS / 1000} s, memory ceiling ${CEILING / MiB} MiB.`,
    '',
    '| probe | size MiB | status | answer s | RSS growth MiB | growth ÷ size (≥ 1 MiB) | stall ms | accepted same-size: status | s | RSS growth MiB | stall ms | refused ÷ accepted (RSS growth) |',
    '|---|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const p = r.probe;
    const a = r.accepted;
    const ratio = a && a.peakGrowthBytes > 0 ? (p.peakGrowthBytes / a.peakGrowthBytes).toFixed(2) : '—';
    lines.push(
      `| ${r.name} | ${mib(p.bytes)} | ${statusOf(p)} | ${seconds(p)} | ${mib(p.peakGrowthBytes)} | ${p.bytes >= MiB ? (p.peakGrowthBytes / p.bytes).toFixed(1) : '—'} | ${p.maxHealthMs.toFixed(0)} | ` +
        (a ? `${statusOf(a)} | ${seconds(a)} | ${mib(a.peakGrowthBytes)} | ${a.maxHealthMs.toFixed(0)} | ${ratio} |` : '— | — | — | — | — |'),
    );
  }
  lines.push('', 'Messages:', '');
  for (const r of rows) lines.push(`- ${r.name}: ${r.probe.answer?.message ? `\`${r.probe.answer.message.slice(0, 200).replace(/[`\n]/g, ' ')}\`` : '(none)'}`);
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const repository = await fs.mkdtemp(path.join(os.tmpdir(), 'scoreline-bench-hostile-'));
  try {
    await writeRepository(repository);
    const rows: Row[] = [];
    const probes = PROBES.filter((p) => ONLY === undefined || p.name.includes(ONLY));
    for (const [i, p] of probes.entries()) {
      progress(TAG, `${i + 1}/${probes.length} ${p.name}`);
      const probe = await run(repository, p.name, p.probe);
      const accepted = p.accepted ? await run(repository, `${p.name} (accepted same-size)`, p.accepted) : undefined;
      rows.push({ name: p.name, probe, accepted });
    }
    const text = markdown(rows, started, (performance.now() - t0) / 1000);
    await fs.mkdir(RESULTS_DIR, { recursive: true });
    const file = path.join(RESULTS_DIR, QUICK ? 'hostile-quick.md' : 'hostile.md');
    await fs.writeFile(file, text);
    process.stdout.write(text);
    progress(TAG, `wrote ${path.relative(process.cwd(), file)}`);
  } finally {
    await fs.rm(repository, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
