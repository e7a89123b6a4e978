// An app that is not ours, declared as data (tests/fixtures/notes-app/app.yaml: a web service with
// its own Dockerfile, stage, public build arg, generated secret and LoadBalancer; a worker with no
// port), taken through setup, a no-op rerun, one component changed, scale and cleanup against
// the fake CLIs, with the real helm rendering the chart inside the fake `helm upgrade`.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseDotenv } from 'dotenv';
import { describeCalls, FakeMachine, mutating, type FakeState, type RunResult } from '../lib/fake-machine.ts';

const Own = suite('setup of an app that is not ours');
const machines: FakeMachine[] = [];
const APP = 'tests/fixtures/notes-app/app.yaml';

async function machine(opts: Parameters<typeof FakeMachine.create>[0] = {}): Promise<FakeMachine> {
  const m = await FakeMachine.create({ app: APP, ...opts });
  machines.push(m);
  return m;
}

type Rel = { components: Record<string, { enabled?: boolean; image?: { repository: string; tag: string }; replicaCount?: number }>; secrets: { extra: Record<string, string> }; migrations?: { enabled?: boolean } };
const release = (s: FakeState) => s.helm.releases['taskflow/taskflow/taskflow'];
const lastValues = (s: FakeState) => release(s)?.revisions.at(-1)?.values as Rel;
const changes = (m: FakeMachine) => describeCalls(mutating(m.calls()));

async function run(m: FakeMachine, script: string, args: string[] = []): Promise<RunResult> {
  const r = await m.run(script, args);
  return r;
}

Own("fresh: each declared component is built from its own Dockerfile and stage in minikube's Docker daemon, and deployed; the chart's own are off", async () => {
  const m = await machine();
  const r = await run(m, 'setup.ts');
  assert.is(r.code, 0, r.output);
  const builds = changes(m).filter((c) => c.startsWith('docker build'));
  assert.is(builds.length, 2, builds.join('\n'));
  const web = builds.find((b) => b.includes('--tag notes-web:')) ?? '';
  const worker = builds.find((b) => b.includes('--tag notes-worker:')) ?? '';
  assert.match(web, /--file \S+\/tests\/fixtures\/notes-app\/web\/Dockerfile --target runtime/);
  assert.match(web, /--build-arg PUBLIC_TITLE=Team notes/);
  assert.not.match(worker, /--target/);
  // The mirror is passed only to a Dockerfile that declares it; neither of these does.
  assert.not.match(builds.join('\n'), /PIP_INDEX_URL|NPM_CONFIG_REGISTRY/);
  // Built in the node's daemon (the docker runtime): nothing to load.
  assert.is(changes(m).filter((c) => c.startsWith('minikube image load')).length, 0);
  assert.ok(m.calls().filter((c) => c.tool === 'docker' && c.args[0] === 'build').every((c) => c.dockerHost === 'tcp://192.168.49.2:2376'));

  const s = m.state();
  const values = lastValues(s);
  for (const c of ['backend', 'frontend', 'mcp']) assert.is(values.components[c]?.enabled, false, c);
  assert.is(values.components.web?.enabled, true);
  assert.is(values.components.worker?.enabled, true);
  assert.ok(s.minikube.profiles.taskflow?.images.includes(`notes-web:${values.components.web?.image?.tag}`));
  assert.ok(s.minikube.profiles.taskflow?.images.includes(`notes-worker:${values.components.worker?.image?.tag}`));
  // No migration Job for an app that declares no migrate command.
  assert.is(values.migrations?.enabled, false);
  // The declared secret was generated once, written to the env file, and sent only to the Secret.
  const env = parseDotenv(readFileSync(m.envFile));
  assert.match(env.NOTES_API_TOKEN ?? '', /^.{32,}$/);
  assert.is(values.secrets.extra.NOTES_API_TOKEN, env.NOTES_API_TOKEN);
  assert.not.ok(r.output.includes(env.NOTES_API_TOKEN as string), 'the generated secret was printed');
  // The pods the chart rendered: web and worker, nothing of the reference app.
  const pods = (s.kube.pods.taskflow?.taskflow ?? []).map((p) => p.labels['app.kubernetes.io/component'] ?? '').sort();
  assert.equal([...new Set(pods)], ['postgresql', 'web', 'worker']);
  // The report names the LoadBalancer and what minikube needs for it.
  assert.match(r.stdout, /web \(LoadBalancer\): http:\/\/127\.0\.0\.1:8080/);
  assert.match(r.stdout, /minikube tunnel -p taskflow/);
  assert.match(r.stdout, /scale ARGS="--web 2"/);
});

