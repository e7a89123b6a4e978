// setup as a real process against the fake CLIs: a fresh machine, reruns from every state, and
// what each run changed (asserted on the exact calls made and on the final state).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseDotenv } from 'dotenv';
import { waitFor } from '../../scripts/lib/core/wait.ts';
import { collect, describeCalls, FakeMachine, mutating, type FakeState, type RunResult } from '../lib/fake-machine.ts';

const Setup = suite('setup lifecycle');
const machines: FakeMachine[] = [];
const outputs: string[] = [];

async function machine(opts: Parameters<typeof FakeMachine.create>[0] = {}): Promise<FakeMachine> {
  const m = await FakeMachine.create(opts);
  machines.push(m);
  return m;
}

async function setup(m: FakeMachine, args: string[] = []): Promise<RunResult> {
  const r = await m.run('setup.ts', args);
  outputs.push(r.output);
  return r;
}

const release = (s: FakeState, ctx = 'taskflow') => s.helm.releases[`${ctx}/taskflow/taskflow`];
const upgrades = (m: FakeMachine) => m.calls().filter((c) => c.tool === 'helm' && c.args[0] === 'upgrade');

Setup("a fresh machine gets a running cluster, images built in minikube's Docker daemon (nothing loaded), and a deployed release", async () => {
  const m = await machine();
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.equal(changed.map((c) => c.split(' ').slice(0, 3).join(' ')), [
    'minikube start --profile',
    'minikube addons enable',
    'kubectl --context taskflow',
    'docker build --tag',
    'docker build --tag',
    'docker build --tag',
    'helm upgrade --install',
  ]);
  // Each build ran against the node's daemon, with the address minikube docker-env gave.
  const builds = m.calls().filter((c) => c.tool === 'docker' && c.args[0] === 'build');
  assert.equal(builds.map((c) => c.dockerHost), ['tcp://192.168.49.2:2376', 'tcp://192.168.49.2:2376', 'tcp://192.168.49.2:2376']);
  assert.ok(m.calls().some((c) => c.tool === 'minikube' && c.args.join(' ') === 'docker-env --shell none --profile taskflow'));
  const s = m.state();
  assert.is(s.minikube.profiles.taskflow?.host, 'Running');
  assert.ok(s.minikube.profiles.taskflow?.addons.ingress);
  const rel = release(s);
  assert.equal(rel?.revisions.map((x) => x.status), ['deployed']);
  // The images the release runs are the ones built in the node, tagged by content; the host's Docker holds none.
  const values = rel?.revisions[0]?.values as { components: Record<'backend' | 'frontend' | 'mcp', { image: { tag: string } }> };
  assert.match(values.components.backend.image.tag, /^[0-9a-f]{12}$/);
  for (const c of ['backend', 'frontend', 'mcp'] as const) assert.ok(s.minikube.profiles.taskflow?.images.includes(`taskflow-${c}:${values.components[c].image.tag}`), c);
  assert.equal(s.docker.images.filter((i) => i.startsWith('taskflow-')), []);
  assert.match(r.stdout, /built in the cluster's Docker daemon \(docker runtime: built in the node by minikube docker-env\)/);
  assert.ok(s.kube.pods.taskflow?.taskflow?.every((p) => p.ready));
  assert.match(r.stdout, /http:\/\/localhost:3000/);
  assert.match(r.stdout, /192\.168\.49\.2 taskflow\.local/);
});

Setup('the generated secrets are written once to the env file and reach the release through stdin only', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  const env = parseDotenv(readFileSync(m.envFile));
  assert.is(env.BETTER_AUTH_SECRET?.length, 48);
  assert.is(env.POSTGRES_PASSWORD?.length, 32);
  const values = release(m.state())?.revisions[0]?.values as { secrets: { betterAuthSecret: string }; postgresql: { auth: { password: string } } };
  assert.is(values.secrets.betterAuthSecret, env.BETTER_AUTH_SECRET);
  assert.is(values.postgresql.auth.password, env.POSTGRES_PASSWORD);
  const argv = JSON.stringify(m.calls());
  assert.not.ok(argv.includes(env.BETTER_AUTH_SECRET as string), 'a secret was passed on a command line');
  // A rerun keeps them.
  assert.is((await setup(m)).code, 0);
  assert.equal(parseDotenv(readFileSync(m.envFile)), env);
});

