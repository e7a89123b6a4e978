// port-forward as a real process over the fake kubectl, whose tunnels really forward to local
// "pods": readiness through the ports, reconnects, Ctrl+C, --detach/--stop, busy ports, failures.
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readPidRecord } from '../../scripts/lib/core/pidfile.ts';
import { freePort } from '../../scripts/lib/core/net.ts';
import { until } from '../lib/wait.ts';
import { alive, get, makeWorld, runCommand, runToEnd, startPod, type Pod, type Run, type World } from './harness.ts';

type Scene = { world: World; frontend: Pod; backend: Pod; ports: { frontend: number; backend: number }; runs: Run[] };

const TARGETS = (fe: Pod, be: Pod) => ({ 'service/taskflow-frontend': fe.port, 'service/taskflow-backend': be.port });

async function scene(opts: { kubectl?: boolean } = {}): Promise<Scene> {
  const frontend = await startPod('frontend pod 1');
  const backend = await startPod('backend pod 1');
  const world = makeWorld(TARGETS(frontend, backend), opts);
  return { world, frontend, backend, ports: { frontend: await freePort(), backend: await freePort() }, runs: [] };
}

function portArgs(s: Scene): string[] {
  return ['--frontend-port', String(s.ports.frontend), '--backend-port', String(s.ports.backend)];
}

/** Stops whatever a scenario started: the command, any kubectl it left (a failure to report, not to leak), the pods. */
async function teardown(s: Scene): Promise<void> {
  try {
    for (const r of s.runs) await r.stop();
    const pid = readPidRecord(s.world.pidFile)?.pid;
    if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
    for (const c of s.world.calls()) if (alive(c.pid)) process.kill(c.pid, 'SIGKILL');
  } finally {
    await s.frontend.stop();
    await s.backend.stop();
    s.world.cleanup();
  }
}

function start(s: Scene, args: string[], env: Record<string, string> = {}): Run {
  const run = runCommand(s.world, args, env);
  s.runs.push(run);
  return run;
}

const reconnectLines = (out: string) => out.split('\n').filter((l) => /reconnecting in/.test(l));

const fg = suite('port-forward in the foreground');

fg('is ready only once both tunnels answer their health paths, with the exact kubectl argv', async () => {
  const s = await scene();
  try {
    const run = start(s, [...portArgs(s), '--driver', 'kind', '--namespace', 'apps']);
    await run.waitFor(/^ready: /m);
    assert.match(run.output(), new RegExp(`✔ frontend — localhost:${s.ports.frontend} → service/taskflow-frontend:3000, GET /api/health 200`));
    assert.match(run.output(), new RegExp(`✔ backend — localhost:${s.ports.backend} → service/taskflow-backend:8000, GET /health 200`));
    assert.ok(s.frontend.hits >= 1 && s.backend.hits >= 1, 'the health checks went through the tunnels to the pods');
    assert.is(await get(s.ports.frontend, '/'), 'frontend pod 1');
    assert.is(await get(s.ports.backend, '/'), 'backend pod 1');
    const argv = s.world.calls().map((c) => c.args);
    assert.equal(argv.sort(), [
      ['--context', 'kind-taskflow', '--namespace', 'apps', 'port-forward', 'service/taskflow-backend', `${s.ports.backend}:8000`],
      ['--context', 'kind-taskflow', '--namespace', 'apps', 'port-forward', 'service/taskflow-frontend', `${s.ports.frontend}:3000`],
    ]);
    assert.is(readPidRecord(s.world.pidFile)?.pid, run.child.pid, 'the foreground supervisor records itself');
  } finally {
    await teardown(s);
  }
});

