/**
 * Whether BYTES elements survive onnxruntime-node's string tensors unchanged. Those tensors
 * are JavaScript strings on the way in and out, so an element reaches the model as text:
 * bytes that are not valid UTF-8 would become U+FFFD, and onnxruntime-node ends a string
 * at its first NUL (checked against onnxruntime-node 1.30: "a\0b" comes back "a"). Either
 * would hand the model other bytes than the caller sent and answer 200, so such elements
 * are refused before the request is queued instead (see request-validation.ts).
 */
import { isUtf8 } from 'node:buffer';

export type UnfitReason = 'not-utf8' | 'nul';

export interface UnfitElement {
  /** The element's position in the flattened tensor, from 0. */
  index: number;
  reason: UnfitReason;
}

/**
 * The first element a string tensor would alter, or undefined when all pass. Linear in the
 * bytes: isUtf8 is simdutf's validator and the NUL scan is one indexOf per element.
 */
export function firstUnfitElement(elements: readonly Uint8Array[]): UnfitElement | undefined {
  for (let index = 0; index < elements.length; index++) {
    const e = elements[index]!;
    if (e.byteLength === 0) continue;
    if (!isUtf8(e)) return { index, reason: 'not-utf8' };
    if (e.indexOf(0) !== -1) return { index, reason: 'nul' };
  }
  return undefined;
}

/**
 * The refusal's text: names the input and the element, says why, and what to send instead
 * (`advice`; a request's default points at text or a UINT8 input).
 */
export function unfitElementMessage(what: string, unfit: UnfitElement, advice?: string): string {
  const why =
    unfit.reason === 'not-utf8'
      ? 'is not valid UTF-8 (onnxruntime string tensors hold text)'
      : 'holds a NUL byte (onnxruntime-node string tensors end at the first NUL)';
  const instead = advice ?? `${unfit.reason === 'not-utf8' ? 'send text' : 'send text without NUL'}, or bytes through a UINT8 input`;
  return `${what}: element ${unfit.index} of BYTES ${why}; ${instead}`;
}
