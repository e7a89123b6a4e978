// logs as a real process over the fake kubectl: every component's lines with their prefixes, pods
// that come and go while it follows (found through one kubectl get --watch, started again when it
// ends), the filters and modes, bad input refused before any process, and Ctrl+C leaving no
// kubectl behind.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { JsonStream } from '../../scripts/lib/core/json-stream.ts';
import { applyPodEvent, classifyLogError, classifyWatchEnd, formatLine, parseComponents, parseSince, planFollow, POLL_MS, shortPod, targetsOf, useColor, watchRestartDelay } from '../../scripts/lib/logs/stream.ts';
import { parseWatchEvent, type LogPod } from '../../scripts/lib/tools/kubectl.ts';
import { delay, waitFor } from '../../scripts/lib/core/wait.ts';
import { FakeMachine, type FakePod } from '../lib/fake-machine.ts';

const BACKEND = 'taskflow-backend-5d8f9c7b4-ax2kq';
const FRONTEND = 'taskflow-frontend-5d8f9c7b4-ax2kq';
const MCP = 'taskflow-mcp-5d8f9c7b4-ax2kq';
const POSTGRES = 'taskflow-postgresql-0';

const machines: FakeMachine[] = [];

/** A deployed machine whose pods each say who they are. */
async function deployed(): Promise<FakeMachine> {
  const m = await FakeMachine.deployed();
  machines.push(m);
  m.patchState((s) => {
    for (const p of pods(s)) p.logs = `hello from ${p.name}\nready`;
  });
  return m;
}

const pods = (s: ReturnType<FakeMachine['state']>): FakePod[] => s.kube.pods.taskflow?.taskflow ?? [];
const logCalls = (m: FakeMachine) => m.calls().filter((c) => c.tool === 'kubectl' && c.args.includes('logs')).map((c) => c.args.join(' '));

const LIST = '--context taskflow --namespace taskflow get pods --selector app.kubernetes.io/instance=taskflow --output json';
const WATCH = '--context taskflow --namespace taskflow get pods --selector app.kubernetes.io/instance=taskflow --watch --output-watch-events --output json';
/** Every `kubectl get pods` the fakes received: the list reads and the watches. */
const podCalls = (m: FakeMachine) => m.calls().filter((c) => c.tool === 'kubectl' && c.args.includes('get') && c.args.includes('pods')).map((c) => c.args.join(' '));
/** The fake kubectl processes running now: the log followers, and the pod watches. */
const followers = (m: FakeMachine) => m.liveCalls().filter((c) => c.args.includes('logs'));
const watches = (m: FakeMachine) => m.liveCalls().filter((c) => c.args.includes('--watch'));

/** A running `logs` that the test reads while it runs and stops in the end. */
const follow = (m: FakeMachine, args: string[] = []) => m.start('logs.ts', args, { waitMs: 15_000, killAfterMs: 60_000 });

/** Waits until the fakes the command started have all exited, and says which are left if not. */
async function noneLeft(m: FakeMachine): Promise<void> {
  await waitFor(() => m.liveProcesses().length === 0, { timeout: 5000, interval: 50, describe: 'every kubectl to exit', onTimeout: () => new Error(`still running: ${m.liveProcesses().join(', ')}`) });
}

const Logs = suite('logs');

Logs.after(() => {
  for (const m of machines) m.remove();
});