fg('a kubectl that exits is restarted and the tunnel answers again, once per reconnect line', async () => {
  const s = await scene();
  try {
    const run = start(s, [...portArgs(s), '--context', 'my-cluster']);
    await run.waitFor(/^ready: /m);
    const first = s.world.calls();
    assert.is(first.length, 2);
    assert.ok(first.every((c) => c.args[1] === 'my-cluster'), '--context wins over the driver');

    // Rollout: kubectl loses its pod and exits non-zero.
    const fe = first.find((c) => c.args.includes('service/taskflow-frontend'))!;
    process.kill(fe.pid, 'SIGUSR2');
    await run.waitFor(/↻ frontend: kubectl port-forward ended \(exit 1: error: lost connection to pod\); reconnecting in 500ms/);
    await until('a new frontend kubectl', () => s.world.calls().length === 3);
    assert.is(await until('the frontend tunnel to answer again', () => get(s.ports.frontend, '/api/health')), '{"status":"ok"}');

    // A rollout replaces the backend pod: the Service now leads to a new one, the old one is gone,
    // and the running kubectl, pinned to the old pod, fails on the next request.
    const replacement = await startPod('backend pod 2');
    s.world.setTargets(TARGETS(s.frontend, replacement));
    await s.backend.stop();
    s.backend = replacement;
    assert.is(await get(s.ports.backend, '/'), undefined);
    await run.waitFor(/↻ backend: kubectl port-forward ended \(exit 1: error: lost connection to pod\)/);
    assert.is(await until('the backend tunnel to reach the new pod', () => get(s.ports.backend, '/')), 'backend pod 2');

    assert.is(reconnectLines(run.output()).length, 2, run.output());
    assert.is(s.world.calls().length, 4);
    const [old1, old2] = [fe.pid, first.find((c) => c !== fe)!.pid];
    assert.not.ok(alive(old1) || alive(old2), 'the replaced kubectl processes are gone');
  } finally {
    await teardown(s);
  }
});

fg('Ctrl+C stops every kubectl it started and exits 130', async () => {
  const s = await scene();
  try {
    const run = start(s, portArgs(s));
    await run.waitFor(/^ready: /m);
    // One reconnect first, so a replaced child is accounted for too.
    process.kill(s.world.calls()[0]!.pid, 'SIGUSR2');
    await until('a third kubectl', () => s.world.calls().length === 3);
    await until('it to forward', () => get(s.ports.frontend, '/api/health'));
    run.child.kill('SIGINT');
    assert.is(await run.exited, 130);
    const pids = s.world.calls().map((c) => c.pid);
    await until(`kubectl ${pids.join(', ')} to be gone`, () => pids.every((p) => !alive(p)), { timeoutMs: 5000 });
    assert.not.ok(existsSync(s.world.pidFile), 'the PID file is removed');
    assert.is(await get(s.ports.frontend, '/'), undefined, 'nothing listens on the port any more');
  } finally {
    await teardown(s);
  }
});

fg.run();

const bg = suite('port-forward --detach and --stop');

bg('--detach returns once healthy, a second run says it is already running, --stop ends it all', async () => {
  const s = await scene();
  try {
    const detached = await runToEnd(s.world, ['--detach', ...portArgs(s)]);
    assert.is(detached.code, 0, detached.output);
    assert.match(detached.output, /✔ background supervisor — pid \d+, tunnels healthy/);
    assert.match(detached.output, new RegExp(`ready: frontend http://localhost:${s.ports.frontend} +backend http://localhost:${s.ports.backend}`));
    const record = readPidRecord(s.world.pidFile)!;
    const pid = record.pid;
    assert.ok(alive(pid), 'the supervisor outlives the command that started it');
    assert.ok(record.endpoint, 'the PID file names its control endpoint');
    assert.is(await get(s.ports.frontend, '/'), 'frontend pod 1');
    assert.is(await get(s.ports.backend, '/'), 'backend pod 1');
    assert.match(readFileSync(`${s.world.root}/.cache/logs/port-forward.log`, 'utf8'), /^ready: /m);

    const second = await runToEnd(s.world, portArgs(s));
    assert.is(second.code, 0, second.output);
    assert.match(second.output, new RegExp(`port-forward is already running \\(pid ${pid}\\)`));
    assert.is(s.world.calls().length, 2, 'the second run started no kubectl');

    const stopped = await runToEnd(s.world, ['--stop']);
    assert.is(stopped.code, 0, stopped.output);
    assert.match(stopped.output, new RegExp(`port-forward: stopped \\(pid ${pid}\\)`));
    const log = readFileSync(`${s.world.root}/.cache/logs/port-forward.log`, 'utf8');
    assert.match(log, /port-forward: stopped \(stop requested\)/, 'it was asked, not signalled');
    for (const text of [detached.output, stopped.output, log]) assert.not.ok(text.includes(record.endpoint!.token), 'the token was printed');
    assert.not.ok(existsSync(s.world.pidFile));
    assert.not.ok(alive(pid));
    const kubectls = s.world.calls().map((c) => c.pid);
    await until('its kubectl processes to be gone', () => kubectls.every((p) => !alive(p)), { timeoutMs: 5000 });

    const again = await runToEnd(s.world, ['--stop']);
    assert.is(again.code, 0);
    assert.match(again.output, /port-forward: none running/);
  } finally {
    await teardown(s);
  }
});

