// Benchmark (not a test): what one chat turn with one tool call costs the backend itself, the model's time taken out.
//
//   npx tsx bench/chat-overhead.bench.ts      (or `make bench ARGS=chat-overhead`)
//
// The model is tests/lib/fake-model.ts in this process, answering at once on the real streamed wire format: each
// turn's first request gets a list_tasks tool call, the request carrying its result gets the final text. The MCP
// server is the real one (app/mcp). So a turn is everything the backend does around the model: count it in against
// the user's fair-use limits, open a conversation, read its history, open its MCP connection (the tool list is the
// process's, learnt on its first turn), two model rounds, the tool call, store the turn. It is measured beside
// GET /api/v1/tasks, which reads the same 20 tasks of the same user: both at 10 and 50 connections, taking turns,
// BENCH_ROUNDS times (3) for BENCH_SECONDS each (8); medians and the ratio chat / list are printed. Everything shares one machine, the fake model and autocannon one Node thread.
//
// - Conversations: every POST /api/v1/chat omits conversation_id, so each turn starts a new conversation and
//   sends no history: the same work per turn all run long (a fixed conversation would grow to
//   MAX_CONVERSATION_HISTORY messages and make every turn of the run update one row).
// - JSON answers (no Accept: text/event-stream): one response per turn, as autocannon counts them.
// - Fair use: the backend limits each user's turns (CHAT_MAX_CONCURRENT_TURNS, CHAT_TURNS_PER_MINUTE); one user
//   sends every turn here, so both are set far above what a run reaches: each turn still pays for being counted
//   in (a lock and a row in chat_turns), and none is refused. non-2xx and errors are counted anyway, and the run
//   fails if any turn went wrong.
// - MCP requests: the backend reaches the MCP server through a counting proxy in this process, which reads the
//   JSON-RPC method of each request. Before the load, after the process's first turn (which learns the server's
//   protocol and tools), a turn that only talks must make no MCP request and a turn with one tool call exactly one
//   (tools/call); the run fails otherwise. The proxy's CPU time is this process's, not the backend's.
// - Realness: one turn is checked end to end first (the model's second request holds the tool's 20 tasks, the
//   reply is the final text, the action is list_tasks); under load the fake checks every tool result it is sent.
// - Only turns answered within a run count (autocannon's window): at 50 connections a turn waits seconds, so a
//   BENCH_SECONDS much below 8 counts few or none. Turns left running are waited for before the next run.
// - Where the time goes: "tool round" is the time from a turn's first model request to its second, as the fake
//   sees it (the backend reading the tool call, the MCP tools/call, the next request); the rest of a turn is
//   the setup (limits, conversation, MCP connection) and the storing. A second table gives the CPU time per
//   answered request of the backend, the MCP server and this process, read from /proc (Linux).
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../scripts/lib/core/net.ts';
import { waitFor } from '../scripts/lib/core/wait.ts';
import { startBackend, type Backend } from '../tests/lib/backend.ts';
import { call, startFakeModel, text, tools, type FakeModel, type Rule } from '../tests/lib/fake-model.ts';
import { startMcp, type RunningMcp } from '../tests/lib/mcp.ts';
import { startPostgres } from '../tests/lib/postgres.ts';
import { ACCESS_LOG, median, runOne, type BenchRow, type Scenario } from './backend-latency.bench.ts';
import { runMain } from './main.ts';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONNECTIONS = [10, 50];
const TASKS = 20;
const MESSAGE = 'what is on my list?';
const FINAL = 'You have 20 tasks; the oldest is "bench task 1".';
// Backend CPU per chat turn with one tool call before the tool list was kept per process (10 connections).
const PREVIOUS_BACKEND_CPU_MS = 33.5;

type Auth = { access_token: string };
type ChatAnswer = { reply: string; actions: Array<Record<string, unknown>>; conversation_id: number; offline: boolean };

async function request<T>(method: 'GET' | 'POST', url: string, token: string | undefined, body?: unknown): Promise<T> {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const said = await res.text();
  if (!res.ok) throw new Error(`${method} ${url} -> ${res.status}: ${said.slice(0, 300)}`);
  return JSON.parse(said) as T;
}