Logs('--no-follow prints every component\'s lines, each prefixed with its component and short pod name, one kubectl per container', async () => {
  const m = await deployed();
  const r = await m.run('logs.ts', ['--no-follow']);
  assert.is(r.code, 0, r.output);
  assert.equal(r.stdout.trim().split('\n'), [
    `backend 5d8f9c7b4-ax2kq hello from ${BACKEND}`,
    'backend 5d8f9c7b4-ax2kq ready',
    `frontend 5d8f9c7b4-ax2kq hello from ${FRONTEND}`,
    'frontend 5d8f9c7b4-ax2kq ready',
    `mcp 5d8f9c7b4-ax2kq hello from ${MCP}`,
    'mcp 5d8f9c7b4-ax2kq ready',
    `postgresql 0 hello from ${POSTGRES}`,
    'postgresql 0 ready',
  ]);
  assert.not.match(r.stdout, /\x1b\[/, 'no colour into a pipe');
  assert.equal(logCalls(m), [
    `--context taskflow --namespace taskflow logs ${BACKEND} --container backend`,
    `--context taskflow --namespace taskflow logs ${FRONTEND} --container frontend`,
    `--context taskflow --namespace taskflow logs ${MCP} --container mcp`,
    `--context taskflow --namespace taskflow logs ${POSTGRES} --container postgresql`,
  ]);
  assert.ok(m.calls().some((c) => c.args.join(' ') === '--context taskflow --namespace taskflow get pods --selector app.kubernetes.io/instance=taskflow --output json'));
});

Logs('following: new lines stream in, a pod replaced mid-stream is picked up with its new prefix, and the old one\'s kubectl ends', async () => {
  const m = await deployed();
  const run = follow(m);
  try {
    // The followers start together, so their first lines come in any order.
    for (const c of ['backend 5d8f9c7b4-ax2kq', 'frontend 5d8f9c7b4-ax2kq', 'mcp 5d8f9c7b4-ax2kq', 'postgresql 0']) await run.until(new RegExp(`^${c} ready$`, 'm'), `${c}'s first lines`);

    m.patchState((s) => {
      const be = pods(s).find((p) => p.name === BACKEND)!;
      be.logs += '\nGET /api/v1/tasks 200';
    });
    await run.until(/^backend 5d8f9c7b4-ax2kq GET \/api\/v1\/tasks 200$/m, 'a line written while following');

    // A rollout: the old backend pod goes, a new one with another name comes.
    m.patchState((s) => {
      const list = pods(s);
      const i = list.findIndex((p) => p.name === BACKEND);
      list[i] = { ...list[i]!, name: 'taskflow-backend-7c6b9d8f5-qz7mn', logs: 'started on the new image' };
    });
    await run.until(/^backend 7c6b9d8f5-qz7mn started on the new image$/m, 'the new pod\'s lines with its own prefix');
    // One follower per pod still there (the new backend, frontend, mcp, postgresql): the old one's kubectl ended.
    await waitFor(() => followers(m).length === 4 && !followers(m).some((c) => c.args.includes(BACKEND)), { timeout: 5000, interval: 50, describe: 'the old pod\'s follower to end' });
    assert.ok(logCalls(m).some((a) => a.endsWith('logs taskflow-backend-7c6b9d8f5-qz7mn --container backend --follow')));
    assert.not.match(run.stderr(), /error|not found/i, 'a deleted pod ends quietly');

    const r = await run.interrupt();
    assert.is(r.code, 130, r.output);
    await noneLeft(m);
  } finally {
    await run.interrupt();
  }
});

Logs('a StatefulSet pod recreated under the same name is followed again', async () => {
  const m = await deployed();
  const run = follow(m, ['--component', 'backend,frontend']);
  try {
    await run.until(/^frontend 5d8f9c7b4-ax2kq ready$/m, 'the first lines');
    // The same name, a new pod: what a StatefulSet does after a delete.
    m.patchState((s) => {
      Object.assign(pods(s).find((p) => p.name === FRONTEND)!, { uid: 'uid-recreated', logs: 'fresh start' });
    });
    await run.until(/^frontend 5d8f9c7b4-ax2kq fresh start$/m, 'the recreated pod\'s line');
    assert.is(logCalls(m).filter((a) => a.includes(`logs ${FRONTEND} `)).length, 2);
    assert.is((await run.interrupt()).code, 130);
    await noneLeft(m);
  } finally {
    await run.interrupt();
  }
});

Logs('scaling up while following adds the new replica\'s stream', async () => {
  const m = await deployed();
  const run = follow(m, ['--component', 'frontend']);
  try {
    await run.until(/^frontend 5d8f9c7b4-ax2kq ready$/m, 'the frontend\'s first lines');
    m.patchState((s) => {
      const fe = pods(s).find((p) => p.name === FRONTEND)!;
      pods(s).push({ ...fe, name: 'taskflow-frontend-5d8f9c7b4-bx2kq', logs: 'second replica up' });
    });
    await run.until(/^frontend 5d8f9c7b4-bx2kq second replica up$/m, 'the new replica\'s line');
    assert.not.match(run.stdout(), /^(backend|postgresql) /m, '--component keeps the others out');
    assert.is((await run.interrupt()).code, 130);
    await noneLeft(m);
  } finally {
    await run.interrupt();
  }
});

Logs('Ctrl+C stops every kubectl it started, the followers and the watch, and exits 130', async () => {
  const m = await deployed();
  const run = follow(m);
  try {
    await run.until(/^postgresql 0 ready$/m, 'the first lines');
    await waitFor(() => followers(m).length === 4 && watches(m).length === 1, { timeout: 5000, interval: 50, describe: 'one follower per pod and the watch' });
    const r = await run.interrupt();
    assert.is(r.code, 130, r.output);
    assert.match(r.stderr, /logs stopped/);
    await noneLeft(m);
  } finally {
    await run.interrupt();
  }
});

Logs('following reads the pod list once, then only watches: no kubectl get pods every few seconds', async () => {
  const m = await deployed();
  const run = follow(m);
  try {
    await run.until(/^postgresql 0 ready$/m, 'the first lines');
    await waitFor(() => watches(m).length === 1, { timeout: 5000, interval: 50, describe: 'the pod watch to run' });
    // Nothing is expected to happen here: the window is long enough for a poll to show.
    await delay(POLL_MS * 2.5);
    assert.equal(podCalls(m), [LIST, WATCH]);
    assert.equal(watches(m).map((c) => c.args.join(' ')), [WATCH]);
    assert.is((await run.interrupt()).code, 130);
    await noneLeft(m);
  } finally {
    await run.interrupt();
  }
});

Logs('a replica added by scale is picked up through the watch, without reading the list again', async () => {
  const m = await deployed();
  const run = follow(m, ['--component', 'frontend']);
  try {
    await run.until(/^frontend 5d8f9c7b4-ax2kq ready$/m, 'the frontend\'s first lines');
    await waitFor(() => watches(m).length === 1, { timeout: 5000, interval: 50, describe: 'the pod watch to run' });
    const scaled = await m.run('scale.ts', ['--frontend', '2']);
    assert.is(scaled.code, 0, scaled.output);
    await run.until(/^frontend 5d8f9c7b4-bx2kq INFO: {5}Application startup complete\.$/m, 'the new replica\'s line');
    // scale reads pods for itself; logs made one list read and one watch, and that watch still runs.
    const mine = m.calls().filter((c) => c.tool === 'kubectl' && (c.args.join(' ') === LIST || c.args.join(' ') === WATCH));
    assert.ok(mine.filter((c) => c.args.includes('--watch')).length === 1, podCalls(m).join('\n'));
    assert.equal(watches(m).map((c) => c.args.join(' ')), [WATCH]);
    assert.not.match(run.stdout(), /^(backend|postgresql) /m, '--component keeps the others out');
    assert.is((await run.interrupt()).code, 130);
    await noneLeft(m);
  } finally {
    await run.interrupt();
  }
});

Logs('a watch the API server ends (its timeout) is started again quietly, and a pod added meanwhile is followed', async () => {
  const m = await deployed();
  const run = follow(m, ['--component', 'frontend']);
  try {
    await run.until(/^frontend 5d8f9c7b4-ax2kq ready$/m, 'the first lines');
    await waitFor(() => watches(m).length === 1, { timeout: 5000, interval: 50, describe: 'the pod watch to run' });
    // The server closes the watch (kubectl exits 0, silently) while a replica comes up.
    m.patchState((s) => {
      s.kube.closeWatches = 1;
      const fe = pods(s).find((p) => p.name === FRONTEND)!;
      pods(s).push({ ...fe, name: 'taskflow-frontend-5d8f9c7b4-cx2kq', uid: undefined, logs: 'up while nobody watched' });
    });
    await run.until(/^frontend 5d8f9c7b4-cx2kq up while nobody watched$/m, 'the replica added between two watches');
    await waitFor(() => podCalls(m).filter((c) => c === WATCH).length === 2 && watches(m).length === 1, { timeout: 5000, interval: 50, describe: 'a second watch to run' });
    // One list read at the start and one between the two watches, for the pods deleted meanwhile.
    assert.equal(podCalls(m), [LIST, WATCH, LIST, WATCH]);
    assert.is(run.stderr(), '', 'a watch ending is routine: nothing to say');
    assert.is((await run.interrupt()).code, 130);
    await noneLeft(m);
  } finally {
    await run.interrupt();
  }
});

Logs('a watch that dies (kubectl killed, connection gone) is restarted after a pause, said once, and new pods still come in', async () => {
  const m = await deployed();
  const run = follow(m, ['--component', 'frontend']);
  try {
    await run.until(/^frontend 5d8f9c7b4-ax2kq ready$/m, 'the first lines');
    await waitFor(() => watches(m).length === 1, { timeout: 5000, interval: 50, describe: 'the pod watch to run' });
    const [first] = watches(m);
    process.kill(first!.pid, 'SIGKILL');
    await waitFor(() => watches(m).length === 1 && watches(m)[0]!.pid !== first!.pid, { timeout: 10_000, interval: 50, describe: 'a new watch to run' });
    await waitFor(() => /pods are watched again/.test(run.stderr()), { timeout: 5000, interval: 50, describe: 'the recovery to be said' });
    assert.match(run.stderr(), /✖ the pod watch stopped: kubectl was stopped by SIGKILL; starting it again in 1s\npods are watched again\n/);
    m.patchState((s) => {
      const fe = pods(s).find((p) => p.name === FRONTEND)!;
      pods(s).push({ ...fe, name: 'taskflow-frontend-5d8f9c7b4-dx2kq', uid: undefined, logs: 'after the restart' });
    });
    await run.until(/^frontend 5d8f9c7b4-dx2kq after the restart$/m, 'a pod added after the restart');
    assert.is((await run.interrupt()).code, 130);
    await noneLeft(m);
  } finally {
    await run.interrupt();
  }
});

Logs('where pods may be listed but not watched, it says so and reads the list every 2s instead', async () => {
  const m = await deployed();
  m.patchState((s) => void (s.kube.watchForbidden = true));
  const run = follow(m, ['--component', 'frontend']);
  try {
    await run.until(/^frontend 5d8f9c7b4-ax2kq ready$/m, 'the first lines');
    await waitFor(() => /reading the pod list every 2s instead/.test(run.stderr()), { timeout: 5000, interval: 50, describe: 'the fallback to be said' });
    assert.match(run.stderr(), /✖ kubectl get pods --watch is not allowed: Error from server \(Forbidden\): unknown \(get pods\)\n {2}→ reading the pod list every 2s instead/);
    m.patchState((s) => {
      const fe = pods(s).find((p) => p.name === FRONTEND)!;
      pods(s).push({ ...fe, name: 'taskflow-frontend-5d8f9c7b4-ex2kq', uid: undefined, logs: 'found by a list read' });
    });
    await run.until(/^frontend 5d8f9c7b4-ex2kq found by a list read$/m, 'the new pod, found by polling');
    assert.is(podCalls(m).filter((c) => c === WATCH).length, 1, 'the watch is not tried again and again');
    assert.ok(podCalls(m).filter((c) => c === LIST).length >= 2);
    assert.is((await run.interrupt()).code, 130);
    await noneLeft(m);
  } finally {
    await run.interrupt();
  }
});

Logs('--component filters, as a repeated flag or a comma list', async () => {
  const m = await deployed();
  let r = await m.run('logs.ts', ['--no-follow', '--component', 'frontend']);
  assert.is(r.code, 0, r.output);
  assert.equal(r.stdout.trim().split('\n'), [`frontend 5d8f9c7b4-ax2kq hello from ${FRONTEND}`, 'frontend 5d8f9c7b4-ax2kq ready']);
  assert.equal(logCalls(m), [`--context taskflow --namespace taskflow logs ${FRONTEND} --container frontend`]);
  for (const args of [['--component', 'backend,frontend'], ['--component', 'backend', '--component', 'frontend']]) {
    r = await m.run('logs.ts', ['--no-follow', ...args]);
    assert.is(r.code, 0, r.output);
    assert.match(r.stdout, /^backend /m);
    assert.match(r.stdout, /^frontend /m);
    assert.not.match(r.stdout, /^postgresql /m);
  }
});

for (const [args, message] of [
  [['--component', 'backnd'], /--component backnd is not a component of this app\n.*Did you mean backend\? The app declares: backend, frontend/],
  [['--component', 'frontend,worker'], /--component worker is not a component of this app/],
  [['--since', '10x'], /--since "10x" is not a duration/],
  [['--since', '0m'], /--since "0m" is not a duration/],
  [['--tail', '5'], /Unknown option '--tail'/],
] as const) {
  Logs(`bad input ${JSON.stringify(args.join(' '))} exits 2 and starts no process`, async () => {
    const m = machines[0] ?? (await deployed());
    m.clearCalls();
    const r = await m.run('logs.ts', [...args]);
    assert.is(r.code, 2, r.output);
    assert.match(r.stderr, message);
    assert.equal(m.calls(), []);
  });
}

Logs('--since reaches kubectl as --since=D', async () => {
  const m = await deployed();
  const r = await m.run('logs.ts', ['--no-follow', '--since', '1h30m', '--component', 'backend']);
  assert.is(r.code, 0, r.output);
  assert.equal(logCalls(m), [`--context taskflow --namespace taskflow logs ${BACKEND} --container backend --since=1h30m`]);
});

Logs('--previous prints the crashed instance\'s lines and notes the containers that never restarted, then exits', async () => {
  const m = await deployed();
  m.patchState((s) => {
    const be = pods(s).find((p) => p.name === BACKEND)!;
    Object.assign(be, { restarts: 2, previousLogs: 'Traceback (most recent call last):\nKeyError: DATABASE_URL' });
  });
  const r = await m.run('logs.ts', ['--previous']);
  assert.is(r.code, 0, r.output);
  assert.equal(r.stdout.trim().split('\n'), ['backend 5d8f9c7b4-ax2kq Traceback (most recent call last):', 'backend 5d8f9c7b4-ax2kq KeyError: DATABASE_URL']);
  assert.match(r.stderr, /frontend 5d8f9c7b4-ax2kq: no previous container: it has not restarted/);
  assert.match(r.stderr, /postgresql 0: no previous container: it has not restarted/);
  assert.ok(logCalls(m).every((a) => a.endsWith('--previous') && !a.includes('--follow')), logCalls(m).join('\n'));
});

Logs('--no-follow notes a container that has not started yet and still prints the others', async () => {
  const m = await deployed();
  m.patchState((s) => {
    Object.assign(pods(s).find((p) => p.name === BACKEND)!, { waiting: 'ImagePullBackOff', phase: 'Pending', ready: false });
  });
  const r = await m.run('logs.ts', ['--no-follow']);
  assert.is(r.code, 0, r.output);
  assert.match(r.stderr, /backend 5d8f9c7b4-ax2kq: not started yet \(trying and failing to pull image\)/);
  assert.not.match(r.stdout, /^backend /m);
  assert.match(r.stdout, /^frontend 5d8f9c7b4-ax2kq ready$/m);
});

Logs('--json prints one object per line with component, pod and line', async () => {
  const m = await deployed();
  const r = await m.run('logs.ts', ['--no-follow', '--json']);
  assert.is(r.code, 0, r.output);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, string>);
  assert.is(lines.length, 8);
  assert.equal(lines[0], { component: 'backend', pod: BACKEND, line: `hello from ${BACKEND}` });
  assert.equal(new Set(lines.map((l) => l.component)), new Set(['backend', 'frontend', 'mcp', 'postgresql']));
});

