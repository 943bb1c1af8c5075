/**
 * Request ids as AzureML's inference server handles them:
 *   x-request-id            the client's, or a new UUID; echoed
 *   x-ms-client-request-id  the client's; echoed when sent
 *   x-ms-request-id         deprecated: the client's, else x-ms-client-request-id, else
 *                           x-request-id; also stands in for a missing client request id
 * Any of them over 100 characters is refused with 431.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HeaderTooLongError } from '../../errors';

export const REQUEST_ID_LIMIT = 100;

export interface RequestIds {
  requestId: string;
  /** Empty when the client sent none. */
  clientRequestId: string;
  legacyRequestId: string;
}

export function requestIds(headers: IncomingHttpHeaders): RequestIds {
  const requestId = single(headers['x-request-id']) || randomUUID();
  if (requestId.length > REQUEST_ID_LIMIT) {
    throw new HeaderTooLongError(`x-request-id must not exceed ${REQUEST_ID_LIMIT} characters`);
  }
  const legacy = single(headers['x-ms-request-id']);
  let clientRequestId = single(headers['x-ms-client-request-id']);
  let legacyRequestId: string;
  if (legacy !== '') {
    legacyRequestId = legacy;
    if (clientRequestId === '') clientRequestId = legacy;
  } else {
    legacyRequestId = clientRequestId || requestId;
  }
  if (legacyRequestId.length > REQUEST_ID_LIMIT || clientRequestId.length > REQUEST_ID_LIMIT) {
    throw new HeaderTooLongError(`x-ms-request-id and x-ms-client-request-id must not exceed ${REQUEST_ID_LIMIT} characters`);
  }
  return { requestId, clientRequestId, legacyRequestId };
}

/** The response headers that carry the ids back. */
export function idHeaders(ids: RequestIds, out: Record<string, string>): void {
  out['x-request-id'] = ids.requestId;
  out['x-ms-request-id'] = ids.legacyRequestId;
  if (ids.clientRequestId !== '') out['x-ms-client-request-id'] = ids.clientRequestId;
}

function single(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}
