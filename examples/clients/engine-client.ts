/**
 * Calls the engine directly with `scoreline/client`, as one would call Triton with
 * tritonclient.http: health, metadata, then the Iris model with binary tensors, once for
 * the probabilities and once through the classification extension (top class with its
 * label, computed by the engine).
 *
 *   npx scoreline engine --model-repository examples/model_repository &
 *   npx tsx examples/clients/engine-client.ts [http://127.0.0.1:8000]
 */
import { InferInput, InferRequestedOutput, InferenceServerClient } from 'scoreline/client';

/** Three flowers from the data set: a setosa, a versicolor and a virginica. */
export const FLOWERS: readonly (readonly number[])[] = [
  [5.1, 3.5, 1.4, 0.2],
  [6.4, 3.2, 4.5, 1.5],
  [6.3, 3.3, 6.0, 2.5],
];

export interface EngineClientReport {
  ready: boolean;
  server: string;
  inputs: string[];
  outputs: string[];
  /** Per flower, the probabilities in label order (setosa, versicolor, virginica). */
  probabilities: number[][];
  /** Per flower, the engine's "score:index:label" for the top class. */
  topClass: string[];
}

export async function callEngine(url: string, flowers: readonly (readonly number[])[] = FLOWERS): Promise<EngineClientReport> {
  const client = new InferenceServerClient({ url });
  try {
    await client.waitUntilReady({ timeoutMs: 30_000, models: ['iris'] });
    const server = await client.getServerMetadata();
    const metadata = await client.getModelMetadata('iris');
    const describe = (t: { name: string; datatype: string; shape: number[] }) => `${t.name} ${t.datatype} [${t.shape.join(', ')}]`;

    // Binary tensor data: the float32 bytes follow the JSON header (no decimal text).
    const measurements = new InferInput('measurements', [flowers.length, 4], 'FP32').setData(Float32Array.from(flowers.flat()));
    const plain = await client.infer('iris', [measurements], { outputs: [new InferRequestedOutput('probabilities')] });
    const p = plain.asTypedArray<Float32Array>('probabilities');
    const probabilities = flowers.map((_, r) => Array.from(p.subarray(r * 3, r * 3 + 3)));

    // The classification extension: the engine returns the top class, labelled from labels.txt.
    const top = await client.infer('iris', [measurements], { outputs: [new InferRequestedOutput('probabilities', { classCount: 1 })] });
    const topClass = top.asTypedArray<string[]>('probabilities', { bytesAs: 'string' });

    return {
      ready: await client.isModelReady('iris'),
      server: `${server.name} ${server.version}`,
      inputs: metadata.inputs.map(describe),
      outputs: metadata.outputs.map(describe),
      probabilities,
      topClass,
    };
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  callEngine(process.argv[2] ?? 'http://127.0.0.1:8000').then(
    (report) => console.log(JSON.stringify(report, null, 2)),
    (err: unknown) => {
      console.error((err as Error).message);
      process.exitCode = 1;
    },
  );
}
