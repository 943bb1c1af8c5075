/**
 * The text example's tokenizer and featurizer, shared by the trainer and the score module
 * so a model always sees features made the way it was trained on.
 *
 * - `messageText` keeps what a reader sees of an e-mail: the Subject and the body. The
 *   other headers (relays, dates, list software) would let a model learn the corpus's
 *   mail servers instead of the messages.
 * - `tokenize` lower-cases, splits on anything that is not a letter, digit, `$` or `!`,
 *   and marks subject words (`subject:free`), so "FREE" in a subject and in a body are
 *   different features.
 * - `hashedFeatures` is the hashing trick: each token's FNV-1a hash picks one of
 *   `dimensions` buckets (no vocabulary to ship); counts are log-scaled (1 + ln count) and
 *   the vector is L2-normalised, so long and short messages are comparable.
 */
import { InvalidArgumentError } from '../../src/errors';
import type { SparseVector } from './sparse-rows';

/** The separator between headers and body (RFC 5322: the first empty line). */
const HEADER_END = /\r?\n\r?\n/;
const TOKEN = /[\p{L}\p{N}$!]+/gu;
const MAX_TOKEN_LENGTH = 40;
const imul = Math.imul;
const log = Math.log;
const sqrt = Math.sqrt;

export interface MessageParts {
  subject: string;
  body: string;
}

/**
 * Subject and body of an e-mail in RFC 5322 form. Text that does not start with a header
 * block ("Name: value" lines) is all body, so plain text works too. Folded header lines
 * (continuations starting with white space) are unfolded.
 */
export function messageParts(raw: string): MessageParts {
  const split = HEADER_END.exec(raw);
  const head = split === null ? raw : raw.slice(0, split.index);
  const lines = head.split(/\r?\n/);
  if (!/^(From |[!-9;-~]+:)/.test(lines[0] ?? '')) return { subject: '', body: raw };
  let subject = '';
  let inSubject = false;
  for (const line of lines) {
    if (/^\s/.test(line) && inSubject) subject += ` ${line.trim()}`;
    else {
      const match = /^subject:(.*)$/i.exec(line);
      inSubject = match !== null;
      if (match) subject = match[1]!.trim();
    }
  }
  return { subject, body: split === null ? '' : raw.slice(split.index + split[0].length) };
}

export function tokenize(parts: MessageParts): string[] {
  const tokens: string[] = [];
  for (const word of words(parts.subject)) tokens.push(`subject:${word}`);
  for (const word of words(parts.body)) tokens.push(word);
  return tokens;
}

function words(text: string): string[] {
  return (text.toLowerCase().match(TOKEN) ?? []).filter((w) => w.length <= MAX_TOKEN_LENGTH);
}

/** FNV-1a, 32 bits, over the UTF-16 code units: fast, stable across machines. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Bucket counts → 1 + ln(count), L2-normalised; indices ascending. */
export function hashedFeatures(tokens: readonly string[], dimensions: number): SparseVector {
  if (!Number.isInteger(dimensions) || dimensions < 1) throw new InvalidArgumentError(`hashedFeatures: dimensions must be a positive integer, got ${dimensions}`);
  const counts = new Map<number, number>();
  for (const token of tokens) {
    const bucket = fnv1a(token) % dimensions;
    counts.set(bucket, (counts.get(bucket) ?? 0) + 1);
  }
  const indices = Int32Array.from([...counts.keys()].sort((a, b) => a - b));
  const values = new Float64Array(indices.length);
  let norm = 0;
  indices.forEach((bucket, k) => {
    const v = 1 + log(counts.get(bucket)!);
    values[k] = v;
    norm += v * v;
  });
  norm = sqrt(norm);
  if (norm > 0) for (let k = 0; k < values.length; k++) values[k] = values[k]! / norm;
  return { indices, values };
}

/** Raw message text → its sparse feature vector. */
export function messageFeatures(raw: string, dimensions: number): SparseVector {
  return hashedFeatures(tokenize(messageParts(raw)), dimensions);
}

/** Writes a sparse vector into `out` (zeroed first): one row of the model's FP32 input. */
export function writeDense(vector: SparseVector, out: Float32Array): Float32Array {
  out.fill(0);
  vector.indices.forEach((index, k) => {
    out[index] = vector.values[k]!;
  });
  return out;
}