/** The count in a list_tasks result as the backend forwards it to the model, or why there is none. */
function taskCount(content: unknown): number | string {
  try {
    const data = JSON.parse(String(content)) as { count?: unknown };
    return typeof data.count === 'number' ? data.count : `no count in ${String(content).slice(0, 100)}`;
  } catch {
    return `not JSON: ${String(content).slice(0, 100)}`;
  }
}

type ModelTally = { finals: number; toolRounds: number[]; wrong: string[] };

/** The model under load: a list_tasks call for a new turn, the final text once the 20 tasks are back. */
function listingModel(): { rule: Rule; take(): ModelTally } {
  const fresh = (): ModelTally => ({ finals: 0, toolRounds: [], wrong: [] });
  let tally = fresh();
  let calls = 0;
  const asked = new Map<string, number>();
  const rule: Rule = (body) => {
    const last = body.messages?.at(-1);
    if (last?.role !== 'tool') {
      const id = `call_bench${++calls}`;
      asked.set(id, performance.now());
      return tools({ ...call('list_tasks', {}), id });
    }
    const id = String(last.tool_call_id);
    const since = asked.get(id);
    asked.delete(id);
    if (since === undefined) tally.wrong.push(`a tool result for ${id}, which was never asked for`);
    else tally.toolRounds.push(performance.now() - since);
    const count = taskCount(last.content);
    if (count !== TASKS) tally.wrong.push(`list_tasks gave ${count}`);
    tally.finals++;
    return text(FINAL);
  };
  return {
    rule,
    take() {
      const t = tally;
      tally = fresh();
      return t;
    },
  };
}

/** A pass-through HTTP proxy in front of the MCP server that counts the requests it forwards, by JSON-RPC method. */
type McpCounter = { url: string; counts: Map<string, number>; total(): number; stop(): Promise<void> };

async function countingProxy(target: string): Promise<McpCounter> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let method = `${req.method} (no JSON-RPC)`;
      try {
        const parsed = JSON.parse(body.toString('utf8')) as { method?: unknown };
        if (typeof parsed.method === 'string') method = parsed.method;
      } catch {
        // A GET or DELETE of the transport: counted under its HTTP method.
      }
      counts.set(method, (counts.get(method) ?? 0) + 1);
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      out.on('error', (err) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(String(err));
      });
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    total: () => [...counts.values()].reduce((n, c) => n + c, 0),
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The MCP requests one chat turn makes, by method, with `script` played; the turn must answer `reply`. */
async function mcpRequestsOfTurn(model: FakeModel, proxy: McpCounter, api: string, token: string, reply: string, ...script: Parameters<FakeModel['play']>): Promise<Map<string, number>> {
  const before = new Map(proxy.counts);
  model.play(...script);
  const answer = await request<ChatAnswer>('POST', `${api}/chat`, token, { message: MESSAGE });
  if (answer.reply !== reply) throw new Error(`a chat turn answered ${JSON.stringify(answer.reply)}, not ${JSON.stringify(reply)}`);
  const made = new Map<string, number>();
  for (const [method, n] of proxy.counts) if (n - (before.get(method) ?? 0) > 0) made.set(method, n - (before.get(method) ?? 0));
  return made;
}

const describe = (made: Map<string, number>) => (made.size ? [...made].map(([m, n]) => `${n} ${m}`).join(', ') : 'none');

/** One turn with the script played in order, checked end to end: the tool really ran and its result reached the model. */
async function checkOneTurn(model: FakeModel, api: string, token: string): Promise<void> {
  model.play(tools(call('list_tasks', {})), text(FINAL));
  const answer = await request<ChatAnswer>('POST', `${api}/chat`, token, { message: MESSAGE });
  const problems: string[] = [];
  if (answer.offline) problems.push('the offline assistant answered');
  if (answer.reply !== FINAL) problems.push(`reply ${JSON.stringify(answer.reply)}`);
  if (JSON.stringify(answer.actions) !== JSON.stringify([{ tool: 'list_tasks', count: TASKS }])) problems.push(`actions ${JSON.stringify(answer.actions)}`);
  if (model.requests.length !== 2) problems.push(`${model.requests.length} model requests, not 2`);
  const sent = model.requests[1]?.body.messages ?? [];
  const result = sent.at(-1);
  if (result?.role !== 'tool') problems.push(`the second model request ends with ${JSON.stringify(result).slice(0, 200)}`);
  else if (taskCount(result.content) !== TASKS) problems.push(`the tool result sent to the model: ${taskCount(result.content)}`);
  if (model.unexpected.length) problems.push(...model.unexpected);
  if (problems.length) throw new Error(`a chat turn did not go as scripted:\n  ${problems.join('\n  ')}`);
  console.log(`checked one turn: list_tasks ran, its ${TASKS} tasks went back to the model, reply ${JSON.stringify(answer.reply)}`);
}