Logs('with no release installed it says to run setup (exit 3)', async () => {
  const m = await deployed();
  m.patchState((s) => {
    s.kube.pods.taskflow!.taskflow = [];
    s.helm.releases = {};
  });
  const r = await m.run('logs.ts', ['--no-follow']);
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /release taskflow is not installed in namespace taskflow/);
});

Logs('with no cluster at all it exits 3 naming the missing context', async () => {
  const m = await FakeMachine.create();
  machines.push(m);
  const r = await m.run('logs.ts', []);
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /kube context taskflow does not exist/);
  assert.equal(m.liveProcesses(), []);
});

Logs.run();

// ── the pure parts ───────────────────────────────────────────────────────────────────────────

const Parts = suite('logs: parsing and planning');

const pod = (name: string, component: string, state: 'running' | 'waiting' = 'running', restarts = 0): LogPod => ({
  name,
  uid: `uid-${name}`,
  labels: { 'app.kubernetes.io/component': component },
  containers: [{ name: component, state, restarts }],
});

Parts('a component name is checked against the declared ones, with a did-you-mean', () => {
  assert.equal(parseComponents(['backend,frontend', 'backend'], ['backend', 'frontend']), ['backend', 'frontend']);
  assert.throws(() => parseComponents(['fronted'], ['backend', 'frontend']), /Did you mean frontend\?|not a component/);
  assert.throws(() => parseComponents([','], ['backend']), /empty/);
});

