// The frontend's /api/v1 proxy against a stand-in backend: what it forwards, what it returns, what it strips.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { type RunningFrontend, startFrontend } from '../lib/frontend.ts';

type Seen = { method: string; url: string; headers: IncomingHttpHeaders; body: string };
type Stack = { frontend: RunningFrontend; upstream: Server; upstreamUrl: string; seen: Seen[] };

// /api/v1/stream sends its first event, then holds the rest until a test calls this: a proxy that buffers
// the answer never delivers that first event, so the test cannot pass by timing luck.
let releaseStream: () => void = () => undefined;

/** A backend stand-in that records each request and answers according to its path. */
async function startUpstream(seen: Seen[]): Promise<{ server: Server; url: string }> {
  let url = '';
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const path = (req.url ?? '').split('?')[0];
      if (path === '/api/v1/echo') {
        res.writeHead(201, {
          'content-type': 'application/json',
          'x-upstream-id': 'abc123',
          connection: 'keep-alive, x-hop',
          'x-hop': 'connection-scoped',
          'set-cookie': ['a=1; Path=/', 'b=2; Path=/'],
        });
        res.end(JSON.stringify({ method: req.method, url: req.url, body }));
      } else if (path === '/api/v1/stream') {
        // The backend's chat stream: text/event-stream, no-cache, X-Accel-Buffering: no (app/backend/app/routers/chat.py).
        res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
        res.write('event: start\ndata: {"conversation_id": 1}\n\n');
        releaseStream = () => {
          res.write('event: delta\ndata: {"text": "hi"}\n\n');
          res.end('event: done\ndata: {"reply": "hi"}\n\n');
        };
      } else if (path === '/api/v1/tasks/7') {
        res.writeHead(204);
        res.end();
      } else if (path === '/api/v1/moved') {
        res.writeHead(307, { location: `${url}/api/v1/echo?from=moved` });
        res.end();
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ detail: 'Task not found' }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { server, url };
}

let stack: Promise<Stack> | undefined;
const seen: Seen[] = [];

async function bringUp(): Promise<Stack> {
  const { server, url } = await startUpstream(seen);
  try {
    const frontend = await startFrontend({ backendUrl: url });
    return { frontend, upstream: server, upstreamUrl: url, seen };
  } catch (err) {
    server.close();
    throw err;
  }
}
const ready = (): Promise<Stack> => (stack ??= bringUp());

const proxy = suite('frontend /api/v1 proxy');

proxy.after(async () => {
  const s = await stack?.catch(() => undefined);
  await s?.frontend.stop();
  await new Promise<void>((resolve) => (s ? s.upstream.close(() => resolve()) : resolve()));
});

proxy('forwards the method, path, query, bearer token, headers and body to BACKEND_URL', async () => {
  const { frontend, upstreamUrl } = await ready();
  seen.length = 0;
  const body = JSON.stringify({ title: 'ünïcode ✓', completed: true });
  const res = await fetch(`${frontend.url}/api/v1/echo?a=1&b=two%20words&c=x%2By%26z`, {
    method: 'PATCH',
    headers: { authorization: 'Bearer t0ken', 'content-type': 'application/json', 'x-request-id': 'req-1' },
    body,
  });
  assert.is(res.status, 201);
  assert.is(seen.length, 1);
  const got = seen[0]!;
  assert.is(got.method, 'PATCH');
  const sent = new URL(got.url, 'http://x');
  assert.is(sent.pathname, '/api/v1/echo');
  assert.equal([...sent.searchParams], [
    ['a', '1'],
    ['b', 'two words'],
    ['c', 'x+y&z'],
  ]);
  assert.is(got.body, body);
  assert.is(got.headers.authorization, 'Bearer t0ken');
  assert.is(got.headers['content-type'], 'application/json');
  assert.is(got.headers['x-request-id'], 'req-1');
  assert.is(got.headers.host, new URL(upstreamUrl).host);
  assert.is(got.headers['x-forwarded-host'], new URL(frontend.url).host);
  assert.equal(await res.json(), { method: 'PATCH', url: got.url, body });
});

proxy("passes the backend's response headers back but drops connection-scoped ones", async () => {
  const { frontend } = await ready();
  const res = await fetch(`${frontend.url}/api/v1/echo`);
  assert.is(res.status, 201);
  assert.is(res.headers.get('x-upstream-id'), 'abc123');
  assert.is(res.headers.get('content-type'), 'application/json');
  assert.is(res.headers.get('x-hop'), null);
  assert.equal(res.headers.getSetCookie(), ['a=1; Path=/', 'b=2; Path=/']);
});

proxy('answers a DELETE the backend accepted with 204 and no body', async () => {
  const { frontend } = await ready();
  const res = await fetch(`${frontend.url}/api/v1/tasks/7`, { method: 'DELETE', headers: { authorization: 'Bearer x' } });
  assert.is(res.status, 204);
  assert.is(await res.text(), '');
  assert.is(seen.at(-1)?.method, 'DELETE');
});

proxy("returns the backend's 4xx error body unchanged", async () => {
  const { frontend } = await ready();
  const res = await fetch(`${frontend.url}/api/v1/tasks/999`, { method: 'PUT', body: '{}' });
  assert.is(res.status, 404);
  assert.equal(await res.json(), { detail: 'Task not found' });
});

proxy("rewrites a redirect to the backend's own address into a relative one the browser can follow", async () => {
  const { frontend } = await ready();
  const res = await fetch(`${frontend.url}/api/v1/moved`, { redirect: 'manual' });
  assert.is(res.status, 307);
  assert.is(res.headers.get('location'), '/api/v1/echo?from=moved');
});

proxy('streams server-sent events as the backend writes them, and passes Accept on', async () => {
  const { frontend } = await ready();
  const res = await fetch(`${frontend.url}/api/v1/stream`, {
    method: 'POST',
    // What a browser sends: it would get a compressed, buffered answer if the server compressed event streams.
    headers: { accept: 'text/event-stream', 'accept-encoding': 'gzip, deflate, br', 'content-type': 'application/json' },
    body: '{"message": "hi"}',
  });
  assert.is(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.is(res.headers.get('content-encoding'), null);
  assert.is(seen.at(-1)?.headers.accept, 'text/event-stream');
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let received = '';
  const deadline = AbortSignal.timeout(10_000);
  while (!received.includes('\n\n')) {
    const chunk = await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) =>
        deadline.addEventListener('abort', () => reject(new Error(`the first event did not arrive within 10 s; got ${JSON.stringify(received)}`))),
      ),
    ]);
    if (chunk.done) throw new Error(`the stream ended before the first event: ${JSON.stringify(received)}`);
    received += chunk.value;
  }
  assert.is(received, 'event: start\ndata: {"conversation_id": 1}\n\n');
  releaseStream();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) received += chunk.value;
  assert.match(received, /event: delta\ndata: \{"text": "hi"\}\n\nevent: done\n/);
});

proxy.run();
