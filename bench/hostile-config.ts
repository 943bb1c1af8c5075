/**
 * add_sub's config as the load API's JSON override (INT32 [16] a+b, a−b, max_batch_size
 * 8), with every section the schema has filled in and valid, so that every numeric field
 * exists for a hostile edit: bench:hostile's config probes and test/hostile's properties
 * both start from it.
 */
export function validConfigJson(): Record<string, unknown> {
  const tensor = (name: string): Record<string, unknown> => ({ name, data_type: 'TYPE_INT32', dims: [16] });
  return {
    name: 'add_sub',
    backend: 'onnxruntime',
    max_batch_size: 8,
    version_policy: { latest: { num_versions: 1 } },
    input: [tensor('INPUT0'), tensor('INPUT1')],
    output: [tensor('OUTPUT0'), tensor('OUTPUT1')],
    dynamic_batching: {
      preferred_batch_size: [4, 8],
      max_queue_delay_microseconds: 2000,
      priority_levels: 2,
      default_priority_level: 1,
      default_queue_policy: { max_queue_size: 16, default_timeout_microseconds: 1000000, allow_timeout_override: true, timeout_action: 'REJECT' },
      priority_queue_policy: { '2': { max_queue_size: 8, default_timeout_microseconds: 0, timeout_action: 'REJECT' } },
    },
    instance_group: [{ count: 1, kind: 'KIND_CPU' }],
    parameters: { intra_op_thread_count: { string_value: '1' }, inter_op_thread_count: { string_value: '1' } },
    model_warmup: [
      {
        name: 'warm',
        batch_size: 1,
        count: 1,
        inputs: { INPUT0: { data_type: 'TYPE_INT32', dims: [16], zero_data: true }, INPUT1: { data_type: 'TYPE_INT32', dims: [16], random_data: true } },
      },
    ],
  };
}