Setup('a lost env file gets the secrets the cluster already uses back, so the database password never changes', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  const before = parseDotenv(readFileSync(m.envFile));
  // The user deletes env/.env (or its secret lines); the release and its database volume live on.
  writeFileSync(m.envFile, "");
  m.clearCalls();
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  const after = parseDotenv(readFileSync(m.envFile));
  assert.is(after.POSTGRES_PASSWORD, before.POSTGRES_PASSWORD);
  assert.is(after.BETTER_AUTH_SECRET, before.BETTER_AUTH_SECRET);
  assert.match(r.stdout, /POSTGRES_PASSWORD \(taken from the cluster\)/);
  assert.equal(describeCalls(mutating(m.calls())), [], 'the release was changed');
});

Setup('a rerun with nothing changed starts nothing, builds nothing, loads nothing and does not upgrade', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  m.clearCalls();
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  const total = m.calls().length;
  console.log(`    (a no-op rerun took ${total} process calls)`);
  assert.ok(total <= 16, `${total} calls`);
  assert.match(r.stdout, /found in the cluster, skipping build/);
  assert.match(r.stdout, /unchanged: revision 1 deployed/);
});

Setup("changing one backend source file rebuilds only the backend, in minikube's Docker daemon, and upgrades the release", async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  const before = release(m.state())?.revisions[0]?.values as { components: { backend: { image: { tag: string } }; frontend: { image: { tag: string } } } };
  writeFileSync(join(m.backendDir, 'app', 'main.py'), `${readFileSync(join(m.backendDir, 'app', 'main.py'), 'utf8')}\n# changed\n`);
  m.clearCalls();
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.is(changed.length, 2, changed.join('\n'));
  assert.match(changed[0] ?? '', /^docker build --tag taskflow-backend:/);
  assert.match(changed[1] ?? '', /^helm upgrade --install/);
  assert.is(mutating(m.calls())[0]?.dockerHost, 'tcp://192.168.49.2:2376');
  const after = release(m.state())?.revisions.at(-1)?.values as typeof before;
  assert.is.not(after.components.backend.image.tag, before.components.backend.image.tag);
  assert.is(after.components.frontend.image.tag, before.components.frontend.image.tag);
});

Setup('a file the .dockerignore keeps out (tests, caches) changes no tag and rebuilds nothing', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  writeFileSync(join(m.backendDir, 'tests', 'test_extra.py'), 'def test_x():\n    pass\n');
  writeFileSync(join(m.backendDir, '.env'), 'LOCAL_ONLY=1\n');
  m.clearCalls();
  assert.is((await setup(m)).code, 0);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Setup('a stopped minikube is started again and nothing else is redone', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  m.patchState((s) => {
    s.minikube.profiles.taskflow!.host = 'Stopped';
  });
  m.clearCalls();
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), ['minikube start --profile taskflow --cpus 2 --memory 4096mb']);
  assert.match(r.stdout, /started \(was stopped\)/);
});

Setup('a missing addon is enabled, and only that', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  m.patchState((s) => {
    s.minikube.profiles.taskflow!.addons.ingress = false;
  });
  m.clearCalls();
  assert.is((await setup(m)).code, 0);
  assert.equal(describeCalls(mutating(m.calls())), ['minikube addons enable ingress --profile taskflow']);
});

Setup('the prod profile also enables metrics-server for its HPA', async () => {
  const m = await machine({ env: 'TASKFLOW_PROFILE=prod\n' });
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  const s = m.state();
  assert.ok(s.minikube.profiles.taskflow?.addons['metrics-server']);
  const args = upgrades(m)[0]?.args ?? [];
  assert.ok(args.some((a) => a.endsWith('values-prod.yaml')));
});

