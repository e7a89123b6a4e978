// cleanup from a full, a half-removed and an empty state, each twice: it removes what is there,
// reports what is already gone, and the second run changes nothing. env files are never touched.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCalls, FakeMachine, mutating } from '../lib/fake-machine.ts';
import { root } from '../lib/chart.ts';

const Cleanup = suite('cleanup');
const machines: FakeMachine[] = [];

async function deployed(env = ''): Promise<FakeMachine> {
  const m = await FakeMachine.deployed({ env });
  machines.push(m);
  return m;
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
  // Named like a supervisor: cleanup signals only a process that is really a port-forward.
  const sleeper = (await import('node:child_process')).spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)', 'port-forward'], { stdio: 'ignore' });
  const pidFile = join(root, '.cache', 'port-forward.pid');
  const hadPidFile = existsSync(pidFile);
  if (hadPidFile) return; // a real port-forward of the developer's is running; leave it alone
  mkdirSync(join(root, '.cache'), { recursive: true });
  writeFileSync(pidFile, String(sleeper.pid));
  try {
    const exited = new Promise((res) => sleeper.on('exit', res));
    const r = await m.run('cleanup.ts');
    assert.is(r.code, 0, r.output);
    assert.match(r.stdout, new RegExp(`stopped port-forward \\(pid ${sleeper.pid}\\)`));
    await exited;
    assert.not.ok(existsSync(pidFile));
  } finally {
    sleeper.kill();
  }
});

Cleanup('a stale PID file naming an unrelated live process leaves that process alone', async () => {
  const m = await deployed();
  const pidFile = join(root, '.cache', 'port-forward.pid');
  if (existsSync(pidFile)) return; // a real port-forward of the developer's is running; leave it alone
  // After a reboot the PID in the file can belong to anything: here, a process that is no port-forward.
  const bystander = (await import('node:child_process')).spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  mkdirSync(join(root, '.cache'), { recursive: true });
  writeFileSync(pidFile, String(bystander.pid));
  try {
    const r = await m.run('cleanup.ts');
    assert.is(r.code, 0, r.output);
    assert.match(r.stdout, /none running \(removed a stale PID file\)/);
    assert.is(bystander.exitCode, null);
    assert.ok(process.kill(bystander.pid!, 0), 'the unrelated process was signalled');
    assert.not.ok(existsSync(pidFile));
  } finally {
    bystander.kill();
  }
});

Cleanup.after(() => {
  for (const m of machines) m.remove();
});
Cleanup.run();
