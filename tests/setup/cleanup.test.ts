// cleanup from a full, a half-removed and an empty state, each twice: it removes what is there,
// reports what is already gone, and the second run changes nothing. env files are never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { portForwardPidFile, readPidRecord } from '../../scripts/lib/pidfile.ts';
import { waitFor } from '../../scripts/lib/wait.ts';
import { collect, describeCalls, FakeMachine, mutating } from '../lib/fake-machine.ts';
import { root } from '../lib/chart.ts';
import { alive, freePort, startPod } from '../port-forward/harness.ts';

const Cleanup = suite('cleanup');
const machines: FakeMachine[] = [];

async function deployed(env = ''): Promise<FakeMachine> {
  const m = await FakeMachine.deployed({ env });
  machines.push(m);
  return m;
}

const pidfileModule = pathToFileURL(join(root, 'scripts', 'lib', 'pidfile.ts')).href;

/**
 * A stand-in supervisor: serves the control endpoint with pidfile.ts's own serveControl and, asked
 * to stop, removes its PID file and exits 0. Nothing in its argv says port-forward, so only the
 * endpoint can vouch for it. Resolves once the PID file names it.
 */
async function standIn(pidFile: string): Promise<ChildProcess> {
  const code = `
const { serveControl, removePidFileOf } = await import(${JSON.stringify(pidfileModule)});
const pidFile = process.env.STAND_IN_PID_FILE;
await serveControl(pidFile, () => { removePidFileOf(pidFile, process.pid); process.exit(0); });
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

/** A live process that is no supervisor. */
function bystander(): ChildProcess {
  return spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
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