Setup('a release stuck in pending-upgrade is rolled back to the last good revision, then upgraded', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  m.patchState((s) => {
    const rel = release(s)!;
    rel.revisions.push({ revision: 2, status: 'pending-upgrade', values: {}, chart: '0.1.0' });
  });
  m.clearCalls();
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.match(changed[0] ?? '', /^helm rollback taskflow 1 /);
  assert.match(changed[1] ?? '', /^helm upgrade --install taskflow /);
  assert.match(r.stdout, /stuck in pending-upgrade/);
  assert.is(release(m.state())?.revisions.at(-1)?.status, 'deployed');
});

Setup('a failed upgrade is rolled back, exits non-zero and shows the failing pods\' events', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  writeFileSync(join(m.backendDir, 'app', 'main.py'), `${readFileSync(join(m.backendDir, 'app', 'main.py'), 'utf8')}\n# broken release\n`);
  m.patchState((s) => {
    s.helm.failUpgrade = 'ImagePullBackOff';
  });
  const r = await setup(m);
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /helm upgrade failed and the release was rolled back to revision 1/);
  // A container that never started: Pending, no restarts, the kubelet's pull events, and no log to show.
  assert.match(r.stderr, /pod taskflow-backend-\S+: Pending \(ImagePullBackOff\), 0 restarts/);
  assert.match(r.stderr, /Warning Failed: Failed to pull image "taskflow-backend:[0-9a-f]{12}": Error response from daemon: pull access denied for taskflow-backend/);
  assert.match(r.stderr, /Normal BackOff: Back-off pulling image "taskflow-backend:/);
  assert.match(r.stderr, /Warning Failed: Error: ImagePullBackOff/);
  assert.not.match(r.stderr, /last log lines|is waiting to start/);
  assert.match(r.stderr, /helm history taskflow/);
  assert.equal(release(m.state())?.revisions.map((x) => x.status), ['superseded', 'failed', 'deployed']);
});

/**
 * Ctrl+C while helm waits on a first install. Helm 3 and 4 (pkg/cmd/install.go runInstall) alike
 * catch SIGINT, print "Release R has been cancelled.", and pkg/action/install.go marks the release
 * failed ('Release "R" failed: context canceled') before helm exits 1 with "Error: context canceled".
 */
