/**
 * scoreline_sequence_*: the sequence batcher's sequences per model and version. Triton
 * publishes no sequence metrics (its statistics count requests and executions only, which
 * scoreline reports for sequence models as for any other); these show what an operator of
 * streaming clients needs: how many sequences hold state now, how many wait for a slot, and
 * why sequences end (an `idle` count that grows means clients pause longer than
 * max_sequence_idle_microseconds and lose their state).
 *
 * Only versions with sequence_batching get samples, as Triton lists its cache families only
 * for models that cache. Read at scrape time from the scheduler's counts.
 */
import type { SequenceStats } from '../models/model-version';
import type { MetricFamily } from './prometheus-text';

export const SEQUENCE_METRICS = {
  active: 'scoreline_sequence_active',
  backlog: 'scoreline_sequence_backlog',
  started: 'scoreline_sequence_started_total',
  released: 'scoreline_sequence_released_total',
} as const;

type Labels = Readonly<Record<string, string>>;

export function sequenceFamilies(versions: ReadonlyArray<{ labels: Labels; stats: SequenceStats }>): MetricFamily[] {
  if (versions.length === 0) return [];
  const gauge = (name: string, help: string, read: (s: SequenceStats) => number): MetricFamily => ({
    name,
    help,
    type: 'gauge',
    samples: versions.map((v) => ({ labels: v.labels, value: read(v.stats) })),
  });
  return [
    gauge(SEQUENCE_METRICS.active, 'Sequences holding a batch slot and their implicit state in the engine', (s) => s.active),
    gauge(SEQUENCE_METRICS.backlog, 'Sequences waiting for a free batch slot (every slot is held by another sequence)', (s) => s.backlog),
    {
      name: SEQUENCE_METRICS.started,
      help: 'Sequences started (requests with sequence_start that opened a sequence)',
      type: 'counter',
      samples: versions.map((v) => ({ labels: v.labels, value: v.stats.started })),
    },
    {
      name: SEQUENCE_METRICS.released,
      help: 'Sequences released with their state, by reason: end (sequence_end ran), idle (max_sequence_idle_microseconds passed), cancelled (the END request was dropped, its caller gone)',
      type: 'counter',
      samples: versions.flatMap((v) =>
        Object.entries(v.stats.released).map(([reason, value]) => ({ labels: { ...v.labels, reason }, value })),
      ),
    },
  ];
}
