/**
 * The error codes that mean a timeout expired, from either pool (undici's or the lean one)
 * or the socket. The client turns them into ClientTimeoutError; perf counts them as timeouts.
 * One list, so the two cannot disagree about what timed out.
 */

/** No response (headers or the next body chunk) within the response timeout. */
export const RESPONSE_TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'SCORELINE_HTTP1_RESPONSE_TIMEOUT', 'ETIMEDOUT']);
/** The connection was not established within the connect timeout. */
export const CONNECT_TIMEOUT_CODES: ReadonlySet<string> = new Set(['UND_ERR_CONNECT_TIMEOUT', 'SCORELINE_HTTP1_CONNECT_TIMEOUT']);

/** Whether an error code from either pool or the socket means a timeout. */
export function isTimeoutCode(code: string | undefined): boolean {
  return code !== undefined && (RESPONSE_TIMEOUT_CODES.has(code) || CONNECT_TIMEOUT_CODES.has(code));
}