async function ctrlCDuringInstall(version: string): Promise<void> {
  const m = await machine({ state: (s) => void (s.helm.version = version) });
  m.patchState((s) => {
    s.helm.slowRollout = true;
  });
  const child = m.spawn('setup.ts', []);
  const done = collect(child);
  await waitFor(() => release(m.state())?.revisions.some((x) => x.status.startsWith('pending-')), { timeout: 60_000, interval: 100, describe: 'helm to leave a pending revision' });
  // Only setup gets the signal, as with `kill -INT`; a terminal's Ctrl+C would reach helm as well.
  child.kill('SIGINT');
  const first = await done;
  outputs.push(first.output);
  assert.is(first.code, 130, first.output);
  assert.match(first.stderr, /interrupted/);
  assert.match(first.stderr, /waiting for helm \(pid \d+\) to stop/);
  assert.equal(m.liveProcesses(), [], 'a CLI outlived setup');
  const install = upgrades(m)[0]?.args ?? [];
  assert.ok(install.includes(version.startsWith('v4') ? '--wait=watcher' : '--wait'), install.join(' '));
  // helm answered the signal itself: its revision is failed, not left pending.
  assert.equal(release(m.state())?.revisions.map((x) => [x.status, x.description]), [['failed', 'Release "taskflow" failed: context canceled']]);
  m.patchState((s) => {
    s.helm.slowRollout = false;
  });
  m.clearCalls();
  const second = await setup(m);
  assert.is(second.code, 0, second.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.match(changed[0] ?? '', /^helm uninstall taskflow /);
  assert.match(changed[1] ?? '', /^helm upgrade --install taskflow /);
  assert.equal(release(m.state())?.revisions.map((x) => x.status), ['deployed']);
}

Setup('Ctrl+C during the install passes the signal to helm, waits for it, exits 130, and the next run finishes the job', () => ctrlCDuringInstall('v3.15.4'));

Setup('Helm 4 (--wait=watcher): Ctrl+C during the install passes the signal to helm, waits for it, exits 130, and the next run finishes the job', () => ctrlCDuringInstall('v4.1.4'));

Setup('a rerun with unchanged values but crash-looping pods skips the upgrade and fails with the diagnosis instead of "ready"', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  m.patchState((s) => {
    for (const p of s.kube.pods.taskflow!.taskflow!) {
      if (!p.name.startsWith('taskflow-backend-')) continue;
      // Waiting to restart, so no current log: kubectl logs serves the instance that crashed.
      Object.assign(p, { ready: false, phase: 'Running', waiting: 'CrashLoopBackOff', restarts: 6, events: [['Warning', 'BackOff', 'Back-off restarting failed container backend']], logs: '', previousLogs: 'sqlalchemy.exc.OperationalError: connection refused' });
    }
  });
  m.clearCalls();
  const r = await setup(m);
  assert.is(r.code, 1, r.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.match(r.stderr, /release taskflow is deployed, but the app is not ready/);
  assert.match(r.stderr, /Deployment\/taskflow-backend: 0\/1 replicas ready/);
  assert.match(r.stderr, /pod taskflow-backend-\S+: Running \(CrashLoopBackOff\), 6 restarts/);
  assert.match(r.stderr, /Warning BackOff: Back-off restarting failed container backend/);
  assert.match(r.stderr, /OperationalError: connection refused/);
  assert.not.match(r.stdout, /is ready in/);
});

Setup('a crash-looping pod caught running again between restarts: the diagnosis shows the crashed instance\'s lines (--previous)', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  m.patchState((s) => {
    for (const p of s.kube.pods.taskflow!.taskflow!) {
      if (!p.name.startsWith('taskflow-backend-')) continue;
      // Started again after a back-off: running, not ready yet, its new log barely begun.
      Object.assign(p, { ready: false, phase: 'Running', waiting: undefined, restarts: 6, events: [], logs: 'INFO:     Waiting for application startup.', previousLogs: 'sqlalchemy.exc.OperationalError: connection refused\nERROR:    Application startup failed. Exiting.' });
    }
  });
  m.clearCalls();
  const r = await setup(m);
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /pod taskflow-backend-\S+: Running, 6 restarts/);
  assert.match(r.stderr, /last log lines before its last restart:\n {4}sqlalchemy\.exc\.OperationalError: connection refused\n {4}ERROR: {4}Application startup failed\. Exiting\./);
  assert.match(r.stderr, /last log lines:\n {4}INFO: {5}Waiting for application startup\./);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Setup('a rerun whose pods are ready now, after restarts long ago (backend waiting for Postgres at first start), is a no-op and says "ready"', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  m.patchState((s) => {
    for (const p of s.kube.pods.taskflow!.taskflow!) {
      if (p.name.startsWith('taskflow-backend-')) Object.assign(p, { restarts: 5, lastFinishedAt: '2024-12-01T08:00:00Z' });
    }
  });
  m.clearCalls();
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.match(r.stdout, /unchanged: revision 1 deployed with these values; 4 pods ready/);
  assert.match(r.stdout, /is ready in/);
  assert.not.match(r.output, /not ready|restarting/);
});

Setup('the same restarts a minute ago, though the pod is ready again, fail the rerun: the container is between back-offs', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  m.patchState((s) => {
    for (const p of s.kube.pods.taskflow!.taskflow!) {
      if (p.name.startsWith('taskflow-backend-')) Object.assign(p, { restarts: 5, lastFinishedAt: new Date(Date.now() - 60_000).toISOString() });
    }
  });
  const r = await setup(m);
  assert.is(r.code, 1, r.output);
  assert.match(r.stderr, /release taskflow is deployed, but the app is not ready/);
  assert.match(r.stderr, /Pod\/taskflow-backend-\S+: restarting, 5 restarts/);
});

