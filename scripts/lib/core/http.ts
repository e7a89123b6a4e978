// The one HTTP client of the JSON API checks (the smoke workflow and the drills): every reply is
// kept whole — status, raw text and parsed JSON — so a failure can quote what the server said.

export type Reply = { method: string; path: string; status: number; text: string; json: unknown };

/** Sends one request to a path under the base URL, with an optional JSON body and bearer token. */
export type HttpCall = (method: string, path: string, body?: unknown, token?: string) => Promise<Reply>;

/** A client for one base URL; each request gives up after timeoutMs. */
export function httpClient(baseUrl: string, timeoutMs: number): HttpCall {
  const base = baseUrl.replace(/\/+$/, '');
  return async (method, path, body, token) => {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      // A redirect (to a login page, say) is an answer to report, not one to follow.
      redirect: 'manual',
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { method, path, status: res.status, text, json };
  };
}
