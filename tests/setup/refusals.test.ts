// setup refuses to start on a broken machine or bad input: a clear message naming the tool or
// key and the fix, the documented exit code, and not a single call that changes anything.
import { readFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { describeCalls, FakeMachine, mutating, type RunResult } from '../lib/fake-machine.ts';

const Refuse = suite('setup refusals');
const machines: FakeMachine[] = [];

async function refuse(opts: Parameters<typeof FakeMachine.create>[0], args: string[] = []): Promise<{ m: FakeMachine; r: RunResult }> {
  const m = await FakeMachine.create(opts);
  machines.push(m);
  const envBefore = readFileSync(m.envFile, 'utf8');
  const r = await m.run('setup.ts', args);
  assert.equal(describeCalls(mutating(m.calls())), [], 'a refused run changed something');
  assert.is(readFileSync(m.envFile, 'utf8'), envBefore, 'a refused run changed the env file');
  assert.not.match(r.stderr, /\n\s+at .*\.ts:\d+/, 'printed a stack trace');
  return { m, r };
}

Refuse('a missing minikube is named, with where to get it (exit 3)', async () => {
  const { r } = await refuse({ tools: ['docker', 'kubectl', 'helm'] });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /minikube was not found on PATH/);
  assert.match(r.stderr, /minikube\.sigs\.k8s\.io/);
});

Refuse('a missing kubectl is named (exit 3)', async () => {
  const { r } = await refuse({ tools: ['docker', 'minikube', 'helm'] });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /kubectl was not found on PATH/);
});

Refuse('a missing helm is named, with TASKFLOW_HELM as the other way to point at one (exit 3)', async () => {
  const { r } = await refuse({ tools: ['docker', 'minikube', 'kubectl'] });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /helm was not found on PATH/);
  assert.match(r.stderr, /helm\.sh.*TASKFLOW_HELM/);
});

Refuse('TASKFLOW_HELM naming a file that does not exist is named with the setting (exit 3)', async () => {
  const { r } = await refuse({ env: 'TASKFLOW_HELM=/opt/no-such-helm/helm\n' });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /helm was not found at \/opt\/no-such-helm\/helm \(TASKFLOW_HELM\)/);
});

Refuse('a too-old helm names the version found and the minimum (exit 3)', async () => {
  const { r } = await refuse({
    state: (s) => {
      s.helm.version = 'v3.10.3';
    },
  });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /helm v3\.10\.3 is too old: taskflow needs Helm 3\.12 or newer/);
  assert.match(r.stderr, /helm\.sh/);
});

Refuse('a too-old minikube is refused the same way (exit 3)', async () => {
  const { r } = await refuse({
    state: (s) => {
      s.minikube.version = 'v1.29.0';
    },
  });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /minikube 1\.29\.0 is too old: taskflow needs minikube 1\.32\.0 or newer/);
});

Refuse('a dead Docker daemon says so and how to start it (exit 3)', async () => {
  const { r } = await refuse({
    state: (s) => {
      s.docker.daemon = false;
    },
  });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /the Docker daemon is not reachable: Cannot connect to the Docker daemon/);
  assert.match(r.stderr, /start Docker/);
});

Refuse('a dead Docker daemon whose client exits 0 with ServerErrors is told to start, not install, Docker (exit 3)', async () => {
  const { r } = await refuse({
    state: (s) => {
      s.docker.daemon = false;
      s.docker.downInfo = 'exit-0';
    },
  });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /the Docker daemon is not reachable: Cannot connect to the Docker daemon/);
  assert.match(r.stderr, /Docker is installed but its daemon is not running/);
  assert.not.match(r.stderr, /Install Docker/);
});

Refuse('more CPUs or memory than Docker has is refused before the cluster is touched (exit 3)', async () => {
  const { r } = await refuse({ env: 'TASKFLOW_CPUS=16\nTASKFLOW_MEMORY_MB=65536\n' });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /TASKFLOW_CPUS=16 but Docker has 8 CPUs; TASKFLOW_MEMORY_MB=65536 but Docker has 16384 MiB/);
});

Refuse('a missing kube context is not replaced by the current one (exit 3)', async () => {
  const { r } = await refuse({
    state: (s) => {
      s.minikube.profiles.taskflow = { host: 'Running', cpus: 2, memory: '4096mb', addons: { ingress: true }, images: [] };
      s.kube.contexts = { 'prod-eu': 'minikube:other' };
      s.kube.current = 'prod-eu';
    },
  });
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /kube context "taskflow" is not in your kubeconfig \(the current context is "prod-eu", which setup will not touch\)/);
  assert.match(r.stderr, /minikube update-context -p taskflow/);
});

Refuse('a bad env file lists every problem with exit 2 and runs no process at all', async () => {
  const { m, r } = await refuse({ env: 'TASKFLOW_CPUS=abc\nTASKFLOW_DRIVER=k3s\nBETTER_AUTH_SECRET=tooshort-but-secret\nnot a setting line\n' });
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /4 problems/);
  assert.match(r.stderr, /TASKFLOW_CPUS: "abc" is not a whole number/);
  assert.match(r.stderr, /TASKFLOW_DRIVER: "k3s" is not allowed/);
  assert.match(r.stderr, /BETTER_AUTH_SECRET: is 19 characters long/);
  assert.match(r.stderr, /taskflow\.env:4: is not a KEY=value line/);
  assert.not.ok(r.output.includes('tooshort-but-secret'));
  assert.equal(m.calls(), []);
});

Refuse('bad flags are refused with exit 2 and no process run', async () => {
  const { m, r } = await refuse({}, ['--driver', 'k3d', '--profile', 'staging']);
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /TASKFLOW_DRIVER: "k3d" is not allowed \(from --driver\)/);
  assert.match(r.stderr, /TASKFLOW_PROFILE: "staging" is not allowed \(from --profile\)/);
  assert.equal(m.calls(), []);
  const timeout = await m.run('setup.ts', ['--timeout', 'soon']);
  assert.is(timeout.code, 2);
  assert.match(timeout.stderr, /--timeout soon is not a duration/);
  const unknown = await m.run('setup.ts', ['--force']);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /--force/);
});

Refuse('bad chart values from settings fail at the release step with helm\'s message naming the field, and nothing is upgraded', async () => {
  const m = await FakeMachine.create({ env: 'TASKFLOW_INGRESS_HOST=taskflow.local\n' });
  machines.push(m);
  // A valid setting but a chart that refuses it: an ingress host the schema rejects.
  m.patchState(() => {});
  const r = await m.run('setup.ts', ['--namespace', 'Team_A']);
  assert.is(r.code, 2, r.output);
  assert.match(r.stderr, /TASKFLOW_NAMESPACE: "Team_A" has the wrong form \(from --namespace\)/);
});

Refuse('--help describes every flag and the exit codes', async () => {
  const m = await FakeMachine.create();
  machines.push(m);
  const r = await m.run('setup.ts', ['--help']);
  assert.is(r.code, 0);
  for (const flag of ['--driver', '--profile', '--context', '--skip-build', '--dry-run', '--yes', '--json', '--verbose', '--timeout']) assert.ok(r.stdout.includes(flag), flag);
  assert.match(r.stdout, /Exit codes: 0/);
  assert.equal(m.calls(), []);
});

Refuse.after(() => {
  for (const m of machines) m.remove();
});
Refuse.run();