Setup('Helm 4 gets its own wait flag, --wait=watcher, and neither helm undoes a failure itself', async () => {
  const m = await machine({
    state: (s) => {
      s.helm.version = 'v4.1.4';
    },
  });
  assert.is((await setup(m)).code, 0);
  const args = upgrades(m)[0]?.args ?? [];
  assert.ok(args.includes('--wait=watcher'), args.join(' '));
  // The toolkit rolls back itself, after reading the failing pods: helm's own rollback would replace them first.
  assert.not.ok(args.includes('--rollback-on-failure') || args.includes('--atomic'), args.join(' '));
});

Setup('Helm 4: a failed upgrade is diagnosed while its pods fail, then rolled back with --wait=watcher', async () => {
  const m = await machine({ state: (s) => void (s.helm.version = 'v4.1.4') });
  assert.is((await setup(m)).code, 0);
  writeFileSync(join(m.backendDir, 'app', 'main.py'), `${readFileSync(join(m.backendDir, 'app', 'main.py'), 'utf8')}\n# crashing release\n`);
  m.patchState((s) => void (s.helm.failUpgrade = 'CrashLoopBackOff'));
  m.clearCalls();
  const r = await setup(m);
  assert.is(r.code, 1, r.output);
  // As the kubelet reports a crash loop: the pod Running, its container waiting to restart, the
  // BackOff event, and the crashed instance's last lines (kubectl logs serves them while it waits).
  assert.match(r.stderr, /pod taskflow-backend-\S+: Running \(CrashLoopBackOff\), 5 restarts/);
  assert.match(r.stderr, /Warning BackOff: Back-off restarting failed container backend in pod taskflow-backend-\S+_taskflow\(uid-taskflow-backend-\S+\)/);
  assert.match(r.stderr, /last log lines:\n(.*\n)*.*sqlalchemy\.exc\.OperationalError: .*\n.*ERROR: {4}Application startup failed\. Exiting\./);
  assert.not.match(r.stderr, /every pod of the release is ready now/);
  const changed = describeCalls(mutating(m.calls()));
  assert.match(changed.find((c) => c.startsWith('helm rollback')) ?? '', /^helm rollback taskflow 1 .*--wait=watcher --timeout 10m$/);
  // After the rollback the failing pods are gone, as with real Helm.
  assert.ok(m.state().kube.pods.taskflow!.taskflow!.every((p) => p.ready));
});

