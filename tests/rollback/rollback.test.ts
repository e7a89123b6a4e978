// rollback as a real process against the fake CLIs: it shows the history, returns to the last good
// revision (or --to N) with helm rollback and helm's wait, prints what runs now, and refuses a bad
// or unknown revision, or a missing release, before anything changes.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseRevision, planRollback, renderHistory } from '../../scripts/lib/rollback/revision.ts';
import type { HistoryRow } from '../../scripts/lib/tools/helm.ts';
import { describeCalls, FakeMachine, mutating } from '../lib/fake-machine.ts';

const Rollback = suite('rollback');
const machines: FakeMachine[] = [];

/** A deployed release with more revisions: one per scale of the frontend to each count given. */
async function withRevisions(frontend: number[] = [], helm?: string): Promise<FakeMachine> {
  const m = await FakeMachine.deployed(helm ? { state: (s) => void (s.helm.version = helm) } : {});
  machines.push(m);
  for (const n of frontend) {
    const r = await m.run('scale.ts', ['--frontend', String(n)]);
    if (r.code !== 0) throw new Error(`scale --frontend ${n} failed:\n${r.output}`);
  }
  m.clearCalls();
  return m;
}

const release = (m: FakeMachine) => m.state().helm.releases['taskflow/taskflow/taskflow'];
const frontendReplicas = (m: FakeMachine) => m.state().kube.deployments.taskflow?.taskflow?.['taskflow-frontend']?.replicas;

Rollback('without --to it goes back to the previous revision, waits, and says what runs now', async () => {
  const m = await withRevisions([2]);
  const r = await m.run('rollback.ts', ['--yes']);
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), ['helm rollback taskflow 1 --namespace taskflow --kube-context taskflow --wait --timeout 5m']);
  assert.is(frontendReplicas(m), 1);
  const last = release(m)?.revisions.at(-1);
  assert.equal({ revision: last?.revision, status: last?.status, description: last?.description }, { revision: 3, status: 'deployed', description: 'Rollback to 1' });
  // The history as helm has it, the current revision and the target marked.
  assert.match(r.stdout, /REVISION\s+UPDATED\s+STATUS\s+CHART\s+DESCRIPTION/);
  assert.match(r.stdout, /→\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+superseded\s+taskflow-\d+\.\d+\.\d+\s+Install complete/);
  assert.match(r.stdout, /\*\s+2\s+\S+ \S+\s+deployed\s+taskflow-\S+\s+Upgrade complete/);
  assert.match(r.stdout, /✔ status — revision 3 deployed; \d+ pods ready/);
  assert.match(r.stdout, /frontend: 1\/1 ready, taskflow-frontend:[0-9a-f]{12}/);
});

Rollback('--to N goes to that revision, not the previous one (Helm 4: its own wait flag)', async () => {
  const m = await withRevisions([2, 3], 'v4.1.4');
  const r = await m.run('rollback.ts', ['--to', '1', '--yes']);
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), ['helm rollback taskflow 1 --namespace taskflow --kube-context taskflow --wait=watcher --timeout 5m']);
  assert.is(frontendReplicas(m), 1);
  assert.is(release(m)?.revisions.at(-1)?.description, 'Rollback to 1');
});

// Refused before any process runs, so one deployed machine serves every case.
let shared: Promise<FakeMachine> | undefined;
for (const bad of ['abc', '0', '-1', '1.5', '']) {
  Rollback(`--to ${JSON.stringify(bad)} exits 2 before any process runs`, async () => {
    const m = await (shared ??= withRevisions());
    m.clearCalls();
    const r = await m.run('rollback.ts', [`--to=${bad}`, '--yes']);
    assert.is(r.code, 2, r.output);
    assert.match(r.stderr, /is not a revision number/);
    assert.equal(m.calls(), []);
  });
}

