// The parts of port-forward that need no process: Service names (checked against the real chart),
// kubectl argv, backoff, lsof parsing, error classification; and the fake kubectl's refusals.
import { spawnSync } from 'node:child_process';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { chartFullname } from '../../scripts/lib/core/names.ts';
import { parseLsof } from '../../scripts/lib/tunnels/ports.ts';
import { classifyKubectlError, nextBackoff, planTunnels, portForwardArgs } from '../../scripts/lib/tunnels/tunnels.ts';
import { passThroughFlags } from '../../scripts/port-forward.ts';
import { loadApp } from '../../scripts/lib/app/declaration.ts';
import { componentFlags, componentOverrides } from '../../scripts/lib/core/flags.ts';
import { portSetting } from '../../scripts/lib/app/components.ts';
import { root } from '../lib/chart.ts';
import { chartDir, helm } from '../lib/chart.ts';
import { parseManifests } from '../../scripts/lib/validate/static.ts';
import { makeWorld } from './harness.ts';

const app = loadApp(root, {});
const names = suite('service names');

names('a release without "taskflow" in its name gets the chart name appended', () => {
  assert.is(chartFullname('demo'), 'demo-taskflow');
  assert.equal(planTunnels('demo', app, { frontend: 3000, backend: 8000 }).map((t) => t.service), ['demo-taskflow-frontend', 'demo-taskflow-backend']);
});

names('a release that contains "taskflow" is used as is', () => {
  assert.is(chartFullname('taskflow'), 'taskflow');
  assert.is(chartFullname('my-taskflow-dev'), 'my-taskflow-dev');
  assert.equal(planTunnels('taskflow', app, { frontend: 3000, backend: 8000 }).map((t) => t.service), ['taskflow-frontend', 'taskflow-backend']);
});

names('the names match the Services the chart renders, long release names included', async () => {
  const h = await helm();
  // Helm allows 53 characters; the last one makes the cut fullname end in "-", as the chart keeps it.
  for (const release of ['taskflow', 'demo', 'prod-taskflow', `r${'x'.repeat(50)}`, `r${'x'.repeat(52)}`]) {
    const objects = parseManifests(await h.template(chartDir, { release, namespace: 'taskflow', valuesFiles: [] }));
    const services = objects.filter((o) => o.kind === 'Service').map((o) => o.metadata.name);
    for (const t of planTunnels(release, app, { frontend: 3000, backend: 8000 })) {
      assert.ok(services.includes(t.service), `${t.service} is not among the rendered Services ${services.join(', ')}`);
      const svc = objects.find((o) => o.kind === 'Service' && o.metadata.name === t.service) as { spec?: { ports?: { port: number }[] } } | undefined;
      assert.ok(svc?.spec?.ports?.some((p) => p.port === t.remotePort), `${t.service} has no port ${t.remotePort}`);
    }
  }
});

names.run();

const plan = suite('kubectl argv and backoff');

plan('each tunnel is one kubectl port-forward naming context and namespace', () => {
  const [fe, be] = planTunnels('taskflow', app, { frontend: 3001, backend: 8001 });
  assert.equal(portForwardArgs('kind-taskflow', 'apps', fe!), ['--context', 'kind-taskflow', '--namespace', 'apps', 'port-forward', 'service/taskflow-frontend', '3001:3000']);
  assert.equal(portForwardArgs('kind-taskflow', 'apps', be!), ['--context', 'kind-taskflow', '--namespace', 'apps', 'port-forward', 'service/taskflow-backend', '8001:8000']);
  assert.is(fe!.healthPath, '/api/health');
  assert.is(be!.healthPath, '/health');
});

plan('reconnects wait 0.5s, then twice as long each time, never more than 8s', () => {
  const seen: number[] = [];
  let d: number | undefined;
  for (let i = 0; i < 7; i++) seen.push((d = nextBackoff(d)));
  assert.equal(seen, [500, 1000, 2000, 4000, 8000, 8000, 8000]);
});

plan('port flags override the port settings, and a detached copy gets the cluster flags again', () => {
  const flags = componentFlags(app, '-port', {}, (c) => c.localPort !== undefined);
  // One flag per component with a local port: the MCP server has none, so no --mcp-port.
  assert.equal(Object.keys(flags), ['backend-port', 'frontend-port']);
  assert.equal(componentOverrides({ 'frontend-port': '3100' }, flags, portSetting), { TASKFLOW_FRONTEND_PORT: { value: '3100', flag: '--frontend-port' } });
  assert.equal(passThroughFlags({ context: 'kind-x', namespace: 'apps', verbose: true }), ['--context', 'kind-x', '--namespace', 'apps', '--verbose']);
  assert.equal(passThroughFlags({}), []);
});

plan('lsof output names the listening command and its pid', () => {
  const out = `COMMAND   PID USER   FD   TYPE DEVICE SIZE/OFF NODE NAME
python3 4242 root    3u  IPv4 123456      0t0  TCP 127.0.0.1:3000 (LISTEN)
`;
  assert.is(parseLsof(out), 'python3 (pid 4242)');
  assert.is(parseLsof(''), undefined);
});

plan("kubectl's errors before the first tunnel: missing things are reported, a pod still starting is retried", () => {
  const [fe] = planTunnels('taskflow', app, { frontend: 3000, backend: 8000 });
  const verdict = (line: string) => classifyKubectlError(line, fe!, 'minikube', 'taskflow');
  const notFound = verdict('Error from server (NotFound): services "taskflow-frontend" not found');
  assert.is(notFound.retry, false);
  if (!notFound.retry) {
    assert.match(notFound.error.message, /service\/taskflow-frontend was not found in namespace taskflow/);
    assert.is(notFound.error.exitCode, 1);
  }
  // kubectl words an unknown --context two ways, depending on the command (see tests/fakes/kubectl).
  for (const line of ['error: context "minikube" does not exist', 'Error in configuration: context was not found for specified context: minikube']) {
    const noContext = verdict(line);
    assert.is(!noContext.retry && noContext.error.exitCode, 3, line);
  }
  const busy = verdict('Unable to listen on port 3000: Listeners failed to create with the following errors: [unable to create listener: Error listen tcp4 127.0.0.1:3000: bind: address already in use]');
  assert.is(!busy.retry && busy.error.exitCode, 2);
  assert.is(verdict('error: unable to forward port because pod is not running. Current status=Pending').retry, true);
  assert.is(verdict('').retry, true);
});

plan.run();

const fake = suite('the fake kubectl');

fake('answers any subcommand but port-forward with a loud failure', () => {
  const world = makeWorld({});
  try {
    const r = spawnSync('kubectl', ['--context', 'x', 'get', 'pods'], { env: world.env, encoding: 'utf8' });
    assert.is(r.status, 99);
    assert.is(r.stderr.trim(), 'fake kubectl: unsupported: --context x get pods');
  } finally {
    world.cleanup();
  }
});

fake('reports an unknown service the way kubectl does', () => {
  const world = makeWorld({});
  try {
    const r = spawnSync('kubectl', ['port-forward', 'service/nope', '1234:80'], { env: world.env, encoding: 'utf8' });
    assert.is(r.status, 1);
    assert.is(r.stderr.trim(), 'Error from server (NotFound): services "nope" not found');
  } finally {
    world.cleanup();
  }
});

fake.run();