Setup('kind: a cluster is created and images go in with kind load docker-image', async () => {
  const m = await machine({ env: 'TASKFLOW_DRIVER=kind\n' });
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.ok(changed.includes('kind create cluster --name taskflow --wait 120s'));
  assert.is(changed.filter((c) => c.startsWith('kind load docker-image')).length, 3);
  assert.ok(changed.some((c) => c.includes('--kube-context kind-taskflow')));
  m.clearCalls();
  assert.is((await setup(m)).code, 0);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Setup("kind with Docker's containerd image store: a failed docker-image load goes through docker save and image-archive", async () => {
  const m = await machine({ env: 'TASKFLOW_DRIVER=kind\n' });
  m.patchState((s) => {
    s.kind.containerdStore = true;
  });
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.is(changed.filter((c) => c.startsWith('kind load docker-image')).length, 3, changed.join('\n'));
  assert.is(changed.filter((c) => /^docker save --output \S+image\.tar taskflow-(backend|frontend|mcp):[0-9a-f]{12}$/.test(c)).length, 3, changed.join('\n'));
  assert.is(changed.filter((c) => /^kind load image-archive \S+image\.tar --name taskflow$/.test(c)).length, 3, changed.join('\n'));
  assert.is(m.state().kind.clusters.taskflow?.images.length, 3);
  m.clearCalls();
  assert.is((await setup(m)).code, 0);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Setup('with a registry, images are pushed there (not loaded), the cluster may pull them, and a rerun pushes nothing', async () => {
  const m = await machine({ env: 'TASKFLOW_IMAGE_REGISTRY=registry.example.com/team\n' });
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.is(changed.filter((c) => /^docker push registry\.example\.com\/team\/taskflow-(backend|frontend|mcp):[0-9a-f]{12}$/.test(c)).length, 3, changed.join('\n'));
  assert.not.ok(changed.some((c) => c.includes('image load')));
  const values = release(m.state())?.revisions[0]?.values as { components: { backend: { image: { repository: string; pullPolicy: string } } } };
  assert.is(values.components.backend.image.repository, 'registry.example.com/team/taskflow-backend');
  assert.is(values.components.backend.image.pullPolicy, 'IfNotPresent');
  m.clearCalls();
  assert.is((await setup(m)).code, 0);
  assert.equal(describeCalls(mutating(m.calls())), []);
});

Setup('docker-desktop: images are built into Docker\'s own store and nothing is loaded', async () => {
  const m = await machine({
    env: 'TASKFLOW_DRIVER=docker-desktop\n',
    state: (s) => {
      s.dockerDesktop.running = true;
      s.kube.contexts['docker-desktop'] = 'docker-desktop';
    },
  });
  const r = await setup(m);
  assert.is(r.code, 0, r.output);
  const changed = describeCalls(mutating(m.calls()));
  assert.is(changed.filter((c) => c.startsWith('docker build')).length, 3);
  assert.not.ok(changed.some((c) => c.includes(' load')));
});

Setup('--dry-run on a fresh machine changes nothing and prints the commands it would run', async () => {
  const m = await machine();
  const r = await setup(m, ['--dry-run']);
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  assert.match(r.stderr, /\[dry-run\] would run: minikube start --profile taskflow --cpus 2 --memory 4096mb/);
  assert.match(r.stdout, /would create|would add/);
  assert.not.ok(readFileSync(m.envFile, 'utf8').includes('BETTER_AUTH_SECRET'), 'dry-run wrote secrets');
});

Setup('--dry-run on a running cluster shows the upgrade it would make, with no secret in it', async () => {
  const m = await machine();
  assert.is((await setup(m)).code, 0);
  writeFileSync(join(m.frontendDir, 'app', 'page.tsx'), `${readFileSync(join(m.frontendDir, 'app', 'page.tsx'), 'utf8')}\n// changed\n`);
  m.clearCalls();
  const r = await setup(m, ['--dry-run']);
  assert.is(r.code, 0, r.output);
  assert.equal(describeCalls(mutating(m.calls())), []);
  // The build goes to minikube's daemon, and the printed command says so.
  assert.match(r.stderr, /\[dry-run\] would run: DOCKER_HOST=tcp:\/\/192\.168\.49\.2:2376 docker build --tag taskflow-frontend:/);
  assert.match(r.stderr, /\[dry-run\] would run: \S*helm upgrade --install taskflow/);
});

Setup('--skip-build with an image nobody built stops with exit 2 before changing anything', async () => {
  const m = await machine();
  const r = await setup(m, ['--skip-build']);
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /--skip-build, but taskflow-backend:\w+, taskflow-frontend:\w+ and taskflow-mcp:\w+ are not in the cluster \(minikube's Docker daemon \(tcp:\/\/192\.168\.49\.2:2376\)\)/);
  assert.not.ok(mutating(m.calls()).some((c) => c.tool === 'docker' || c.tool === 'helm'));
});

Setup('no secret value appears in any output or build log of these scenarios', async () => {
  const secrets = machines.flatMap((m) => Object.entries(parseDotenv(readFileSync(m.envFile))).filter(([k]) => /SECRET|PASSWORD/.test(k)).map(([, v]) => v)).filter((v) => v.length >= 16);
  assert.ok(secrets.length >= 10, `only ${secrets.length} secrets collected`);
  const logs = ['build-backend.log', 'build-frontend.log', 'load-backend.log', 'load-frontend.log'].map((f) => {
    try {
      return readFileSync(join(process.cwd(), '.cache', 'logs', f), 'utf8');
    } catch {
      return '';
    }
  });
  const everything = [...outputs, ...logs].join('\n');
  for (const s of secrets) assert.not.ok(everything.includes(s), 'a secret was printed');
});

Setup.after(() => {
  for (const m of machines) m.remove();
});
Setup.run();
