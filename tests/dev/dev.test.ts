// dev as a real process over the fake CLIs: an edit rebuilds, delivers and rolls only its
// component; an edit the .dockerignore excludes changes nothing; edits within the quiet time make
// one cycle; a broken build is reported and the next good edit recovers; setup after a cycle has
// nothing to do; Ctrl+C leaves the app running (or removes it with --cleanup-on-exit) and no child.
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { formatCycle, type CycleResult } from '../../scripts/lib/dev/loop.ts';
import { contentTag } from '../../scripts/lib/images/tag.ts';
import { delay, waitFor } from '../../scripts/lib/core/wait.ts';
import { freePort } from '../../scripts/lib/core/net.ts';
import { root } from '../lib/chart.ts';
import { describeCalls, FakeMachine, mutating, type FakeState, type Started } from '../lib/fake-machine.ts';
import { startPod, type Pod } from '../port-forward/harness.ts';

const Dev = suite('dev');
const machines: FakeMachine[] = [];
const running: ChildProcess[] = [];

Dev.after(() => {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const m of machines) m.remove();
});

async function deployed(opts: Parameters<typeof FakeMachine.create>[0] = {}): Promise<FakeMachine> {
  const m = await FakeMachine.deployed(opts);
  machines.push(m);
  return m;
}

type Rel = { components: Record<string, { image?: { repository: string; tag: string } }> };
const release = (s: FakeState) => s.helm.releases['taskflow/taskflow/taskflow'];
const tagOf = (m: FakeMachine, component: string) => (release(m.state())?.revisions.at(-1)?.values as Rel | undefined)?.components[component]?.image?.tag;
const changes = (m: FakeMachine) => describeCalls(mutating(m.calls()));
const builds = (m: FakeMachine) => changes(m).filter((c) => c.startsWith('docker build')).map((c) => /--tag ([\w-]+):/.exec(c)?.[1]);

/** What setup hashes for the reference backend (no build args): checked against what it deployed. */
const backendTag = (m: FakeMachine) => contentTag({ component: 'backend', contextDir: m.contexts.backend as string, dockerfile: join(root, 'docker', 'backend.Dockerfile'), buildArgs: {} });

/** An edit that changes what Docker is sent. */
const edit = (m: FakeMachine, component: string, file: string, text = `\n# edit ${Date.now()} ${Math.random()}\n`) => appendFileSync(join(m.contexts[component] as string, file), text);

/** A running dev that the test reads while it runs and stops in the end. */
function dev(m: FakeMachine, args: string[], extra: Record<string, string> = {}): Started {
  const run = m.start('dev.ts', args, { extra, waitMs: 60_000, killAfterMs: 120_000 });
  running.push(run.child);
  return run;
}

/** A dev on a deployed machine, watching, with the calls of its start-up cleared. */
async function watching(m: FakeMachine, args: string[] = [], extra: Record<string, string> = {}): Promise<Started> {
  const run = dev(m, ['--debounce', '300', ...args], extra);
  const stream = args.includes('--json') ? 'stderr' : 'stdout';
  await run.until(/^watching /m, 'the watching line', stream);
  m.clearCalls();
  return run;
}

async function noneLeft(m: FakeMachine): Promise<void> {
  await waitFor(() => m.liveProcesses().length === 0, { timeout: 10_000, interval: 50, describe: 'every fake CLI to exit', onTimeout: () => new Error(`still running: ${m.liveProcesses().join(', ')}`) });
}

/**
 * A cycle's success line. On minikube's default docker runtime the image is built in the node's
 * daemon and there is nothing to load; with containerd (or cri-o) it is built on the host and loaded.
 */
const CYCLE_OK = (component: string, loaded = false) => new RegExp(`^✔ ${component} [0-9a-f]{12}: build \\d+(\\.\\d)?m?s, ${loaded ? 'load \\d+(\\.\\d)?m?s, ' : ''}rollout \\d+(\\.\\d)?m?s \\(ready \\d+(\\.\\d)?m?s after save\\)$`, 'm');

/** The node's daemon, as the fake minikube's docker-env gives it for the default profile. */
const NODE_DAEMON = 'tcp://192.168.49.2:2376';

/** Setup on a containerd profile the user made (stopped): images are built on the host and loaded. */
const containerd = (s: FakeState) => {
  s.minikube.profiles.taskflow = { host: 'Stopped', runtime: 'containerd', cpus: 2, memory: '4096mb', addons: {}, images: [] };
  s.kube.contexts.taskflow = 'minikube:taskflow';
};

