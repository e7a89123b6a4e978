// cleanup from a full, a half-removed and an empty state, each twice: it removes what is there,
// reports what is already gone, and the second run changes nothing. env files are never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { identify, portForwardPidFile, readPidRecord, runningInstance, stopRunning, systemProbe, type Probe } from '../../scripts/lib/core/pidfile.ts';
import { freePort } from '../../scripts/lib/core/net.ts';
import { waitFor } from '../../scripts/lib/core/wait.ts';
import { collect, describeCalls, FakeMachine, mutating } from '../lib/fake-machine.ts';
import { root } from '../lib/chart.ts';
import { alive, startPod } from '../port-forward/harness.ts';

const Cleanup = suite('cleanup');
const machines: FakeMachine[] = [];

async function deployed(env = ''): Promise<FakeMachine> {
  const m = await FakeMachine.deployed({ env });
  machines.push(m);
  return m;
}

const pidfileModule = pathToFileURL(join(root, 'scripts', 'lib', 'core', 'pidfile.ts')).href;

/**
 * A stand-in supervisor: serves the control endpoint with pidfile.ts's own serveControl and, asked
 * to stop, removes its PID file and exits 0 (or, `hung`, carries on). Nothing in its argv says
 * port-forward, so only the endpoint can vouch for it. Resolves once the PID file names it.
 */
