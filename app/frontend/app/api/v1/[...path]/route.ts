// Forwards every /api/v1/* request from the browser to the backend named by BACKEND_URL, read at request time.
import type { NextRequest } from 'next/server';

export const dynamic = 'force-dynamic';
export const runtime = 'nodejs';

const DEFAULT_BACKEND_URL = 'http://localhost:8000';
// A chatbot turn may call a model; give the backend a generous but finite time to answer.
const UPSTREAM_TIMEOUT_MS = 120_000;

// Headers that describe one connection, not the message; never passed across a proxy (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);
// Also dropped on the way in: the backend gets its own Host, and fetch sets the length itself.
const DROP_REQUEST = new Set(['host', 'content-length', 'expect']);
// Also dropped on the way out: fetch has already decoded the body, so its encoding and length no longer hold.
const DROP_RESPONSE = new Set(['content-encoding', 'content-length']);

function backendBase(): URL {
  const raw = process.env.BACKEND_URL?.trim() || DEFAULT_BACKEND_URL;
  return new URL(raw.endsWith('/') ? raw : `${raw}/`);
}

function listedInConnection(headers: Headers): Set<string> {
  const named = headers.get('connection') ?? '';
  return new Set(
    named
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
}

function requestHeaders(req: NextRequest): Headers {
  const extra = listedInConnection(req.headers);
  const out = new Headers();
  req.headers.forEach((value, key) => {
    const k = key.toLowerCase();
    if (HOP_BY_HOP.has(k) || DROP_REQUEST.has(k) || extra.has(k)) return;
    out.append(key, value);
  });
  const host = req.headers.get('host');
  if (host) out.set('x-forwarded-host', host);
  out.set('x-forwarded-proto', req.nextUrl.protocol.replace(/:$/, ''));
  return out;
}

function responseHeaders(upstream: Response, base: URL): Headers {
  const extra = listedInConnection(upstream.headers);
  const out = new Headers();
  upstream.headers.forEach((value, key) => {
    const k = key.toLowerCase();
    if (HOP_BY_HOP.has(k) || DROP_RESPONSE.has(k) || extra.has(k) || k === 'set-cookie') return;
    out.append(key, value);
  });
  // Set-Cookie may repeat; forEach would join the values with commas, which breaks cookies.
  for (const cookie of upstream.headers.getSetCookie()) out.append('set-cookie', cookie);
  // A redirect that names the backend's own origin would send the browser somewhere it cannot reach.
  const location = upstream.headers.get('location');
  if (location) {
    const target = new URL(location, base);
    if (target.origin === base.origin) out.set('location', `${target.pathname}${target.search}${target.hash}`);
  }
  return out;
}

function jsonError(status: number, detail: string): Response {
  return Response.json({ detail }, { status, headers: { 'cache-control': 'no-store' } });
}

async function forward(req: NextRequest): Promise<Response> {
  let base: URL;
  try {
    base = backendBase();
  } catch {
    return jsonError(500, 'BACKEND_URL is not a valid URL');
  }
  // Keep the path as sent (encoding, trailing slash) below the backend's base path; Next re-serialises the query,
  // which keeps its meaning (a space may arrive as + instead of %20).
  const incoming = new URL(req.url);
  const target = new URL(`${incoming.pathname.replace(/^\/+/, '')}${incoming.search}`, base);
  const method = req.method.toUpperCase();
  const hasBody = method !== 'GET' && method !== 'HEAD';

  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method,
      headers: requestHeaders(req),
      body: hasBody ? await req.arrayBuffer() : undefined,
      redirect: 'manual',
      cache: 'no-store',
      signal: AbortSignal.timeout(UPSTREAM_TIMEOUT_MS),
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'TimeoutError') return jsonError(504, 'backend timed out');
    return jsonError(502, 'backend unreachable');
  }

  const noBody = method === 'HEAD' || upstream.status === 204 || upstream.status === 304;
  return new Response(noBody ? null : upstream.body, {
    status: upstream.status,
    statusText: upstream.statusText,
    headers: responseHeaders(upstream, base),
  });
}

export const GET = forward;
export const HEAD = forward;
export const POST = forward;
export const PUT = forward;
export const PATCH = forward;
export const DELETE = forward;
export const OPTIONS = forward;
