// setup and scale as real processes against the fake CLIs, once for each helm of the version matrix:
// the fake helm reports that version, takes only that version's flags, and renders the chart with
// that real helm. One machine per version goes through a fresh setup, a rerun with nothing to do,
// a scale, and an upgrade whose pods never start.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCalls, FakeMachine, mutating, type FakeState } from '../lib/fake-machine.ts';
import { matrix, provision } from '../lib/tool-versions.ts';

const Matrix = suite('setup and scale on each helm version');
const machines: FakeMachine[] = [];
const release = (s: FakeState) => s.helm.releases['taskflow/taskflow/taskflow'];

for (const spec of matrix) {
  const v = spec.helm;
  const major = Number(/^v(\d+)/.exec(v)?.[1]);
  const minor = Number(/^v\d+\.(\d+)/.exec(v)?.[1]);
  // What this version's wait looks like on the command line (Helm 4's --wait takes a strategy).
  const wait = major >= 4 ? '--wait=watcher' : '--wait';
  let m: FakeMachine;

  Matrix(`helm ${v}: a fresh setup deploys the release, waiting with ${wait}`, async () => {
    const tools = await provision(spec);
    m = await FakeMachine.create({
      state: (s) => {
        s.helm.version = v;
        s.helm.real = tools.helm;
        s.kube.clientVersion = spec.kubectl;
      },
    });
    machines.push(m);
    const r = await m.run('setup.ts');
    assert.is(r.code, 0, r.output);
    assert.match(r.stdout, new RegExp(`helm ${v.replace(/\./g, '\\.')}`));
    const upgrade = describeCalls(mutating(m.calls())).find((c) => c.startsWith('helm upgrade')) ?? '';
    assert.match(upgrade, new RegExp(`^helm upgrade --install taskflow \\S+ --namespace taskflow --kube-context taskflow --values \\S+values-dev\\.yaml --values - ${wait} --timeout 10m$`), upgrade);
    assert.equal(release(m.state())?.revisions.map((x) => x.status), ['deployed']);
  });

  Matrix(`helm ${v}: a rerun with nothing changed makes no change`, async () => {
    m.clearCalls();
    const r = await m.run('setup.ts');
    assert.is(r.code, 0, r.output);
    assert.equal(describeCalls(mutating(m.calls())), []);
    assert.match(r.stdout, /unchanged: revision 1 deployed/);
  });

  Matrix(`helm ${v}: scale --backend 2 upgrades with ${major === 3 && minor < 14 ? "the release's values on stdin" : '--reset-then-reuse-values'} and ${wait}`, async () => {
    m.clearCalls();
    const r = await m.run('scale.ts', ['--backend', '2']);
    assert.is(r.code, 0, r.output);
    const changed = describeCalls(mutating(m.calls()));
    const reuse = major === 3 && minor < 14 ? '--values -' : '--reset-then-reuse-values';
    assert.equal(changed.length, 1, changed.join('\n'));
    assert.match(changed[0] ?? '', new RegExp(`^helm upgrade taskflow \\S+ --namespace taskflow --kube-context taskflow ${reuse} --set components\\.backend\\.replicaCount=2 ${wait} --timeout 5m$`));
    assert.is(m.state().kube.deployments.taskflow?.taskflow?.['taskflow-backend']?.replicas, 2);
  });

  Matrix(`helm ${v}: an upgrade whose pods cannot pull their image exits 1 with the diagnosis and is rolled back`, async () => {
    const main = join(m.backendDir, 'app', 'main.py');
    writeFileSync(main, `${readFileSync(main, 'utf8')}\n# broken release\n`);
    m.patchState((s) => void (s.helm.failUpgrade = 'ImagePullBackOff'));
    m.clearCalls();
    const r = await m.run('setup.ts');
    assert.is(r.code, 1, r.output);
    assert.match(r.stderr, /helm upgrade failed and the release was rolled back to revision 2/);
    assert.match(r.stderr, /pod taskflow-backend-\S+: Pending \(ImagePullBackOff\)/);
    const rollback = describeCalls(mutating(m.calls())).find((c) => c.startsWith('helm rollback')) ?? '';
    assert.match(rollback, new RegExp(`^helm rollback taskflow 2 --namespace taskflow --kube-context taskflow ${wait} --timeout 10m$`));
    assert.equal(release(m.state())?.revisions.map((x) => x.status), ['superseded', 'superseded', 'failed', 'deployed']);
    // The rollback kept what scale set.
    assert.is(m.state().kube.deployments.taskflow?.taskflow?.['taskflow-backend']?.replicas, 2);
  });
}

Matrix.after(() => {
  for (const m of machines) m.remove();
});
Matrix.run();