Parts('--since takes h, m and s durations and nothing else', () => {
  for (const ok of ['10m', '90s', '1h30m', '1.5h']) assert.is(parseSince(ok), ok);
  for (const bad of ['10', '10x', '-5m', '0s', 'm', '']) assert.throws(() => parseSince(bad), /not a duration/);
});

Parts('colour only on a terminal without NO_COLOR', () => {
  assert.is(useColor(true, {}), true);
  assert.is(useColor(true, { NO_COLOR: '1' }), false);
  assert.is(useColor(false, {}), false);
  assert.is(useColor(undefined, {}), false);
  const [t] = targetsOf([pod('taskflow-backend-abc-1', 'backend')], 'taskflow', []);
  assert.is(formatLine(t!, 'x', { json: false, color: true, declared: ['backend'] }), '\x1b[36mbackend abc-1\x1b[0m x');
  assert.is(formatLine(t!, 'x', { json: false, color: false, declared: ['backend'] }), 'backend abc-1 x');
});

Parts('pod names are cut to what tells replicas apart', () => {
  assert.is(shortPod('taskflow', 'backend', 'taskflow-backend-5d8f9c7b4-ax2kq'), '5d8f9c7b4-ax2kq');
  assert.is(shortPod('shop', 'backend', 'shop-taskflow-backend-5d8f9c7b4-ax2kq'), '5d8f9c7b4-ax2kq');
  assert.is(shortPod('taskflow', 'backend', 'something-else'), 'something-else');
});