async function standIn(pidFile: string, opts: { hung?: boolean } = {}): Promise<ChildProcess> {
  const onStop = opts.hung ? '() => {}' : '() => { removePidFileOf(pidFile, process.pid); process.exit(0); }';
  const code = `
const { serveControl, removePidFileOf } = await import(${JSON.stringify(pidfileModule)});
const pidFile = process.env.STAND_IN_PID_FILE;
await serveControl(pidFile, ${onStop});
setInterval(() => {}, 60_000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, env: { ...process.env, STAND_IN_PID_FILE: pidFile }, stdio: 'ignore' });
  try {
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`the stand-in supervisor exited (${child.exitCode})`);
        return readPidRecord(pidFile)?.pid === child.pid;
      },
      { timeout: 15_000, interval: 50, describe: 'the stand-in supervisor to record its endpoint' },
    );
  } catch (err) {
    child.kill();
    throw err;
  }
  return child;
}

/** A live process that is no supervisor; `argv` can make it look like one to /proc. */
function bystander(argv: string[] = []): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', ...argv], { stdio: 'ignore' });
}

async function twice(m: FakeMachine, args: string[] = []) {
  const envBefore = readFileSync(m.envFile, 'utf8');
  const first = await m.run('cleanup.ts', args);
  assert.is(first.code, 0, first.output);
  const firstChanges = describeCalls(mutating(m.calls()));
  m.clearCalls();
  const second = await m.run('cleanup.ts', args);
  assert.is(second.code, 0, second.output);
  assert.equal(describeCalls(mutating(m.calls())), [], 'the second cleanup changed something');
  assert.is(readFileSync(m.envFile, 'utf8'), envBefore, 'cleanup touched the env file');
  return { first, second, firstChanges };
}

Cleanup('from a full deployment: uninstalls the release, deletes the namespace and waits for it; then a quiet success', async () => {
  const m = await deployed();
  const { first, second, firstChanges } = await twice(m);
  assert.equal(firstChanges, [
    'helm uninstall taskflow --namespace taskflow --kube-context taskflow --wait --timeout 5m',
    'kubectl --context taskflow delete namespace taskflow --wait=false --ignore-not-found',
  ]);
  assert.match(first.stdout, /namespace taskflow — deleted, with the database volume/);
  const s = m.state();
  assert.equal(s.helm.releases, {});
  assert.is(s.kube.namespaces.taskflow?.taskflow, undefined);
  assert.is(s.minikube.profiles.taskflow?.host, 'Running', 'the cluster was stopped without --cluster');
  assert.match(second.stdout, /release taskflow — skipped: already gone/);
  assert.match(second.stdout, /namespace taskflow — skipped: already gone/);
});

Cleanup('from a half-removed state (release gone, namespace left): removes the namespace only', async () => {
  const m = await deployed();
  m.patchState((s) => {
    s.helm.releases = {};
  });
  const { firstChanges, first } = await twice(m);
  assert.equal(firstChanges, ['kubectl --context taskflow delete namespace taskflow --wait=false --ignore-not-found']);
  assert.match(first.stdout, /release taskflow — skipped: already gone/);
});

Cleanup('from an empty machine (no cluster at all): nothing to do, exit 0, twice', async () => {
  const m = await FakeMachine.create();
  machines.push(m);
  const { firstChanges, first } = await twice(m);
  assert.equal(firstChanges, []);
  assert.match(first.stdout, /cluster missing/);
});

Cleanup('--keep-data removes only the release and keeps the namespace with the database volume', async () => {
  const m = await deployed();
  const { firstChanges } = await twice(m, ['--keep-data']);
  assert.equal(firstChanges, ['helm uninstall taskflow --namespace taskflow --kube-context taskflow --wait --timeout 5m']);
  const s = m.state();
  assert.is(s.kube.namespaces.taskflow?.taskflow?.phase, 'Active');
  assert.equal(s.kube.pvcs.taskflow?.taskflow, ['data-taskflow-taskflow-postgresql-0']);
  // setup after --keep-data reinstalls over the kept volume with the same password.
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
});

Cleanup('--cluster also stops minikube; --purge --yes deletes the profile and the built images', async () => {
  const m = await deployed();
  const stop = await m.run('cleanup.ts', ['--cluster']);
  assert.is(stop.code, 0, stop.output);
  assert.is(m.state().minikube.profiles.taskflow?.host, 'Stopped');
  m.clearCalls();
  const again = await m.run('cleanup.ts', ['--cluster']);
  assert.is(again.code, 0);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.match(again.stdout, /already stopped/);
  const purge = await m.run('cleanup.ts', ['--purge', '--yes']);
  assert.is(purge.code, 0, purge.output);
  const s = m.state();
  assert.is(s.minikube.profiles.taskflow, undefined);
  assert.equal(s.docker.images.filter((i) => i.startsWith('taskflow-')), []);
  assert.ok(existsSync(m.envFile), 'purge deleted the env file');
});

Cleanup('--purge without --yes and without a terminal asks for confirmation instead of deleting', async () => {
  const m = await deployed();
  const r = await m.run('cleanup.ts', ['--purge']);
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /needs confirmation/);
  assert.equal(m.calls(), []);
});

Cleanup('a detached port-forward recorded in the PID file is stopped', async () => {
  const m = await deployed();
  const pidFile = portForwardPidFile(root);
  if (existsSync(pidFile)) return; // a real port-forward of the developer's is running; leave it alone
  const supervisor = await standIn(pidFile);
  try {
    const dry = await m.run('cleanup.ts', ['--dry-run']);
    assert.is(dry.code, 0, dry.output);
    assert.match(dry.stdout, new RegExp(`would stop port-forward \\(pid ${supervisor.pid}\\)`));
    assert.is(supervisor.exitCode, null, 'the dry run stopped it');

    const exited = new Promise<number | null>((res) => supervisor.once('exit', (code) => res(code)));
    const r = await m.run('cleanup.ts');
    assert.is(r.code, 0, r.output);
    assert.match(r.stdout, new RegExp(`stopped port-forward \\(pid ${supervisor.pid}\\)`));
    assert.is(await exited, 0, 'it was killed instead of asked to stop');
    assert.not.ok(existsSync(pidFile));
  } finally {
    supervisor.kill();
  }
});

Cleanup('asked to stop, a real port-forward stops its kubectl children itself and exits 0', async () => {
  const m = await deployed();
  const pidFile = portForwardPidFile(root);
  if (existsSync(pidFile)) return; // a real port-forward of the developer's is running; leave it alone
  const frontend = await startPod('frontend pod');
  const backend = await startPod('backend pod');
  const records = join(m.dir, 'port-forward-calls');
  mkdirSync(records);
  const kubectls = () => (existsSync(join(records, 'calls.jsonl')) ? readFileSync(join(records, 'calls.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { pid: number }).pid) : []);
  const ports = ['--frontend-port', String(await freePort()), '--backend-port', String(await freePort())];
  const supervisor = m.spawn('port-forward.ts', ports, {
    FAKE_KUBECTL_PF_TARGETS: JSON.stringify({ 'service/taskflow-frontend': frontend.port, 'service/taskflow-backend': backend.port }),
    FAKE_KUBECTL_PF_DIR: records,
  });
  const ended = collect(supervisor);
  let out = '';
  supervisor.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await waitFor(
      () => {
        if (supervisor.exitCode !== null) throw new Error(`port-forward exited before it was ready:\n${out}`);
        return /^ready: /m.test(out);
      },
      { timeout: 30_000, interval: 100, describe: 'port-forward to be ready' },
    );
    const pids = kubectls();
    assert.is(pids.length, 2, 'one kubectl per tunnel');

    const r = await m.run('cleanup.ts');
    assert.is(r.code, 0, r.output);
    assert.match(r.stdout, new RegExp(`stopped port-forward \\(pid ${supervisor.pid}\\)`));
    const end = await ended;
    assert.is(end.code, 0, end.output);
    assert.match(end.stdout, /port-forward: stopped \(stop requested\)/);
    assert.equal(pids.filter(alive), [], 'a kubectl port-forward outlived its supervisor');
    assert.not.ok(existsSync(pidFile));
  } finally {
    supervisor.kill('SIGKILL');
    for (const pid of kubectls()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await frontend.stop();
    await backend.stop();
  }
});

Cleanup('a stale PID file naming an unrelated live process leaves that process alone', async () => {
  const m = await deployed();
  const pidFile = join(root, '.cache', 'port-forward.pid');
  if (existsSync(pidFile)) return; // a real port-forward of the developer's is running; leave it alone
  // After a reboot the PID in the file can belong to anything: here, a process that is no port-forward.
  const other = bystander();
  mkdirSync(join(root, '.cache'), { recursive: true });
  writeFileSync(pidFile, String(other.pid));
  try {
    const r = await m.run('cleanup.ts');
    assert.is(r.code, 0, r.output);
    assert.match(r.stdout, /none running \(removed a stale PID file\)/);
    assert.is(other.exitCode, null);
    assert.ok(process.kill(other.pid!, 0), 'the unrelated process was signalled');
    assert.not.ok(existsSync(pidFile));
  } finally {
    other.kill();
  }
});

Cleanup.after(() => {
  for (const m of machines) m.remove();
});
Cleanup.run();

const Identity = suite('port-forward PID file identity');
const endpoint = { port: 40000, token: 'secret' };

Identity('an endpoint that answers with the token and the PID in the file is ours, on every OS', () => {
  assert.equal(identify({ exists: true, self: false, record: { pid: 42, endpoint }, answered: 42 }), { kind: 'ours', pid: 42, endpoint });
});

Identity('an endpoint that does not answer, or answers for another PID, makes the file stale', () => {
  const stale = { kind: 'stale', why: 'its control endpoint does not answer' };
  assert.equal(identify({ exists: true, self: false, record: { pid: 42, endpoint } }), stale);
  assert.equal(identify({ exists: true, self: false, record: { pid: 42, endpoint }, answered: 43 }), stale);
});

Identity('a bare PID (the old format) is ours only where /proc shows a port-forward', () => {
  const bare = (commandLine?: string) => identify({ exists: true, self: false, record: { pid: 42 }, commandLine });
  assert.equal(bare('node\0scripts/port-forward.ts\0--detach\0'), { kind: 'ours', pid: 42 });
  assert.equal(bare('sleep\0infinity\0'), { kind: 'stale', why: 'the PID is not a port-forward' });
  assert.equal(bare(''), { kind: 'stale', why: 'its process is gone' });
  assert.equal(bare(undefined), { kind: 'stale', why: 'a bare PID that nothing here can verify' });
});

Identity('no file is none; a garbled file, or one naming the process that reads it, is stale', () => {
  assert.equal(identify({ exists: false, self: false }), { kind: 'none' });
  assert.equal(identify({ exists: true, self: false }), { kind: 'stale', why: 'not a PID file' });
  assert.equal(identify({ exists: true, self: true, record: { pid: process.pid, endpoint } }), { kind: 'stale', why: 'names this process' });
});

/** A scratch PID file, removed with its directory afterwards. */
async function withPidFile(fn: (pidFile: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-pid-'));
  try {
    await fn(join(dir, 'port-forward.pid'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Writes a PID file (`contents` of a live bystander's PID) and stops "it": the file is stale, so it
 * is removed and the bystander, whose argv would fool a /proc check, is never signalled.
 */
function leftAlone(contents: (pid: number) => Promise<string>, probe?: Probe): Promise<void> {
  return withPidFile(async (pidFile) => {
    const other = bystander(['port-forward']);
    try {
      writeFileSync(pidFile, await contents(other.pid!));
      assert.is(await runningInstance(pidFile, { probe, keepStale: true }), undefined);
      assert.equal(await stopRunning(pidFile, { probe }), { forced: false, stale: true });
      assert.is(other.exitCode, null);
      assert.ok(alive(other.pid!), 'the unrelated process was signalled');
      assert.not.ok(existsSync(pidFile));
    } finally {
      other.kill();
    }
  });
}

Identity('without /proc (macOS, Windows), a bare PID naming a live process is not signalled, even one that looks like a port-forward', () =>
  leftAlone(async (pid) => String(pid), { ...systemProbe, commandLine: () => undefined }),
);

Identity('a PID file whose endpoint does not answer is stale: the live process it names is left alone', () =>
  leftAlone(async (pid) => JSON.stringify({ pid, port: await freePort(), token: 'secret' })),
);

Identity('an endpoint asked with the wrong token does not vouch for its process', () =>
  withPidFile(async (pidFile) => {
    const supervisor = await standIn(pidFile);
    try {
      const { pid, endpoint: real } = readPidRecord(pidFile)!;
      assert.is(await runningInstance(pidFile, { keepStale: true }), pid);
      writeFileSync(pidFile, JSON.stringify({ pid, port: real!.port, token: `${real!.token}x` }));
      assert.is(await runningInstance(pidFile), undefined);
      assert.not.ok(existsSync(pidFile), 'the file was not treated as stale');
      assert.is(supervisor.exitCode, null);
    } finally {
      supervisor.kill();
    }
  }),
);

Identity('a supervisor that does not stop when asked is killed after the grace time, being proven ours', () =>
  withPidFile(async (pidFile) => {
    const supervisor = await standIn(pidFile, { hung: true });
    try {
      const exited = new Promise<NodeJS.Signals | null>((res) => supervisor.once('exit', (_code, signal) => res(signal)));
      assert.equal(await stopRunning(pidFile, { graceMs: 500 }), { pid: supervisor.pid, forced: true, stale: false });
      assert.is(await exited, 'SIGKILL');
      assert.not.ok(existsSync(pidFile));
    } finally {
      supervisor.kill();
    }
  }),
);

Identity.run();
