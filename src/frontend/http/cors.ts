/**
 * CORS for the origins in AML_CORS_ORIGINS (comma-separated; `*` allows any), as AzureML's
 * server enables it with flask-cors for GET and POST. A request from an origin not on the
 * list gets no CORS headers, so the browser refuses it; the request itself is still served.
 */
import type { IncomingHttpHeaders } from 'node:http';

const ALLOWED_METHODS = 'GET, POST, OPTIONS';
/** Response headers a browser script may read: the ids and the run timing. */
const EXPOSED_HEADERS = 'x-request-id, x-ms-request-id, x-ms-client-request-id, x-ms-run-function-failed, x-ms-run-fn-exec-ms';

export function corsHeaders(origins: readonly string[], headers: IncomingHttpHeaders, out: Record<string, string>): void {
  if (origins.length === 0) return;
  const origin = headers.origin;
  if (origin === undefined) return;
  const any = origins.includes('*');
  if (!any && !origins.includes(origin)) return;
  out['access-control-allow-origin'] = any ? '*' : origin;
  if (!any) out.vary = 'Origin';
  out['access-control-expose-headers'] = EXPOSED_HEADERS;
}

/** A preflight: OPTIONS carrying Access-Control-Request-Method. */
export function isPreflight(method: string | undefined, headers: IncomingHttpHeaders): boolean {
  return method === 'OPTIONS' && headers['access-control-request-method'] !== undefined;
}

/** The extra headers a preflight answer carries when the origin is allowed. */
export function preflightHeaders(origins: readonly string[], headers: IncomingHttpHeaders, out: Record<string, string>): void {
  corsHeaders(origins, headers, out);
  if (out['access-control-allow-origin'] === undefined) return;
  out['access-control-allow-methods'] = ALLOWED_METHODS;
  const requested = headers['access-control-request-headers'];
  if (requested !== undefined) out['access-control-allow-headers'] = requested;
  out['access-control-max-age'] = '600';
}
