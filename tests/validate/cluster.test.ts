// validate against a running release: the cluster checks read the fake cluster, and the HTTP
// smoke workflow runs for real — through the fake `kubectl port-forward`, which really listens and
// proxies to the reference app started here (PostgreSQL, backend, built frontend).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ensureBackendVenv, startBackend, type Backend } from '../lib/backend.ts';
import { describeCalls, FakeMachine, mutating } from '../lib/fake-machine.ts';
import { ensureFrontendBuild, startFrontend, type RunningFrontend } from '../lib/frontend.ts';
import { startMcp, type RunningMcp } from '../lib/mcp.ts';
import { startPostgres, type Postgres } from '../lib/postgres.ts';

const Cluster = suite('validate against a cluster');
let pg: Postgres | undefined;
let backend: Backend | undefined;
let frontend: RunningFrontend | undefined;
let mcp: RunningMcp | undefined;
let targets = '';
const backendLog: string[] = [];
const machines: FakeMachine[] = [];

Cluster.before(async () => {
  await ensureBackendVenv();
  await ensureFrontendBuild();
  pg = await startPostgres();
  // The backend's log is kept, not printed: the checks report what failed.
  backend = await startBackend({ databaseUrl: pg.url, onLog: (line) => backendLog.push(line) });
  frontend = await startFrontend({ backendUrl: backend.url });
  // The third component, the real MCP server: validate reaches every component with a port.
  mcp = await startMcp(pg.url);
  const port = (u: string) => Number(new URL(u).port);
  targets = JSON.stringify({ 'service/taskflow-frontend': port(frontend.url), 'service/taskflow-backend': port(backend.url), 'service/taskflow-mcp': port(mcp.url) });
});

Cluster.after(async () => {
  for (const m of machines) m.remove();
  await mcp?.stop();
  await frontend?.stop();
  await backend?.stop();
  await pg?.stop();
});

async function deployed(): Promise<FakeMachine> {
  const m = await FakeMachine.deployed();
  machines.push(m);
  return m;
}

const validate = (m: FakeMachine, args: string[] = []) => m.run('validate.ts', args, { FAKE_KUBECTL_PF_TARGETS: targets });

Cluster('a healthy release passes every cluster check and the smoke workflow through a port-forward', async () => {
  const m = await deployed();
  const r = await validate(m);
  assert.is(r.code, 0, r.output);
  for (const check of ['deployments available', 'database ready with its volume bound', 'services have endpoints', 'ingress present', 'pods run as non-root', 'no container restarting in a loop', 'images are the ones setup built', 'HTTP smoke workflow']) {
    assert.match(r.stdout, new RegExp(`✔ ${check}`), check);
  }
  assert.match(r.stdout, /✔ user isolation \d+ms/);
  assert.match(r.stdout, /✔ old access token refused \d+ms/);
  const pf = m.calls().filter((c) => c.tool === 'kubectl' && c.args.includes('port-forward'));
  // One tunnel per component with a port, the MCP server's too; they start at once, so in any order.
  assert.is(pf.length, 3);
  const lines = pf.map((c) => c.args.join(' ')).sort();
  assert.match(lines[0] ?? '', /--context taskflow --namespace taskflow port-forward service\/taskflow-backend \d+:8000/);
  assert.match(lines[1] ?? '', /--context taskflow --namespace taskflow port-forward service\/taskflow-frontend \d+:3000/);
  assert.match(lines[2] ?? '', /--context taskflow --namespace taskflow port-forward service\/taskflow-mcp \d+:8001/);
  assert.match(r.stdout, /✔ each component answers on its readiness path .*mcp \/health/);
  assert.equal(describeCalls(mutating(m.calls())).filter((c) => !c.includes('port-forward')), []);
});

Cluster('--persistence and --self-heal delete the database and a backend pod and see them back', async () => {
  const m = await deployed();
  const r = await validate(m, ['--persistence', '--self-heal', '--json']);
  assert.is(r.code, 0, r.output);
  const report = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; ok: boolean; details: string[] }[] };
  assert.ok(report.ok);
  const persist = report.checks.find((c) => c.name.startsWith('persistence'));
  assert.match(persist?.details.join(' ') ?? '', /taskflow-postgresql-0 restarted and the task was read back/);
  const heal = report.checks.find((c) => c.name.startsWith('self-heal'));
  assert.match(heal?.details.join(' ') ?? '', /ready; \d+ requests answered, 0 failed/);
  const deletes = describeCalls(mutating(m.calls())).filter((c) => c.includes('delete pod'));
  assert.equal(deletes.map((d) => d.split(' ').slice(5, 7).join(' ')), ['delete pod', 'delete pod']);
});

Cluster('a pod that is not ready fails the availability and endpoint checks, naming it', async () => {
  const m = await deployed();
  m.patchState((s) => {
    const pod = s.kube.pods.taskflow?.taskflow?.find((p) => p.name.startsWith('taskflow-frontend-'));
    if (pod) pod.ready = false;
  });
  const r = await validate(m);
  assert.is(r.code, 1, r.output);
  assert.match(r.stdout, /✖ deployments available\n\s+Deployment\/taskflow-frontend: 0\/1 replicas ready/);
  assert.match(r.stdout, /✖ services have endpoints\n\s+Service\/taskflow-frontend: no ready endpoints/);
});

Cluster('a restart loop, an unbound volume and a stale image are each reported with their evidence', async () => {
  const m = await deployed();
  m.patchState((s) => {
    const pod = s.kube.pods.taskflow?.taskflow?.find((p) => p.name.startsWith('taskflow-backend-'));
    if (pod) Object.assign(pod, { restarts: 7, waiting: 'CrashLoopBackOff' });
    s.kube.pvcPhase = 'Pending';
  });
  writeFileSync(join(m.backendDir, 'app', 'main.py'), `${readFileSync(join(m.backendDir, 'app', 'main.py'), 'utf8')}\n# not deployed yet\n`);
  const r = await validate(m);
  assert.is(r.code, 1, r.output);
  assert.match(r.stdout, /✖ no container restarting in a loop\n\s+Pod\/taskflow-backend-\S+ container backend: 7 restarts, CrashLoopBackOff/);
  assert.match(r.stdout, /PersistentVolumeClaim\/data-taskflow-taskflow-postgresql-0: Pending, not Bound/);
  assert.match(r.stdout, /✖ images are the ones setup built\n\s+Pod\/taskflow-backend-\S+: runs taskflow-backend:\w+, setup builds taskflow-backend:\w+ from the current sources \(rerun setup\)/);
});

Cluster('with no release installed it says to run setup (exit 3)', async () => {
  const m = await deployed();
  assert.is((await m.run('cleanup.ts')).code, 0);
  const r = await validate(m);
  assert.is(r.code, 3, r.output);
  assert.match(r.stderr, /release taskflow is not installed in namespace taskflow/);
});

Cluster('--url smoke-tests that address instead of opening a port-forward', async () => {
  const m = await deployed();
  const r = await validate(m, ['--url', frontend?.url ?? '']);
  assert.is(r.code, 0, r.output);
  assert.not.ok(m.calls().some((c) => c.args.includes('port-forward')));
});

Cluster.run();