Parts('planning: running containers get a follower once per instance; gone pods lose theirs; terminating ones keep it', () => {
  const a = pod('taskflow-backend-x-1', 'backend');
  const waiting = pod('taskflow-backend-x-2', 'backend', 'waiting');
  const targets = (ps: LogPod[]) => targetsOf(ps, 'taskflow', []);
  let plan = planFollow([a, waiting], targets([a, waiting]), new Set(), new Set());
  assert.equal(plan.start.map((t) => t.pod), ['taskflow-backend-x-1']);
  plan = planFollow([a], targets([a]), new Set(['taskflow-backend-x-1/backend', 'taskflow-backend-old/backend']), new Set());
  assert.equal(plan, { start: [], stop: ['taskflow-backend-old/backend'] });
  // Followed to its end already: not again, until the container restarts.
  plan = planFollow([a], targets([a]), new Set(), new Set(['uid-taskflow-backend-x-1/backend#0']));
  assert.equal(plan.start, []);
  const restarted = pod('taskflow-backend-x-1', 'backend', 'running', 1);
  plan = planFollow([restarted], targets([restarted]), new Set(), new Set(['uid-taskflow-backend-x-1/backend#0']));
  assert.equal(plan.start.map((t) => t.restarts), [1]);
  // The same name, a new pod (a StatefulSet's): a new instance too.
  const recreated = { ...a, uid: 'uid-new' };
  plan = planFollow([recreated], targets([recreated]), new Set(), new Set(['uid-taskflow-backend-x-1/backend#0']));
  assert.equal(plan.start.map((t) => t.pod), ['taskflow-backend-x-1']);
});

