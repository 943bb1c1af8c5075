/**
 * What the sequence batcher knows of a request's sequence, and what the run callback is told
 * of it. A sequence is named by its correlation ID (Triton's `sequence_id`: an unsigned
 * 64-bit integer or a string; 0 and "" mean "none"); the scheduler gives every sequence it
 * starts a `key` of its own, so the engine can keep state per sequence without caring that a
 * client reuses an ID after an END.
 */

/** A correlation ID: uint64 (bigint) or string. */
export type SequenceId = bigint | string;

/** A request's sequence parameters (sequence_id, sequence_start, sequence_end). */
export interface SequenceFlags {
  id: SequenceId;
  start: boolean;
  end: boolean;
}

/** One request of a sequence as the run callback gets it. */
export interface SequenceStep {
  /** The scheduler's key for this sequence (stable from its slot assignment to its release). */
  key: number;
  id: SequenceId;
  /** The request carried sequence_start: the engine resets the sequence's state first. */
  start: boolean;
  /** The request carried sequence_end: the sequence's slot and state are released after it. */
  end: boolean;
  /** The batch slot the sequence holds on its instance (0-based). */
  slot: number;
}

/** Triton's ModelSequenceBatching, as far as the scheduler reads it (config field names). */
export interface SequenceBatchingConfig {
  direct?: { max_queue_delay_microseconds?: number; minimum_slot_utilization?: number };
  oldest?: { max_candidate_sequences?: number; preferred_batch_size?: number[]; max_queue_delay_microseconds?: number };
  /** 0 or absent: Triton's default, 1,000,000. */
  max_sequence_idle_microseconds?: number;
}

/** Whether an ID names a sequence: Triton reads 0 and "" (and no ID) as "no sequence". */
export function namesSequence(id: SequenceId | undefined): id is SequenceId {
  return id !== undefined && id !== 0n && id !== '';
}

/** Triton prints an ID as its number or its text. */
export function formatSequenceId(id: SequenceId): string {
  return typeof id === 'bigint' ? id.toString() : id;
}