bg('a stale PID file (its process gone) does not block a new run', async () => {
  const s = await scene();
  try {
    const detached = await runToEnd(s.world, ['--detach', ...portArgs(s)]);
    assert.is(detached.code, 0, detached.output);
    const pid = readPidRecord(s.world.pidFile)!.pid;
    process.kill(pid, 'SIGKILL');
    await until('the supervisor to die', () => !alive(pid));
    for (const c of s.world.calls()) process.kill(c.pid, 'SIGTERM');
    await until('its kubectl to die', () => s.world.calls().every((c) => !alive(c.pid)));
    const run = start(s, portArgs(s));
    await run.waitFor(/^ready: /m);
  } finally {
    await teardown(s);
  }
});

bg('--detach reports why the background supervisor could not start, and leaves no PID file', async () => {
  const s = await scene();
  try {
    const r = await runToEnd(s.world, ['--detach', ...portArgs(s)], { TASKFLOW_RELEASE: 'other' });
    assert.is(r.code, 1, r.output);
    assert.match(r.output, /the background port-forward stopped: service\/other-taskflow-(frontend|backend) was not found/);
    assert.match(r.output, /\.cache\/logs\/port-forward\.log/);
    assert.not.ok(existsSync(s.world.pidFile));
  } finally {
    await teardown(s);
  }
});

bg.run();

const ports = suite('busy ports and failures');

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

ports('a port in use stops it with exit 2 naming the port and who holds it; --auto-port takes the next free one', async () => {
  const s = await scene();
  const squatter = await hold(s.ports.frontend);
  try {
    const busy = await runToEnd(s.world, portArgs(s));
    assert.is(busy.code, 2, busy.output);
    const holder = existsSync('/usr/bin/lsof') ? ` by node \\(pid ${process.pid}\\)` : '';
    assert.match(busy.output, new RegExp(`✖ port ${s.ports.frontend} \\(frontend\\) is in use${holder}`));
    assert.match(busy.output, /--auto-port/);
    assert.is(s.world.calls().length, 0, 'no kubectl was started');

    const run = start(s, ['--auto-port', ...portArgs(s)]);
    await run.waitFor(/^ready: /m);
    const chosen = Number(new RegExp('✔ frontend — localhost:(\\d+)').exec(run.output())?.[1]);
    assert.ok(chosen > 0 && chosen !== s.ports.frontend && chosen !== s.ports.backend, `chose ${chosen}`);
    assert.match(run.output(), new RegExp(`frontend ${chosen} \\(${s.ports.frontend} is in use`));
    assert.is(await get(chosen, '/'), 'frontend pod 1');
  } finally {
    squatter.close();
    await teardown(s);
  }
});

ports('a release that is not installed is reported with exit 1 instead of retried forever', async () => {
  const s = await scene();
  try {
    const other = runCommand(s.world, portArgs(s), { TASKFLOW_RELEASE: 'other' });
    s.runs.push(other);
    const code = await other.exited;
    assert.is(code, 1, other.output());
    assert.match(other.output(), /service\/other-taskflow-(frontend|backend) was not found in namespace taskflow \(context taskflow\)/);
    assert.match(other.output(), /Run setup first/);
  } finally {
    await teardown(s);
  }
});

ports('no kubectl on PATH is a missing prerequisite (exit 3)', async () => {
  const s = await scene({ kubectl: false });
  try {
    const r = await runToEnd(s.world, portArgs(s));
    assert.is(r.code, 3, r.output);
    assert.match(r.output, /kubectl was not found on PATH/);
    assert.not.ok(existsSync(s.world.pidFile));
  } finally {
    await teardown(s);
  }
});

ports('--help lists the flags', async () => {
  const s = await scene();
  try {
    const r = await runToEnd(s.world, ['--help']);
    assert.is(r.code, 0);
    for (const flag of ['--auto-port', '--detach', '--stop', '--frontend-port', '--backend-port', '--driver', '--context', '--namespace', '--verbose']) assert.ok(r.output.includes(flag), flag);
    const bad = await runToEnd(s.world, ['--frontend-port', 'abc']);
    assert.is(bad.code, 2);
    assert.match(bad.output, /TASKFLOW_FRONTEND_PORT: "abc" \(from --frontend-port\) is not a port/);
  } finally {
    await teardown(s);
  }
});

ports.run();