Parts('kubectl\'s errors: a gone pod is quiet, a container not started yet is retried, the rest are reported', () => {
  assert.equal(classifyLogError('Error from server (NotFound): pods "p" not found'), { kind: 'gone' });
  assert.is(classifyLogError('Error from server (BadRequest): container "backend" in pod "p" is waiting to start: ContainerCreating').kind, 'not-started');
  assert.is(classifyLogError('Error from server (BadRequest): previous terminated container "backend" in pod "p" not found').kind, 'no-previous');
  assert.is(classifyLogError('error: You must be logged in to the server (Unauthorized)').kind, 'error');
});

Parts('the watch stream: concatenated JSON values are split wherever the text breaks, pretty-printed or one per line', () => {
  const events = [
    { type: 'ADDED', object: { kind: 'Pod', metadata: { name: 'a', uid: '1', labels: { x: 'y}{"' } }, spec: { containers: [{ name: 'c' }] } } },
    { type: 'DELETED', object: { kind: 'Pod', metadata: { name: 'a', uid: '1' }, spec: { containers: [{ name: 'c' }] } } },
  ];
  for (const text of [events.map((e) => `${JSON.stringify(e)}\n`).join(''), events.map((e) => `${JSON.stringify(e, null, 4)}\n`).join('')]) {
    for (const size of [1, 7, 64, text.length]) {
      const stream = new JsonStream();
      const got: unknown[] = [];
      for (let i = 0; i < text.length; i += size) got.push(...stream.push(text.slice(i, i + size)));
      assert.equal(got, events, `pieces of ${size}`);
      assert.is(stream.pending(), false);
    }
  }
  const half = new JsonStream();
  assert.equal(half.push('{"type":"ADDED","object":{"meta'), []);
  assert.is(half.pending(), true);
  assert.throws(() => new JsonStream().push('W1201 a klog line\n'), /not a JSON object/);
});