// minikube's default docker runtime builds in the node's daemon and loads nothing; containerd
// (a profile the user made with --container-runtime=containerd) builds on the host and loads.
for (const route of [
  { runtime: 'docker', state: undefined, dockerHost: NODE_DAEMON, loaded: false },
  { runtime: 'containerd', state: containerd, dockerHost: undefined, loaded: true },
] as const) {
  Dev(`${route.runtime} runtime: a backend edit builds only the backend ${route.loaded ? 'on the host, loads it' : "in the node's daemon, loads nothing"} and rolls it with one helm upgrade`, async () => {
    const m = await deployed({ state: route.state });
    const before = { backend: tagOf(m, 'backend'), frontend: tagOf(m, 'frontend'), mcp: tagOf(m, 'mcp') };
    assert.is(backendTag(m), before.backend, 'the test hashes the backend as setup does');
    const run = await watching(m, ['--no-port-forward']);
    try {
      edit(m, 'backend', 'app/main.py');
      await run.until(CYCLE_OK('backend', route.loaded), 'the backend cycle line');
      const tag = backendTag(m);
      assert.match(run.stdout(), new RegExp(`^✔ backend ${tag}: `, 'm'));
      const changed = changes(m);
      assert.equal(builds(m), ['taskflow-backend'], changed.join('\n'));
      assert.equal(mutating(m.calls()).filter((c) => c.tool === 'docker' && c.args[0] === 'build').map((c) => c.dockerHost), [route.dockerHost]);
      const loads = route.loaded ? [`minikube image load taskflow-backend:${tag} --profile taskflow`] : [];
      assert.equal(changed.filter((c) => c.startsWith('minikube ')), loads);
      assert.is(changed.filter((c) => c.startsWith('helm upgrade')).length, 1);
      assert.is(changed.length, 2 + loads.length, changed.join('\n'));
      assert.is(tagOf(m, 'backend'), tag);
      assert.is(tagOf(m, 'frontend'), before.frontend);
      assert.is(tagOf(m, 'mcp'), before.mcp);
    } finally {
      await run.interrupt();
    }
  });
}

Dev('an edit the build\'s .dockerignore excludes changes nothing', async () => {
  const m = await deployed();
  const run = await watching(m, ['--no-port-forward', '--verbose']);
  try {
    // docker/backend.Dockerfile.dockerignore (beside the Dockerfile, so it wins over any in the
    // context) excludes tests/ and *.py[cod]: one in a folder dev does not even watch, one in a folder it does.
    mkdirSync(join(m.contexts.backend as string, 'tests'), { recursive: true });
    writeFileSync(join(m.contexts.backend as string, 'tests', 'test_new.py'), 'def test_x(): pass\n');
    writeFileSync(join(m.contexts.backend as string, 'app', 'main.cpython-312.pyc'), 'bytecode');
    await run.until(/^· backend: app\/main\.cpython-312\.pyc changed, ignored by docker\/backend\.Dockerfile\.dockerignore$/m, 'the ignored edit to be named');
    // An edit to another component, as a marker: its cycle is the only one.
    edit(m, 'frontend', 'next.config.mjs');
    await run.until(CYCLE_OK('frontend'), 'the frontend cycle line');
    assert.equal(builds(m), ['taskflow-frontend']);
    assert.not.match(run.stdout(), /^[✔✖] backend/m);
    assert.is(changes(m).filter((c) => c.includes('taskflow-backend')).length, 0, changes(m).join('\n'));
  } finally {
    await run.interrupt();
  }
});

Dev('two edits within the quiet time make one cycle, built from the second (one JSON line)', async () => {
  const m = await deployed();
  const run = await watching(m, ['--no-port-forward', '--json', '--debounce', '800']);
  try {
    edit(m, 'backend', 'app/main.py');
    // A second save 150 ms later, as someone saving two files does: a loop without the quiet
    // time would have started a cycle on the first already.
    await delay(150);
    edit(m, 'backend', 'app/models.py');
    await run.until(/^\{.*\}\n/m, 'the first cycle\'s JSON line');
    const tag = backendTag(m);
    edit(m, 'frontend', 'next.config.mjs');
    await run.until(/^\{.*\}\n\{.*\}\n/, 'the marker cycle\'s JSON line');
    const lines = run.stdout().trim().split('\n').map((l) => JSON.parse(l) as CycleResult);
    assert.is(lines.length, 2, run.stdout());
    assert.equal(lines.map((l) => l.components.map((c) => c.component)), [['backend'], ['frontend']]);
    assert.is(lines[0]?.components[0]?.tag, tag);
    assert.ok(lines.every((l) => l.ok && (l.buildMs ?? -1) >= 0 && (l.rolloutMs ?? -1) >= 0 && (l.readyMs ?? -1) >= 0));
    assert.equal(builds(m), ['taskflow-backend', 'taskflow-frontend']);
    assert.is(changes(m).filter((c) => c.startsWith('helm upgrade')).length, 2);
    // Human lines went to stderr.
    assert.match(run.stderr(), CYCLE_OK('backend'));
  } finally {
    await run.interrupt();
  }
});