/** CPU milliseconds per answered request, by process: where a request's work is done. */
type Cpu = { backend: number; mcp: number; bench: number };
type Pair = { connections: number; list: BenchRow[]; chat: BenchRow[]; toolRounds: number[]; listCpu: Cpu[]; chatCpu: Cpu[] };

// Linux's USER_HZ: /proc counts CPU time in these ticks (100 on every mainstream architecture).
const TICKS_PER_SECOND = 100;

/** CPU ms used so far by this process's child whose command line matches (from /proc), or NaN where there is no /proc. */
function childCpuMs(command: RegExp): number {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return NaN;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name in parentheses: state, ppid, … utime (14th of the line), stime (15th).
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(rest[1]) !== process.pid) continue;
      if (!command.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '))) continue;
      return ((Number(rest[11]) + Number(rest[12])) / TICKS_PER_SECOND) * 1000;
    } catch {
      // The process ended while being read.
    }
  }
  return NaN;
}

/** Reads the backend's, the MCP server's and this process's CPU time; call the result to get ms per request since. */
function cpuMeter(): (requests: number) => Cpu {
  const read = (): Cpu => {
    const self = process.cpuUsage();
    return { backend: childCpuMs(/uvicorn app\.main:app/), mcp: childCpuMs(/-m taskflow_mcp/), bench: (self.user + self.system) / 1000 };
  };
  const before = read();
  return (requests) => {
    const after = read();
    const per = (k: keyof Cpu) => (after[k] - before[k]) / requests;
    return { backend: per('backend'), mcp: per('mcp'), bench: per('bench') };
  };
}

/** A figure, or – when there is none (no request answered within the run). */
const fixed = (n: number, digits: number): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');