Parts('watch events become pod changes; an ERROR ends the watch; a bookmark is skipped', () => {
  const object = { metadata: { name: 'taskflow-backend-x-1', uid: 'u1', labels: { 'app.kubernetes.io/component': 'backend' } }, spec: { containers: [{ name: 'backend' }] }, status: { containerStatuses: [{ name: 'backend', restartCount: 2, state: { running: {} } }] } };
  assert.equal(parseWatchEvent({ type: 'MODIFIED', object }), { type: 'MODIFIED', pod: { name: 'taskflow-backend-x-1', uid: 'u1', labels: { 'app.kubernetes.io/component': 'backend' }, containers: [{ name: 'backend', state: 'running', restarts: 2 }] } });
  assert.equal(parseWatchEvent({ type: 'ERROR', object: { kind: 'Status', message: 'too old resource version: 1 (2)', code: 410 } }), { type: 'ERROR', message: 'too old resource version: 1 (2)' });
  assert.is(parseWatchEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '5' } } }), undefined);
  assert.throws(() => parseWatchEvent({ type: 'ADDED', object: { kind: 'Status' } }), /without a pod/);
});

Parts('pod changes: added and modified replace by name, a delete of an older pod of the same name is ignored', () => {
  const known = new Map<string, LogPod>();
  const a = pod('taskflow-postgresql-0', 'postgresql');
  applyPodEvent(known, { type: 'ADDED', pod: a });
  const recreated = { ...a, uid: 'uid-new' };
  applyPodEvent(known, { type: 'ADDED', pod: recreated });
  applyPodEvent(known, { type: 'DELETED', pod: a });
  assert.equal([...known.values()], [recreated]);
  applyPodEvent(known, { type: 'DELETED', pod: recreated });
  assert.is(known.size, 0);
});

Parts('a watch\'s end: exit 0 is routine, Forbidden means poll instead, anything else is a failure with its reason', () => {
  assert.equal(classifyWatchEnd({ code: 0, signal: null }, ''), { kind: 'closed' });
  assert.equal(classifyWatchEnd({ code: 1, signal: null }, 'Error from server (Forbidden): unknown (get pods)'), { kind: 'forbidden', message: 'Error from server (Forbidden): unknown (get pods)' });
  assert.equal(classifyWatchEnd({ code: 1, signal: null }, 'The connection to the server 192.168.49.2:8443 was refused - did you specify the right host or port?').kind, 'failed');
  assert.equal(classifyWatchEnd({ code: null, signal: 'SIGKILL' }, ''), { kind: 'failed', message: 'kubectl was stopped by SIGKILL' });
  assert.equal(classifyWatchEnd({ code: 1, signal: null }, ''), { kind: 'failed', message: 'kubectl exited 1 without saying why' });
});

Parts('restarting the watch: at once after a healthy one, then 1 s doubling up to 30 s', () => {
  assert.equal([0, 1, 2, 3, 4, 5, 6, 7, 50].map(watchRestartDelay), [0, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
});

Parts.run();
