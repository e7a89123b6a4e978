// Where setup builds images on minikube, by the profile's runtime: the docker runtime builds in the
// node's own Docker daemon (minikube docker-env) and loads nothing; containerd and cri-o refuse
// docker-env, so images are built on the host and loaded. Both paths keep the content tags, the
// "already there" check and the no-op rerun.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCalls, FakeMachine, mutating, type Call, type FakeState } from '../lib/fake-machine.ts';

const Routes = suite('image routes on minikube');
const machines: FakeMachine[] = [];
const NODE_DAEMON = 'tcp://192.168.49.2:2376';

async function machine(opts: Parameters<typeof FakeMachine.create>[0] = {}): Promise<FakeMachine> {
  const m = await FakeMachine.create(opts);
  machines.push(m);
  return m;
}

/** A profile the user made with `minikube start --container-runtime=…`, stopped: setup starts it. */
const stoppedProfile = (runtime: 'containerd' | 'cri-o') => (s: FakeState) => {
  s.minikube.profiles.taskflow = { host: 'Stopped', runtime, cpus: 2, memory: '4096mb', addons: {}, images: [] };
  s.kube.contexts.taskflow = 'minikube:taskflow';
};

const builds = (calls: Call[]) => calls.filter((c) => c.tool === 'docker' && c.args[0] === 'build');
const loads = (calls: Call[]) => calls.filter((c) => c.tool === 'minikube' && c.args[0] === 'image' && c.args[1] === 'load');
const tags = (s: FakeState) => (s.helm.releases['taskflow/taskflow/taskflow']?.revisions.at(-1)?.values as { components: Record<string, { image: { tag: string } }> }).components;

function touch(file: string): void {
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n# changed\n`);
}

Routes('docker runtime: a fresh setup builds every image with the docker-env and runs no minikube image load', async () => {
  const m = await machine();
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
  const calls = m.calls();
  assert.equal(builds(calls).map((c) => c.dockerHost), [NODE_DAEMON, NODE_DAEMON, NODE_DAEMON]);
  assert.equal(loads(calls), []);
  // The profile was missing at first, so docker-env was asked again once it ran.
  const envReads = calls.filter((c) => c.tool === 'minikube' && c.args[0] === 'docker-env');
  assert.is(envReads.length, 2);
  const s = m.state();
  for (const [c, v] of Object.entries(tags(s))) {
    if (!['backend', 'frontend', 'mcp'].includes(c)) continue;
    assert.ok(s.minikube.profiles.taskflow?.images.includes(`taskflow-${c}:${v.image.tag}`), `${c} is not in the node`);
  }
  assert.equal(s.docker.images, [], "the host's Docker got an image");
});

Routes('docker runtime: a rerun is a no-op, looks the images up in the node with one docker image ls, and asks minikube image ls nothing', async () => {
  const m = await machine();
  assert.is((await m.run('setup.ts')).code, 0);
  m.clearCalls();
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  const lookups = m.calls().filter((c) => c.tool === 'docker' && c.args[0] === 'image');
  assert.equal(describeCalls(lookups), ['docker image ls --format {{.Repository}}:{{.Tag}}']);
  assert.is(lookups[0]?.dockerHost, NODE_DAEMON);
  assert.not.ok(m.calls().some((c) => c.tool === 'minikube' && c.args[0] === 'image'));
  assert.match(r.stdout, /backend [0-9a-f]{12}: found in the cluster, skipping build/);
});

Routes('docker runtime: a changed component is rebuilt alone, in the node, and nothing is loaded', async () => {
  const m = await machine();
  assert.is((await m.run('setup.ts')).code, 0);
  const before = tags(m.state());
  touch(join(m.contexts.mcp as string, 'taskflow_mcp', 'main.py'));
  m.clearCalls();
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
  const changed = mutating(m.calls());
  assert.equal(builds(changed).map((c) => /--tag (\S+):/.exec(c.args.join(' '))?.[1]), ['taskflow-mcp']);
  assert.is(builds(changed)[0]?.dockerHost, NODE_DAEMON);
  assert.equal(loads(changed), []);
  const after = tags(m.state());
  assert.is.not(after.mcp?.image.tag, before.mcp?.image.tag);
  assert.is(after.backend?.image.tag, before.backend?.image.tag);
  assert.is(after.frontend?.image.tag, before.frontend?.image.tag);
});

for (const runtime of ['containerd', 'cri-o'] as const) {
  Routes(`${runtime}: docker-env is refused, so images are built on the host and loaded; a rerun is a no-op`, async () => {
    const m = await machine({ state: stoppedProfile(runtime) });
    const r = await m.run('setup.ts');
    assert.is(r.code, 0, r.output);
    const calls = m.calls();
    assert.equal(builds(calls).map((c) => c.dockerHost), [undefined, undefined, undefined]);
    assert.is(loads(calls).length, 3);
    assert.match(r.stdout, new RegExp(`built and loaded \\(${runtime} runtime has no Docker daemon to build in`));
    const s = m.state();
    assert.is(s.minikube.profiles.taskflow?.images.filter((i) => i.startsWith('taskflow-')).length, 3);
    assert.is(s.docker.images.filter((i) => i.startsWith('taskflow-')).length, 3);
    m.clearCalls();
    const again = await m.run('setup.ts');
    assert.is(again.code, 0, again.output);
    assert.equal(describeCalls(mutating(m.calls())), []);
    // The node lists the images under the runtime's own name for them (cri-o: localhost/NAME:TAG),
    // and they are found: nothing is loaded again.
    assert.equal(loads(m.calls()), []);
    assert.match(again.stdout, /backend [0-9a-f]{12}: found in the cluster, skipping build/);
  });
}

Routes('containerd: a changed component is rebuilt alone on the host and loaded alone', async () => {
  const m = await machine({ state: stoppedProfile('containerd') });
  assert.is((await m.run('setup.ts')).code, 0);
  touch(join(m.backendDir, 'app', 'main.py'));
  m.clearCalls();
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.is(changed.length, 3, changed.join('\n'));
  assert.match(changed[0] ?? '', /^docker build --tag taskflow-backend:/);
  assert.match(changed[1] ?? '', /^minikube image load taskflow-backend:[0-9a-f]{12} --profile taskflow$/);
  assert.match(changed[2] ?? '', /^helm upgrade --install/);
});

Routes('a profile switched from containerd to docker finds nothing in the node daemon and rebuilds there, not loads', async () => {
  // The node's store is the runtime's: what containerd held is not in a new dockerd.
  const m = await machine({ state: stoppedProfile('containerd') });
  assert.is((await m.run('setup.ts')).code, 0);
  m.patchState((s) => {
    s.minikube.profiles.taskflow!.runtime = 'docker';
    s.minikube.profiles.taskflow!.images = [];
  });
  m.clearCalls();
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
  assert.equal(builds(m.calls()).map((c) => c.dockerHost), [NODE_DAEMON, NODE_DAEMON, NODE_DAEMON]);
  assert.equal(loads(m.calls()), []);
});

Routes('--dry-run before the cluster exists builds nothing and says the route is decided once the cluster runs', async () => {
  const m = await machine();
  const r = await m.run('setup.ts', ['--dry-run']);
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.match(r.stdout, /would be built \(decided by minikube docker-env once taskflow runs/);
  assert.match(r.stderr, /\[dry-run\] would run: docker build --tag taskflow-backend:/);
});

Routes.after(() => {
  for (const m of machines) m.remove();
});
Routes.run();