Dev('a broken build is printed and the old version keeps serving; the next good edit recovers', async () => {
  const m = await deployed();
  const serving = tagOf(m, 'backend');
  const run = await watching(m, ['--no-port-forward']);
  try {
    m.patchState((s) => void (s.docker.failBuild = 'taskflow-backend'));
    edit(m, 'backend', 'app/main.py', '\nthis is not python\n');
    await run.until(new RegExp(`^✖ backend [0-9a-f]{12}: build failed; backend ${serving} keeps serving$`, 'm'), 'the failed cycle line');
    // The report's lines follow the cycle line one write at a time: read it once it has ended.
    await run.until(/^ {2}watching for the next edit$/m, 'the end of the failure report');
    assert.match(run.stdout(), /building taskflow-backend:[0-9a-f]{12} in minikube's Docker daemon \(tcp:\/\/192\.168\.49\.2:2376\) failed; the full output is in \.cache\/logs\/build-backend\.log/);
    assert.match(run.stdout(), /did not complete successfully/);
    assert.match(run.stdout(), /watching for the next edit/);
    assert.is(tagOf(m, 'backend'), serving);
    assert.equal(changes(m).filter((c) => !c.startsWith('docker build')), []);
    assert.is(run.child.exitCode, null, 'dev stopped watching');

    m.patchState((s) => void (s.docker.failBuild = undefined));
    edit(m, 'backend', 'app/main.py', '\n# fixed\n');
    await run.until(CYCLE_OK('backend'), 'the recovering cycle line');
    assert.is(tagOf(m, 'backend'), backendTag(m));
  } finally {
    await run.interrupt();
  }
});

Dev('a failed rollout is rolled back and printed; dev keeps watching', async () => {
  const m = await deployed();
  const serving = tagOf(m, 'backend');
  const run = await watching(m, ['--no-port-forward']);
  try {
    m.patchState((s) => void (s.helm.failUpgrade = 'CrashLoopBackOff'));
    edit(m, 'backend', 'app/main.py');
    await run.until(new RegExp(`^✖ backend [0-9a-f]{12}: build \\S+, rollout failed; backend ${serving} keeps serving$`, 'm'), 'the failed rollout line');
    await run.until(/^ {2}watching for the next edit$/m, 'the end of the failure report');
    assert.match(run.stdout(), /helm upgrade failed and the release was rolled back to revision 1/);
    assert.match(run.stdout(), /pod taskflow-backend-\S+: Running \(CrashLoopBackOff\)/);
    assert.is(tagOf(m, 'backend'), serving);
    m.patchState((s) => void (s.helm.failUpgrade = undefined));
    edit(m, 'backend', 'app/main.py');
    await run.until(CYCLE_OK('backend'), 'the recovering cycle line');
    assert.is(tagOf(m, 'backend'), backendTag(m));
  } finally {
    await run.interrupt();
  }
});

Dev('after a cycle, setup has nothing to do', async () => {
  const m = await deployed();
  const run = await watching(m, ['--no-port-forward']);
  try {
    edit(m, 'backend', 'app/main.py');
    await run.until(CYCLE_OK('backend'), 'the backend cycle line');
  } finally {
    assert.is((await run.interrupt()).code, 130);
  }
  m.clearCalls();
  const r = await m.run('setup.ts');
  assert.is(r.code, 0, r.output);
  assert.equal(changes(m), []);
  assert.match(r.stdout, /unchanged: revision 2 deployed with these values/);
});

/** Stand-in pods for the tunnels, and the env that points dev's port-forward at them. */
async function pods(): Promise<{ backend: Pod; frontend: Pod; env: Record<string, string>; stop(): Promise<void> }> {
  const backend = await startPod('backend pod');
  const frontend = await startPod('frontend pod');
  const env = {
    FAKE_KUBECTL_PF_TARGETS: JSON.stringify({ 'service/taskflow-backend': backend.port, 'service/taskflow-frontend': frontend.port }),
    TASKFLOW_BACKEND_PORT: String(await freePort()),
    TASKFLOW_FRONTEND_PORT: String(await freePort()),
  };
  return { backend, frontend, env, stop: async () => void (await Promise.all([backend.stop(), frontend.stop()])) };
}

Dev('with the port-forward up, a cycle is ready once the rolled component answers through its tunnel', async () => {
  const m = await deployed();
  const p = await pods();
  const run = await watching(m, [], p.env);
  try {
    assert.match(run.stdout(), new RegExp(`^✔ port-forward backend — localhost:${p.env.TASKFLOW_BACKEND_PORT} → service/taskflow-backend:8000, GET /health 200`, 'm'));
    const hits = p.backend.hits;
    edit(m, 'backend', 'app/main.py');
    await run.until(CYCLE_OK('backend'), 'the backend cycle line');
    assert.ok(p.backend.hits > hits, 'the readiness check went through the tunnel');
  } finally {
    await run.interrupt();
    await p.stop();
  }
});

Dev('Ctrl+C stops watching and its port-forward, exits 130 and leaves the app running', async () => {
  const m = await deployed();
  const p = await pods();
  const run = await watching(m, [], p.env);
  try {
    assert.is(m.liveProcesses().length, 2, 'one kubectl port-forward per tunnel');
    const r = await run.interrupt();
    assert.is(r.code, 130, r.output);
    assert.match(r.stdout, /■ dev stopped; the app keeps running/);
    await noneLeft(m);
    assert.is(release(m.state())?.revisions.at(-1)?.status, 'deployed');
    assert.equal(changes(m).filter((c) => !c.includes('port-forward')), []);
  } finally {
    await run.interrupt();
    await p.stop();
  }
});

Dev('with --cleanup-on-exit, Ctrl+C removes the release and keeps the namespace with the data', async () => {
  const m = await deployed();
  const run = await watching(m, ['--no-port-forward', '--cleanup-on-exit']);
  const r = await run.interrupt();
  assert.is(r.code, 130, r.output);
  await noneLeft(m);
  assert.is(release(m.state()), undefined);
  assert.ok(m.state().kube.namespaces.taskflow?.taskflow, 'the namespace was deleted');
  assert.equal(changes(m).filter((c) => c.startsWith('helm ')).map((c) => c.split(' ').slice(0, 3).join(' ')), ['helm uninstall taskflow']);
  assert.match(r.stdout, /■ dev stopped; the release is removed/);
});

Dev('bad input is refused with exit 2 before any process starts', async () => {
  const m = await deployed();
  for (const args of [['--debounce', 'soon'], ['--poll', '5'], ['--timeout', 'forever'], ['--frobnicate']]) {
    const r = await m.run('dev.ts', args);
    assert.is(r.code, 2, `${args.join(' ')}: ${r.output}`);
  }
  assert.equal(m.calls(), []);
});

Dev('the cycle line names what was done, and what keeps serving when a stage failed', () => {
  const base: CycleResult = { ok: true, components: [{ component: 'api', tag: 'aaaaaaaaaaaa', previous: 'bbbbbbbbbbbb', built: true, delivered: true }], buildMs: 4100, deliverMs: 2000, rolloutMs: 6300, readyMs: 12_400 };
  assert.is(formatCycle(base, 'load'), '✔ api aaaaaaaaaaaa: build 4.1s, load 2.0s, rollout 6.3s (ready 12.4s after save)');
  assert.is(formatCycle(base, undefined), '✔ api aaaaaaaaaaaa: build 4.1s, rollout 6.3s (ready 12.4s after save)');
  const found = { ...base, components: [{ ...base.components[0]!, built: false, delivered: false }] };
  assert.is(formatCycle(found, 'load'), '✔ api aaaaaaaaaaaa: image found, no build, rollout 6.3s (ready 12.4s after save)');
  const failed: CycleResult = { ok: false, components: base.components, buildMs: 4100, deliverMs: 2000, failed: 'rollout' };
  assert.is(formatCycle(failed, 'push'), '✖ api aaaaaaaaaaaa: build 4.1s, push 2.0s, rollout failed; api bbbbbbbbbbbb keeps serving');
});

Dev.run();
