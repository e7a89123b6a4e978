// setup and cleanup against the states minikube really reports (tests/fakes/minikube cites each):
// a profile whose node is gone (`null`, exit 0 since v1.35), a stale kubeconfig, a multi-node
// profile, and (on containerd, the runtime that still loads images) an image load that exits 0
// without loading.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCalls, FakeMachine, mutating, type RunResult } from '../lib/fake-machine.ts';

const States = suite('minikube states');
const machines: FakeMachine[] = [];

async function deployed(version = 'v1.35.0'): Promise<FakeMachine> {
  const m = await FakeMachine.deployed({ state: (s) => void (s.minikube.version = version) });
  machines.push(m);
  return m;
}

const run = (m: FakeMachine, script: string, args: string[] = []): Promise<RunResult> => m.run(script, args);

for (const version of ['v1.35.0', 'v1.34.0']) {
  States(`minikube ${version}: a profile whose node is gone is named as broken, and nothing changes without --yes (exit 3)`, async () => {
    const m = await deployed(version);
    m.patchState((s) => void (s.minikube.profiles.taskflow!.host = 'Gone'));
    m.clearCalls();
    const r = await run(m, 'setup.ts');
    assert.is(r.code, 3, r.output);
    assert.match(r.stderr, /minikube cluster taskflow is broken/);
    assert.match(r.stderr, /--yes to delete and recreate it/);
    assert.not.match(r.output, /TypeError|at .*\.ts:\d+/);
    assert.equal(describeCalls(mutating(m.calls())), []);
  });
}

States('with --yes a broken profile is deleted and recreated, and the app deployed again', async () => {
  const m = await deployed();
  m.patchState((s) => void (s.minikube.profiles.taskflow!.host = 'Gone'));
  m.clearCalls();
  const r = await run(m, 'setup.ts', ['--yes']);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.is(changed[0], 'minikube delete --profile taskflow');
  assert.match(changed[1] ?? '', /^minikube start --profile taskflow/);
  assert.match(r.stdout, /deleted and recreated \(was broken\)/);
  assert.is(m.state().minikube.profiles.taskflow?.host, 'Running');
});

States('cleanup --purge deletes a broken profile instead of calling it already gone', async () => {
  const m = await deployed();
  m.patchState((s) => void (s.minikube.profiles.taskflow!.host = 'Gone'));
  m.clearCalls();
  const r = await run(m, 'cleanup.ts', ['--purge', '--yes']);
  assert.is(r.code, 0, r.output);
  assert.ok(describeCalls(mutating(m.calls())).includes('minikube delete --profile taskflow'), r.output);
  assert.not.match(r.stdout, /cluster taskflow — skipped: already gone/);
  assert.is(m.state().minikube.profiles.taskflow, undefined);
});

// With the Docker daemon down minikube cannot inspect its node either: `minikube status` prints
// `null` and exits 0 (v1.35+) exactly as for a gone node. Docker is asked before the profile is
// called broken, so the user is told to start Docker and nothing offers to delete the cluster.
for (const version of ['v1.35.0', 'v1.34.0']) {
  States(`minikube ${version}, Docker daemon down: setup says to start Docker, not that the profile is broken (exit 3)`, async () => {
    const m = await deployed(version);
    m.patchState((s) => void (s.docker.daemon = false));
    m.clearCalls();
    const r = await run(m, 'setup.ts');
    assert.is(r.code, 3, r.output);
    assert.match(r.stderr, /the Docker daemon is not reachable: Cannot connect to the Docker daemon/);
    assert.match(r.stderr, /start Docker/);
    assert.not.match(r.output, /broken|--yes|minikube delete/);
    assert.equal(describeCalls(mutating(m.calls())), []);
  });
}

States('Docker daemon down: cleanup --purge --yes stops with "start Docker" and deletes nothing (exit 3)', async () => {
  const m = await deployed();
  m.patchState((s) => void (s.docker.daemon = false));
  m.clearCalls();
  const r = await run(m, 'cleanup.ts', ['--purge', '--yes']);
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /the Docker daemon is not reachable: Cannot connect to the Docker daemon/);
  assert.match(r.stderr, /start Docker/);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.is(m.state().minikube.profiles.taskflow?.host, 'Running');
});

States('Docker daemon down: status says to start Docker instead of showing a missing or broken cluster (exit 3)', async () => {
  const m = await deployed();
  m.patchState((s) => void (s.docker.daemon = false));
  const r = await run(m, 'status.ts');
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /the Docker daemon is not reachable: Cannot connect to the Docker daemon/);
  assert.match(r.stderr, /start Docker/);
  assert.not.match(r.output, /broken|missing/);
});

States('a stale kubeconfig (Kubeconfig: Misconfigured, exit 4) is repaired with minikube update-context, not reported as reused', async () => {
  const m = await deployed();
  m.patchState((s) => void (s.minikube.profiles.taskflow!.kubeconfig = 'Misconfigured'));
  m.clearCalls();
  const r = await run(m, 'setup.ts');
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), ['minikube update-context --profile taskflow']);
  assert.match(r.stdout, /kube context was stale and was repaired/);
  assert.not.match(r.stdout, /running, reused/);
});

States('a multi-node profile (a JSON array) with every node running is reused', async () => {
  const m = await deployed();
  m.patchState((s) => void (s.minikube.profiles.taskflow!.workers = 2));
  m.clearCalls();
  const r = await run(m, 'setup.ts');
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /running, reused \(host Running, kubelet Running, apiserver Running, 2\/2 workers running\)/);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

States('containerd: an image load that exits 0 without loading fails the images step before helm waits on it (exit 1)', async () => {
  // Only a profile whose runtime is not docker still loads images (the docker runtime builds in the node).
  const m = await deployed();
  m.patchState((s) => {
    s.minikube.profiles.taskflow!.runtime = 'containerd';
    s.minikube.profiles.taskflow!.loadFails = true;
    s.minikube.profiles.taskflow!.images = [];
  });
  m.clearCalls();
  const r = await run(m, 'setup.ts');
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /minikube image load taskflow-(backend|frontend):[0-9a-f]{12} exited 0, but the image is not in the cluster/);
  assert.ok(describeCalls(mutating(m.calls())).every((c) => !c.startsWith('helm upgrade')), 'helm ran anyway');
});

States.after(() => {
  for (const m of machines) m.remove();
});
States.run();
