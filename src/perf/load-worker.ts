/**
 * Entry point of a load-generator worker thread: runs one LoadGenerator with the load it
 * was given and answers the parent's `snapshot` and `stop` messages with window records
 * (latencies transferred, not copied). Exits once stopped.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { LoadGenerator, LoadGeneratorOptions, ThreadLoad } from './load-generator';
import type { WindowRecord } from './window-record';

export interface LoadWorkerData {
  generator: LoadGeneratorOptions;
  load: ThreadLoad;
}

export type LoadWorkerRequest = { type: 'snapshot' | 'stop'; id: number };
/** `started` once the load runs; then one reply per request, by id. */
export type LoadWorkerReply = { type: 'started' } | { type: 'record'; id: number; record: WindowRecord };

if (!isMainThread && parentPort) {
  const port = parentPort;
  const data = workerData as LoadWorkerData;
  const generator = new LoadGenerator(data.generator);
  generator.start(data.load);
  port.postMessage({ type: 'started' } satisfies LoadWorkerReply);
  const reply = (id: number, record: WindowRecord): void => {
    port.postMessage({ type: 'record', id, record } satisfies LoadWorkerReply, [record.latenciesMs.buffer as ArrayBuffer]);
  };
  port.on('message', (message: LoadWorkerRequest) => {
    if (message.type === 'snapshot') {
      reply(message.id, generator.snapshot());
      return;
    }
    void generator.stop().then((record) => {
      reply(message.id, record);
      port.close();
    });
  });
}
