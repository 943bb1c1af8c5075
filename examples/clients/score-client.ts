/**
 * Calls the scoring front end's /score as any HTTP client would (here Node's fetch):
 * JSON in, JSON out, with the request id the server echoes and the time run() took.
 *
 *   npm start &        # scoreline serve on :5001 with the Iris score module
 *   npx tsx examples/clients/score-client.ts [http://127.0.0.1:5001]
 */

export interface ScoreReply {
  status: number;
  requestId: string | null;
  runMs: string | null;
  body: unknown;
}

export async function score(url: string, data: unknown, options: { apiKey?: string; requestId?: string } = {}): Promise<ScoreReply> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;
  if (options.requestId !== undefined) headers['x-request-id'] = options.requestId;
  const res = await fetch(`${url.replace(/\/+$/, '')}/score`, { method: 'POST', headers, body: JSON.stringify(data) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, requestId: res.headers.get('x-request-id'), runMs: res.headers.get('x-ms-run-fn-exec-ms'), body };
}

if (require.main === module) {
  const url = process.argv[2] ?? 'http://127.0.0.1:5001';
  score(url, { data: [[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]] }, { apiKey: process.env.SCORELINE_API_KEY }).then(
    (reply) => console.log(JSON.stringify(reply, null, 2)),
    (err: unknown) => {
      console.error((err as Error).message);
      process.exitCode = 1;
    },
  );
}