function table(pairs: Pair[]): string {
  const lines = [
    '| connections | request | requests | req/s | p50 ms | p99 ms | non-2xx | errors |',
    '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  const sum = (rows: BenchRow[], pick: (r: BenchRow) => number) => rows.reduce((n, r) => n + pick(r), 0);
  for (const p of pairs) {
    const row = (name: string, rows: BenchRow[]) =>
      `| ${p.connections} | ${name} | ${sum(rows, (r) => r.requests)} | ${median(rows.map((r) => r.rps)).toFixed(1)} | ` +
      `${fixed(median(rows.map((r) => r.p50)), 0)} | ${fixed(median(rows.map((r) => r.p99)), 0)} | ${sum(rows, (r) => r.non2xx)} | ${sum(rows, (r) => r.errors)} |`;
    const ratio = (pick: (r: BenchRow) => number) => `${fixed(median(p.chat.map(pick)) / median(p.list.map(pick)), 2)}×`;
    lines.push(row('GET /api/v1/tasks', p.list), row('POST /api/v1/chat', p.chat));
    lines.push(`| ${p.connections} | **chat / list** | | **${ratio((r) => r.rps)}** | **${ratio((r) => r.p50)}** | **${ratio((r) => r.p99)}** | | |`);
  }
  return lines.join('\n');
}

/** Waits until the backend has finished the turns autocannon left running (it stops waiting at a run's end). */
async function settle(model: FakeModel): Promise<void> {
  // Settled when a second passes without a model call.
  let seen = -1;
  const quiet = () => {
    const settled = seen === model.served;
    seen = model.served;
    return settled;
  };
  await waitFor(quiet, { timeout: 120_000, interval: 1000, describe: 'the backend to stop calling the model', onTimeout: () => new Error('the backend was still calling the model 120 s after a run ended') });
}

function cpuTable(pairs: Pair[]): string {
  const lines = [
    '| connections | request | backend CPU ms/req | MCP server CPU ms/req | autocannon + fake model CPU ms/req |',
    '| ---: | --- | ---: | ---: | ---: |',
  ];
  const ms = (cpus: Cpu[], k: keyof Cpu) => fixed(median(cpus.map((c) => c[k])), 1);
  for (const p of pairs) {
    lines.push(`| ${p.connections} | GET /api/v1/tasks | ${ms(p.listCpu, 'backend')} | ${ms(p.listCpu, 'mcp')} | ${ms(p.listCpu, 'bench')} |`);
    lines.push(`| ${p.connections} | POST /api/v1/chat | ${ms(p.chatCpu, 'backend')} | ${ms(p.chatCpu, 'mcp')} | ${ms(p.chatCpu, 'bench')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const started = Date.now();
  const pg = await startPostgres();
  let model: FakeModel | undefined;
  let backend: Backend | undefined;
  let mcp: RunningMcp | undefined;
  let proxy: McpCounter | undefined;
  const quiet = (tag: string) => (line: string) => {
    if (!ACCESS_LOG.test(line)) process.stderr.write(`[${tag}] ${line}\n`);
  };
  try {
    model = await startFakeModel();
    // The MCP server is healthy only once the backend has created the tables: the backend starts first, told its address.
    const mcpPort = await freePort();
    const mcpSecret = randomBytes(36).toString('base64url');
    proxy = await countingProxy(`http://127.0.0.1:${mcpPort}`);
    backend = await startBackend({
      databaseUrl: pg.url,
      env: {
        LOG_LEVEL: 'WARNING',
        OPENAI_BASE_URL: model.url,
        OPENAI_API_KEY: 'sk-bench',
        MODEL_NAME: 'fake-model',
        MCP_URL: `${proxy.url}/mcp`,
        MCP_SHARED_SECRET: mcpSecret,
        // One user sends every turn: limits on, far out of reach (see the header).
        CHAT_MAX_CONCURRENT_TURNS: '100000',
        CHAT_TURNS_PER_MINUTE: '100000000',
      },
      onLog: quiet('backend'),
    });
    mcp = await startMcp(pg.url, { secret: mcpSecret, port: mcpPort, env: { LOG_LEVEL: 'WARNING' } });

    const api = `${backend.url}/api/v1`;
    const stamp = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    const user = await request<Auth>('POST', `${api}/auth/signup`, undefined, { email: `chat-${stamp}@example.com`, password: 'bench-password-123', name: 'bench chatter' });
    for (let i = 1; i <= TASKS; i++) {
      await request('POST', `${api}/tasks`, user.access_token, { title: `bench task ${i}`, description: 'seeded for the chat benchmark' });
    }
    const listed = await request<unknown[]>('GET', `${api}/tasks`, user.access_token);
    if (listed.length !== TASKS) throw new Error(`GET /tasks listed ${listed.length} tasks, not ${TASKS}`);
    const first = await mcpRequestsOfTurn(model, proxy, api, user.access_token, 'Hello!', text('Hello!'));
    const textOnly = await mcpRequestsOfTurn(model, proxy, api, user.access_token, 'Still here.', text('Still here.'));
    const before = proxy.total();
    await checkOneTurn(model, api, user.access_token);
    const toolTurn = proxy.total() - before;
    console.log(`MCP requests: the process's first turn ${describe(first)}; then a turn that only talks ${describe(textOnly)}, a turn with one tool call ${toolTurn}`);
    if (textOnly.size !== 0 || toolTurn !== 1) {
      throw new Error(`after the first turn, a text turn made ${describe(textOnly)} MCP requests (want none) and a tool turn ${toolTurn} (want 1)`);
    }

    const auth = { authorization: `Bearer ${user.access_token}` };
    const list: Scenario = { name: 'GET /api/v1/tasks', method: 'GET', path: '/api/v1/tasks', headers: auth };
    const chat: Scenario = { name: 'POST /api/v1/chat', method: 'POST', path: '/api/v1/chat', headers: auth, body: JSON.stringify({ message: MESSAGE }) };
    const listing = listingModel();
    model.serve(listing.rule);
    console.log(`PostgreSQL 127.0.0.1:${pg.port}, MCP ${mcp.url}; ${ROUNDS} rounds × ${CONNECTIONS.join(' and ')} connections, ${SECONDS}s per run\n`);

    // Warm-up: imports, pools and the MCP server's first sessions are paid for before anything is measured.
    await runOne(backend.url, list, 10, 2);
    await runOne(backend.url, chat, 10, 2);
    await settle(model);
    const pairs: Pair[] = CONNECTIONS.map((connections) => ({ connections, list: [], chat: [], toolRounds: [], listCpu: [], chatCpu: [] }));
    let finals = 0;
    let answered = 0;
    const wrong: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const p of pairs) {
        let meter = cpuMeter();
        const l = await runOne(backend.url, list, p.connections, SECONDS);
        p.list.push(l);
        p.listCpu.push(meter(l.requests));
        wrong.push(...listing.take().wrong); // a guard: settled, nothing of an earlier run is left to count
        meter = cpuMeter();
        const c = await runOne(backend.url, chat, p.connections, SECONDS);
        p.chat.push(c);
        const tally = listing.take();
        // Turns still running would slow the next run, and they are not counted in this one; their CPU time is.
        await settle(model);
        const drained = listing.take();
        p.chatCpu.push(meter(tally.finals + drained.finals));
        p.toolRounds.push(...tally.toolRounds);
        finals += tally.finals;
        answered += c.requests - c.non2xx;
        wrong.push(...tally.wrong, ...drained.wrong);
        console.log(
          `  round ${round}, ${p.connections} connections: list ${l.rps.toFixed(0)} req/s p50 ${l.p50.toFixed(0)} ms p99 ${l.p99.toFixed(0)} ms; ` +
            `chat ${c.rps.toFixed(1)} req/s p50 ${fixed(c.p50, 0)} ms p99 ${fixed(c.p99, 0)} ms, tool round p50 ${fixed(median(tally.toolRounds), 0)} ms`,
        );
      }
    }

    console.log(`\n${table(pairs)}\n`);
    for (const p of pairs) {
      const turn = median(p.chat.map((r) => r.p50));
      const round = median(p.toolRounds);
      console.log(`${p.connections} connections: of a chat turn's p50 ${fixed(turn, 0)} ms, the tool round (model request 1 → 2) takes ${fixed(round, 0)} ms (p50)`);
    }
    for (const p of pairs) {
      const p99 = median(p.chat.map((r) => r.p99));
      if (!(p99 <= (SECONDS * 1000) / 2)) {
        const seen = Number.isFinite(p99) ? `a turn's p99 (${fixed(p99, 0)} ms) is over half a ${SECONDS}s run` : `no turn was answered within a ${SECONDS}s run`;
        console.log(
          `note: at ${p.connections} connections ${seen}; turns slower than the run are not counted, so its latency is understated ` +
            `and its req/s rough. A longer BENCH_SECONDS measures it fully.`,
        );
      }
    }
    console.log(`\n${cpuTable(pairs)}\n`);
    for (const p of pairs) {
      console.log(`${p.connections} connections: backend CPU per chat turn with one tool call ${fixed(median(p.chatCpu.map((c) => c.backend)), 1)} ms (before the tool list was kept per process: ${PREVIOUS_BACKEND_CPU_MS} ms at 10 connections)`);
    }
    console.log(`MCP requests under load: ${describe(proxy.counts)}`);
    console.log(`the model gave ${finals} final answers for ${answered} 2xx chat responses (turns cut off at a run's end differ)`);
    console.log(`total ${((Date.now() - started) / 1000).toFixed(0)}s`);
    const failed = pairs.flatMap((p) => p.chat).reduce((n, r) => n + r.non2xx + r.errors, 0);
    const problems = [...new Set([...wrong, ...model.unexpected])];
    if (failed || problems.length) {
      throw new Error(`chat turns went wrong under load: ${failed} non-2xx or errors${problems.length ? `; ${problems.slice(0, 5).join('; ')}` : ''}`);
    }
  } finally {
    // The backend first: it finishes its open turns, which need the MCP server and the model.
    await backend?.stop();
    await proxy?.stop();
    await mcp?.stop();
    await model?.stop();
    await pg.stop();
  }
}

runMain(main);
