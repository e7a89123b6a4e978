// A scripted stand-in for an OpenAI-compatible chat-completions server (POST /v1/chat/completions) on 127.0.0.1,
// for tests that run the backend as a process: the Node twin of app/backend/tests/fake_model.py, same wire format.
//
// It plays one scripted turn per request and records every request. What it copies from the real API:
// - a streamed answer is `data: {chat.completion.chunk}` lines ending with `data: [DONE]`; the first chunk carries
//   `delta.role`, text arrives as `delta.content` pieces, a tool call as `delta.tool_calls[i]` with `id`, `type`
//   and `function.name` in its first piece and `function.arguments` split over the following ones, then a chunk
//   with `finish_reason` ("stop" or "tool_calls") and an empty delta (OpenAI API reference, "The chat completion
//   chunk object"; openai-python's `ChoiceDeltaToolCall` type);
// - an error is `{"error": {"message", "type", "param", "code"}}` with the status the real API uses (OpenAI's
//   "Error codes" guide: 500 server_error, 503 overloaded, 429 rate_limit_exceeded).
// Harsh like the real thing where it matters: a request it was not scripted for gets a 500 (and is listed in
// `unexpected`, so the test can fail on it), as does a request without `stream: true`.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ToolCall = { name: string; arguments: string; pieces: number };
export type Reply = { kind: 'reply'; text: string; toolCalls: ToolCall[] };
export type Failure = { kind: 'failure'; status: number; message: string; type: string; code: string | null };
export type ScriptedTurn = Reply | Failure;

/** A final answer in words, streamed in four pieces. */
export const text = (content: string): Reply => ({ kind: 'reply', text: content, toolCalls: [] });
/** A turn that asks for tools and says nothing (finish_reason "tool_calls"). */
export const tools = (...calls: ToolCall[]): Reply => ({ kind: 'reply', text: '', toolCalls: calls });
/** A tool call; its arguments are sent as JSON split over `pieces` chunks, as models stream them. */
export const call = (name: string, args: Record<string, unknown>, pieces = 3): ToolCall => ({ name, arguments: JSON.stringify(args), pieces });
export const failure = (status: number, message: string, type: string, code: string | null = null): Failure => ({
  kind: 'failure',
  status,
  message,
  type,
  code,
});

export type ModelRequest = {
  headers: Record<string, string | string[] | undefined>;
  body: { model?: string; stream?: boolean; messages?: Array<Record<string, unknown>>; tools?: Array<{ function?: { name?: string } }> };
};

export type FakeModel = {
  /** The base URL, …/v1 like OpenAI's: what OPENAI_BASE_URL is set to. */
  url: string;
  requests: ModelRequest[];
  unexpected: string[];
  /** Replaces the script and forgets earlier requests. */
  play(...turns: ScriptedTurn[]): void;
  stop(): Promise<void>;
};

function split(s: string, n: number): string[] {
  if (!s) return [''];
  const size = Math.max(1, Math.ceil(s.length / Math.max(1, n)));
  const out: string[] = [];
  for (let i = 0; i < s.length; i += size) out.push(s.slice(i, i + size));
  return out;
}

function sendError(res: ServerResponse, f: Failure): void {
  res.writeHead(f.status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: { message: f.message, type: f.type, param: null, code: f.code } }));
}

let ids = 0;

/** Writes the turn as chunks, yielding to the event loop between them so they leave as separate writes. */
async function stream(res: ServerResponse, model: string, turn: Reply): Promise<void> {
  const id = `chatcmpl-fake${++ids}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_fake',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    })}\n\n`;
  const write = async (data: string) => {
    res.write(data);
    await new Promise((r) => setImmediate(r));
  };
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  await write(chunk({ role: 'assistant', content: turn.toolCalls.length && !turn.text ? null : '', refusal: null }));
  if (turn.text) for (const piece of split(turn.text, 4)) await write(chunk({ content: piece }));
  for (const [i, tc] of turn.toolCalls.entries()) {
    await write(chunk({ tool_calls: [{ index: i, id: `call_${id.slice(-4)}${i}`, type: 'function', function: { name: tc.name, arguments: '' } }] }));
    for (const piece of split(tc.arguments, tc.pieces)) await write(chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
  }
  await write(chunk({}, turn.toolCalls.length ? 'tool_calls' : 'stop'));
  res.end('data: [DONE]\n\n');
}

export async function startFakeModel(): Promise<FakeModel> {
  let script: ScriptedTurn[] = [];
  const requests: ModelRequest[] = [];
  const unexpected: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/chat/completions') {
      unexpected.push(`${req.method} ${req.url}`);
      sendError(res, failure(404, `fake model: no route ${req.method} ${req.url}`, 'invalid_request_error'));
      return;
    }
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ModelRequest['body'];
    requests.push({ headers: req.headers, body });
    const turn = script.shift();
    if (!turn) {
      unexpected.push(`request ${requests.length} with nothing scripted`);
      sendError(res, failure(500, 'fake model: no scripted turn left', 'server_error'));
      return;
    }
    if (turn.kind === 'failure') {
      sendError(res, turn);
      return;
    }
    if (!body.stream) {
      unexpected.push('a request without stream: true');
      sendError(res, failure(500, 'fake model: only streamed requests are scripted', 'server_error'));
      return;
    }
    await stream(res, body.model ?? '?', turn);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      unexpected.push(`fake model crashed: ${String(err)}`);
      if (!res.headersSent) sendError(res, failure(500, `fake model: ${String(err)}`, 'server_error'));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    unexpected,
    play(...turns) {
      script = [...turns];
      requests.length = 0;
      unexpected.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
