/**
 * The engine client a worker gives score modules (InitContext.client) when serve merges
 * calls (`--coalesce-infer`, on by default): an InferenceServerClient whose infer() calls go
 * through the front end's InferCoalescer (infer-coalescer.ts), which sends what it merged,
 * and the calls it leaves alone, as the plain client sends one call. Merging lives here, not
 * in `scoreline/client`, so that client stays plain and the engine's batcher is the only
 * batcher a caller of the client meets.
 *
 * What the plain client's infer() does around the send is kept, in the same order: the
 * call's CLIENT span (infer-tracing.ts) opens first, then the call waits for its group, and
 * the merged request goes through the client's send with its resend-after-outage hold. A
 * group's flush is scheduled (setImmediate) from the call that opened the group, and the
 * active context follows it there, so each call keeps its own CLIENT span and the merged
 * request is sent from the context of that first call (docs/observability.md, "Traces").
 */
import { InferenceServerClient, type InferOptions } from '../../client/inference-server-client';
import type { InferenceServerClientOptions } from '../../client/client-options';
import type { InferInput } from '../../client/infer-input';
import type { InferResult } from '../../client/infer-result';
import { InferCoalescer } from './infer-coalescer';

export class CoalescingEngineClient extends InferenceServerClient {
  private readonly coalescer: InferCoalescer;

  constructor(options: InferenceServerClientOptions | string) {
    super(options);
    this.coalescer = new InferCoalescer({
      backend: {
        send: (modelName, inputs, callOptions) => super.sendInfer(modelName, inputs, callOptions),
        maxBatchSize: async (modelName, modelVersion) => (await this.getModelConfig(modelName, { modelVersion })).max_batch_size ?? 0,
      },
    });
  }

  protected override sendInfer(modelName: string, inputs: readonly InferInput[], options: InferOptions): Promise<InferResult> {
    return this.coalescer.infer(modelName, inputs, options);
  }

  override async close(): Promise<void> {
    // Calls waiting to be merged were accepted before close(): send them first.
    this.coalescer.flushAll();
    await super.close();
  }
}

/** The worker's engine client: one that merges calls when serve does (`--coalesce-infer`), else the plain one. */
export function engineClient(mergeCalls: boolean, options: InferenceServerClientOptions): InferenceServerClient {
  return mergeCalls ? new CoalescingEngineClient(options) : new InferenceServerClient(options);
}
