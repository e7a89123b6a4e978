// How `minikube docker-env --shell none` is read: its KEY=VALUE lines, and each refusal that
// decides the image route (texts and exit codes from cmd/minikube/cmd/docker-env.go and
// pkg/minikube/reason).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDockerEnv } from '../../scripts/lib/tools/minikube.ts';

const Env = suite('minikube docker-env');

Env('the docker runtime answers KEY=VALUE lines, all of which are kept', () => {
  const out = 'DOCKER_TLS_VERIFY=1\nDOCKER_HOST=tcp://192.168.49.2:2376\nDOCKER_CERT_PATH=/home/u/.minikube/certs\nMINIKUBE_EXISTING_DOCKER_HOST=unix:///run/user/1000/docker.sock\nMINIKUBE_ACTIVE_DOCKERD=taskflow\n';
  assert.equal(parseDockerEnv(out, '', 0), {
    kind: 'env',
    env: {
      DOCKER_TLS_VERIFY: '1',
      DOCKER_HOST: 'tcp://192.168.49.2:2376',
      DOCKER_CERT_PATH: '/home/u/.minikube/certs',
      MINIKUBE_EXISTING_DOCKER_HOST: 'unix:///run/user/1000/docker.sock',
      MINIKUBE_ACTIVE_DOCKERD: 'taskflow',
    },
  });
});

Env('a value holding "=" keeps it, and blank or comment lines are skipped (as Skaffold reads it)', () => {
  const r = parseDockerEnv('\n# hint\nDOCKER_HOST=tcp://127.0.0.1:32771\nDOCKER_CERT_PATH=C:\\Users\\a=b\\.minikube\\certs\n', '', 0);
  assert.equal(r, { kind: 'env', env: { DOCKER_HOST: 'tcp://127.0.0.1:32771', DOCKER_CERT_PATH: 'C:\\Users\\a=b\\.minikube\\certs' } });
});

Env('a shell-quoted line (a wrong --shell) or no DOCKER_HOST is a failure, not an environment', () => {
  assert.is(parseDockerEnv('export DOCKER_HOST="tcp://1.2.3.4:2376"\n', '', 0).kind, 'failed');
  assert.is(parseDockerEnv('set -gx DOCKER_HOST "tcp://1.2.3.4:2376";\n', '', 0).kind, 'failed');
  assert.is(parseDockerEnv('DOCKER_TLS_VERIFY=1\n', '', 0).kind, 'failed');
});

Env('containerd and cri-o are named from MK_USAGE (exit 14)', () => {
  for (const runtime of ['containerd', 'cri-o']) {
    const err = `❌  Exiting due to MK_USAGE: The docker-env command is only compatible with the "docker" runtime, but this cluster was configured to use the "${runtime}" runtime.\n`;
    const r = parseDockerEnv('', err, 14);
    assert.is(r.kind, 'other-runtime');
    assert.is(r.kind === 'other-runtime' && r.runtime, runtime);
  }
});

Env('a multi-node profile (exit 81), a stopped or missing one (83, 85) and anything else are told apart', () => {
  assert.is(parseDockerEnv('', "❌  Exiting due to ENV_MULTINODE_CONFLICT: The docker-env command is incompatible with multi-node clusters. Use the 'registry' add-on: …", 81).kind, 'multi-node');
  assert.is(parseDockerEnv('🤷  Profile "taskflow" not found. Run "minikube profile list" to view all profiles.', '', 85).kind, 'not-running');
  assert.is(parseDockerEnv('', '🤷  The control-plane node taskflow host is not running: state=Stopped', 83).kind, 'not-running');
  const none = parseDockerEnv('', "❌  Exiting due to ENV_DRIVER_CONFLICT: 'none' driver does not support 'minikube docker-env' command", 51);
  assert.equal(none.kind === 'failed' && none.exitCode, 51);
});

Env.run();