Rollback('--to a revision not in the history exits 2, shows the history, and changes nothing', async () => {
  const m = await withRevisions([2]);
  const r = await m.run('rollback.ts', ['--to', '99', '--yes']);
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /release has no revision 99/);
  assert.match(r.stderr, /Choose one of the revisions listed above \(1, 2\)/);
  assert.match(r.stdout, /\*\s+2\s/);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.is(release(m)?.revisions.length, 2);
});

Rollback('--to the revision already deployed says so and changes nothing', async () => {
  const m = await withRevisions([2]);
  const r = await m.run('rollback.ts', ['--to', '2', '--yes']);
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /Nothing to do: revision 2 is the one deployed/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Rollback('--dry-run prints the exact helm command and changes nothing', async () => {
  const m = await withRevisions([2]);
  const r = await m.run('rollback.ts', ['--dry-run']);
  assert.is(r.code, 0, r.output);
  assert.match(r.stderr, /\[dry-run\] would run: helm rollback taskflow 1 --namespace taskflow --kube-context taskflow --wait --timeout 5m/);
  assert.match(r.stdout, /would run: helm rollback taskflow 1 /);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.is(frontendReplicas(m), 2);
});

Rollback('without a terminal and without --yes it asks for --yes (exit 2), with no change', async () => {
  const m = await withRevisions([2]);
  const r = await m.run('rollback.ts');
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /Add --yes to confirm/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Rollback('with only the first revision there is nothing to go back to (exit 3)', async () => {
  const m = await withRevisions();
  const r = await m.run('rollback.ts', ['--yes']);
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /no earlier revision that was deployed/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Rollback('--json prints the revisions and the components as they run after the rollback', async () => {
  const m = await withRevisions([2]);
  const r = await m.run('rollback.ts', ['--yes', '--json']);
  assert.is(r.code, 0, r.output);
  const out = JSON.parse(r.stdout) as { ok: boolean; from: number; to: number; revision: number; components: { name: string; ready: number; desired: number }[] };
  assert.equal({ ok: out.ok, from: out.from, to: out.to, revision: out.revision }, { ok: true, from: 2, to: 1, revision: 3 });
  const frontend = out.components.find((c) => c.name === 'frontend');
  assert.equal({ ready: frontend?.ready, desired: frontend?.desired }, { ready: 1, desired: 1 });
});

Rollback('with no release installed it says to run setup (exit 3)', async () => {
  const m = await FakeMachine.clusterOnly();
  machines.push(m);
  const r = await m.run('rollback.ts', ['--yes']);
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /release taskflow is not installed in namespace taskflow/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Rollback('with no cluster it says so (exit 3)', async () => {
  const m = await FakeMachine.create();
  machines.push(m);
  const r = await m.run('rollback.ts', ['--to', '1', '--yes']);
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /kube context taskflow does not exist/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Rollback.after(() => {
  for (const m of machines) m.remove();
});
Rollback.run();

const Plan = suite('rollback plan');

const row = (revision: number, status: HistoryRow['status'], description = ''): HistoryRow => ({ revision, status, updated: '2026-11-24T10:00:00Z', chart: 'taskflow-0.2.0', appVersion: '0.1.0', description });

Plan('the default target is the newest revision that was deployed, skipping failed ones', () => {
  const history = [row(1, 'superseded'), row(2, 'superseded'), row(3, 'failed'), row(4, 'failed')];
  assert.equal(planRollback(history, { revision: 4, status: 'failed' }), { action: 'rollback', revision: 2, reason: 'the last good revision before 4' });
});

Plan('a release stuck in pending-upgrade goes back to the one deployed before it', () => {
  const history = [row(1, 'superseded'), row(2, 'deployed'), row(3, 'pending-upgrade')];
  assert.equal(planRollback(history, { revision: 3, status: 'pending-upgrade' }), { action: 'rollback', revision: 2, reason: 'the last good revision before 3' });
});

Plan('--to may name a failed revision or the current one when it is not deployed; helm is asked as told', () => {
  const history = [row(1, 'superseded'), row(2, 'deployed'), row(3, 'failed')];
  assert.equal(planRollback(history, { revision: 3, status: 'failed' }, 3), { action: 'rollback', revision: 3, reason: '--to 3' });
  assert.equal(planRollback(history, { revision: 2, status: 'deployed' }, 2), { action: 'none', reason: 'revision 2 is the one deployed' });
});

Plan('no earlier good revision is a missing prerequisite (exit 3), an unknown --to bad input (exit 2)', () => {
  const only = [row(1, 'deployed')];
  try {
    planRollback(only, { revision: 1, status: 'deployed' });
    assert.unreachable('planned a rollback with nowhere to go');
  } catch (err) {
    assert.is((err as { exitCode?: number }).exitCode, 3);
  }
  try {
    planRollback(only, { revision: 1, status: 'deployed' }, 7);
    assert.unreachable('planned a rollback to a revision not in the history');
  } catch (err) {
    assert.is((err as { exitCode?: number }).exitCode, 2);
  }
});

Plan('revision numbers parse strictly', () => {
  assert.is(parseRevision('12'), 12);
  for (const raw of ['', ' ', '0', '+3', '1e1', '0x2', '３', '2.0']) assert.throws(() => parseRevision(raw), raw);
});

Plan('the history table marks the current revision with * and the target with →', () => {
  const lines = renderHistory([row(1, 'superseded', 'Install complete'), row(2, 'deployed', 'Upgrade complete')], 2, 1);
  assert.match(lines[1] ?? '', /^ {2}→\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+superseded\s+taskflow-0\.2\.0\s+Install complete$/);
  assert.match(lines[2] ?? '', /^ {2}\*\s+2\s/);
});

Plan.run();

// The fake helm's rollback answers, as Helm's prepareRollback gives them (tests/fakes/helm header).
const Fake = suite('fake helm rollback');
const fakes: FakeMachine[] = [];

function helm(m: FakeMachine, ...args: string[]) {
  const r = spawnSync(join(m.bin, 'helm'), [...args, '--namespace', 'taskflow', '--kube-context', 'taskflow', '--wait', '--timeout', '5m'], { env: m.env(), encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

for (const [version, missing] of [['v3.12.1', 'Error: release: not found'], ['v3.15.4', 'Error: release has no 9 version']] as const) {
  Fake(`helm ${version}: a revision not in the history fails with "${missing}"; none, or 0, goes to the one before the current`, async () => {
    const m = await FakeMachine.deployed({ state: (s) => void (s.helm.version = version) });
    fakes.push(m);
    assert.is((await m.run('scale.ts', ['--frontend', '2'])).code, 0);
    const bad = helm(m, 'rollback', 'taskflow', '9');
    assert.equal({ code: bad.code, stderr: bad.stderr.trim() }, { code: 1, stderr: missing });
    const nan = helm(m, 'rollback', 'taskflow', 'two');
    assert.match(nan.stderr, /^Error: could not convert revision to a number: strconv\.Atoi: parsing "two": invalid syntax/);
    assert.is(helm(m, 'rollback', 'nothere').stderr.trim(), 'Error: release: not found');
    const prev = helm(m, 'rollback', 'taskflow');
    assert.is(prev.code, 0, prev.stderr);
    assert.is(release(m)?.revisions.at(-1)?.description, 'Rollback to 1');
    assert.is(helm(m, 'rollback', 'taskflow', '0').code, 0);
    // The one before revision 3 (itself a copy of 1) is 2.
    assert.is(release(m)?.revisions.at(-1)?.description, 'Rollback to 2');
    assert.equal(release(m)?.revisions.map((r) => r.status), ['superseded', 'superseded', 'superseded', 'deployed']);
  });
}

Fake.after(() => {
  for (const m of fakes) m.remove();
});
Fake.run();