Own('a rerun with nothing changed changes nothing', async () => {
  const m = await machine();
  assert.is((await run(m, 'setup.ts')).code, 0);
  m.clearCalls();
  const r = await run(m, 'setup.ts');
  assert.is(r.code, 0, r.output);
  assert.equal(changes(m), []);
  assert.match(r.stdout, /web [0-9a-f]{12}: found in the cluster, skipping build/);
});

Own('one component changed: only its image is built, and one upgrade rolls it', async () => {
  const m = await machine();
  assert.is((await run(m, 'setup.ts')).code, 0);
  const before = lastValues(m.state());
  const file = join(m.contexts.worker as string, 'worker.py');
  writeFileSync(file, `${readFileSync(file, 'utf8')}\n# changed\n`);
  m.clearCalls();
  const r = await run(m, 'setup.ts');
  assert.is(r.code, 0, r.output);
  const changed = changes(m);
  assert.equal(changed.filter((c) => c.startsWith('docker build')).map((c) => /--tag (notes-\w+):/.exec(c)?.[1]), ['notes-worker']);
  assert.is(changed.filter((c) => c.startsWith('minikube image load')).length, 0);
  assert.is(changed.filter((c) => c.startsWith('helm upgrade')).length, 1);
  const after = lastValues(m.state());
  assert.is(after.components.web?.image?.tag, before.components.web?.image?.tag);
  assert.is.not(after.components.worker?.image?.tag, before.components.worker?.image?.tag);
});

Own('scale takes --<component> for the declared names and --component name=N; an unknown name is refused before anything runs', async () => {
  const m = await machine();
  assert.is((await run(m, 'setup.ts')).code, 0);
  m.clearCalls();
  const r = await run(m, 'scale.ts', ['--web', '2', '--component', 'worker=3']);
  assert.is(r.code, 0, r.output);
  assert.match(r.stdout, /after: {2}web 2, worker 3, HPA off/);
  const v = lastValues(m.state());
  assert.is(v.components.web?.replicaCount, 2);
  assert.is(v.components.worker?.replicaCount, 3);
  m.clearCalls();
  const bad = await run(m, 'scale.ts', ['--component', 'wroker=2']);
  assert.is(bad.code, 2, bad.output);
  assert.match(bad.stderr, /--component wroker: there is no such component/);
  assert.match(bad.stderr, /Did you mean worker\?/);
  const flag = await run(m, 'scale.ts', ['--frontend', '2']);
  assert.is(flag.code, 2, flag.output);
  assert.match(flag.stderr, /Unknown option '--frontend'/);
  assert.equal(m.calls(), []);
  // The next setup keeps the scale.
  assert.is((await run(m, 'setup.ts')).code, 0);
  assert.is(lastValues(m.state()).components.worker?.replicaCount, 3);
});

Own('cleanup removes the release, and --purge the profile with the images built in it and those of each declared component in local Docker', async () => {
  const m = await machine();
  assert.is((await run(m, 'setup.ts')).code, 0);
  // setup built in minikube's daemon; images of the app left in the host's Docker by a host build
  // (a containerd profile, or an older toolkit) are the user's too, and purge removes them.
  assert.equal(m.state().docker.images.filter((i) => i.startsWith('notes-')), []);
  m.patchState((s) => void s.docker.images.push('notes-web:0123456789ab', 'notes-worker:0123456789ab'));
  const built = m.state().docker.images.filter((i) => i.startsWith('notes-'));
  m.clearCalls();
  const r = await run(m, 'cleanup.ts', ['--purge', '--yes']);
  assert.is(r.code, 0, r.output);
  const s = m.state();
  assert.is(release(s), undefined);
  assert.is(s.minikube.profiles.taskflow, undefined);
  assert.equal(s.docker.images.filter((i) => i.startsWith('notes-')), []);
  for (const image of built) assert.match(r.stdout, new RegExp(image.replace(/[.:]/g, '\\$&')));
});

Own.after(() => {
  for (const m of machines) m.remove();
});
Own.run();
