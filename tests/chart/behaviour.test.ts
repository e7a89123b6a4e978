// Targeted assertions on the rendered chart: each would catch a real regression in how the app runs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CHART_SECRET_KEYS } from '../../scripts/lib/app/chart-files.ts';
import { ref, type K8sObject } from '../../scripts/lib/validate/policy.ts';
import { toYaml } from '../../scripts/lib/tools/helm.ts';
import { devValues, dig, find, prodValues, render } from '../lib/chart.ts';

type Env = { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } };
const container = (o: K8sObject, i = 0) => dig(o, `spec.template.spec.containers.${i}`) as Record<string, unknown>;
const envOf = (o: K8sObject) => (container(o).env ?? []) as Env[];
const decode = (s: K8sObject, key: string) => Buffer.from(s.data?.[key] ?? '', 'base64').toString();

const Rollout = suite('rollouts follow config changes');

Rollout('changing a backend setting changes the backend checksum and leaves the frontend alone', async () => {
  const before = await render();
  const after = await render({ set: ['components.backend.env.LOG_LEVEL=debug'] });
  const sum = (objs: K8sObject[], name: string) => dig(find(objs, 'Deployment', name), 'spec.template.metadata.annotations.checksum/config');
  assert.ok(sum(before, 'demo-taskflow-backend'));
  assert.is.not(sum(after, 'demo-taskflow-backend'), sum(before, 'demo-taskflow-backend'));
  assert.is(sum(after, 'demo-taskflow-frontend'), sum(before, 'demo-taskflow-frontend'));
});

Rollout('a given secret changes the secret checksum of both deployments', async () => {
  const a = await render({ set: [`secrets.betterAuthSecret=${'a'.repeat(40)}`, 'postgresql.auth.password=pw-aaaaaaaaaaaaaaaa'] });
  const b = await render({ set: [`secrets.betterAuthSecret=${'b'.repeat(40)}`, 'postgresql.auth.password=pw-aaaaaaaaaaaaaaaa'] });
  for (const name of ['demo-taskflow-backend', 'demo-taskflow-frontend']) {
    const sum = (objs: K8sObject[]) => dig(find(objs, 'Deployment', name), 'spec.template.metadata.annotations.checksum/secret');
    assert.is.not(sum(a), sum(b), name);
  }
});

Rollout('rolling updates never drop below the desired count and drain before SIGTERM', async () => {
  const d = find(await render(), 'Deployment', 'demo-taskflow-backend');
  assert.is(dig(d, 'spec.strategy.rollingUpdate.maxUnavailable'), 0);
  assert.equal(dig(container(d), 'lifecycle.preStop.exec.command'), ['sleep', '5']);
  assert.is(dig(d, 'spec.template.spec.terminationGracePeriodSeconds'), 30);
});

Rollout.run();

const Routing = suite('routing and services');

Routing('the ingress sends /api to the backend and / to the frontend on the configured host', async () => {
  const ing = find(await render({ set: ['ingress.host=todo.example.test'] }), 'Ingress', 'demo-taskflow');
  const rule = (dig(ing, 'spec.rules') as { host: string; http: { paths: { path: string; backend: { service: { name: string } } }[] } }[])[0];
  assert.is(rule?.host, 'todo.example.test');
  const routes = Object.fromEntries(rule?.http.paths.map((p) => [p.path, p.backend.service.name]) ?? []);
  assert.equal(routes, { '/api': 'demo-taskflow-backend', '/': 'demo-taskflow-frontend' });
  assert.is(dig(ing, 'spec.ingressClassName'), 'nginx');
});

Routing('a longer path wins: /api/auth claimed by the frontend goes there, the rest of /api to the backend, longest listed first', async () => {
  const ing = find(await render({ values: toYaml({ components: { frontend: { ingressPaths: ['/', '/api/auth'] } } }) }), 'Ingress', 'demo-taskflow');
  const paths = (dig(ing, 'spec.rules.0.http.paths') as { path: string; backend: { service: { name: string } } }[]).map((p) => [p.path, p.backend.service.name]);
  assert.equal(paths, [
    ['/api/auth', 'demo-taskflow-frontend'],
    ['/api', 'demo-taskflow-backend'],
    ['/', 'demo-taskflow-frontend'],
  ]);
});

Routing('a LoadBalancer service renders without a node port', async () => {
  const svc = find(await render({ set: ['components.frontend.service.type=LoadBalancer'] }), 'Service', 'demo-taskflow-frontend');
  assert.is(dig(svc, 'spec.type'), 'LoadBalancer');
  assert.is(dig(svc, 'spec.ports.0.nodePort'), undefined);
});

Routing('the frontend learns the backend URL at run time from its ConfigMap', async () => {
  const objs = await render({ set: ['components.backend.service.port=9000', 'components.frontend.serviceUrls.BACKEND_URL=backend'] });
  assert.is(find(objs, 'ConfigMap', 'demo-taskflow-frontend').data?.BACKEND_URL, 'http://demo-taskflow-backend:9000');
  const fe = find(objs, 'Deployment', 'demo-taskflow-frontend');
  assert.equal(container(fe).envFrom, [{ configMapRef: { name: 'demo-taskflow-frontend' } }]);
});

Routing('backend readiness asks /health (the database), its startup and liveness /health/live; the frontend /api/health; all through the named port', async () => {
  const objs = await render({ set: ['components.backend.containerPort=8080'] });
  const be = container(find(objs, 'Deployment', 'demo-taskflow-backend'));
  const fe = container(find(objs, 'Deployment', 'demo-taskflow-frontend'));
  assert.equal(dig(be, 'readinessProbe.httpGet'), { path: '/health', port: 'http' });
  // A database outage takes the pods out of the Service but must not restart them.
  assert.equal(dig(be, 'livenessProbe.httpGet'), { path: '/health/live', port: 'http' });
  assert.equal(dig(be, 'startupProbe.httpGet'), { path: '/health/live', port: 'http' });
  for (const p of ['startupProbe', 'livenessProbe', 'readinessProbe']) assert.equal(dig(fe, `${p}.httpGet`), { path: '/api/health', port: 'http' });
  assert.equal(be.ports, [{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
  assert.is(find(objs, 'ConfigMap', 'demo-taskflow-backend').data?.PORT, '8080');
});

Routing('a service URL names any component and follows its service port', async () => {
  const objs = await render({ set: ['components.mcp.enabled=true', 'components.mcp.service.port=9100', 'components.backend.serviceUrls.MCP_URL=mcp'] });
  assert.is(find(objs, 'ConfigMap', 'demo-taskflow-backend').data?.MCP_URL, 'http://demo-taskflow-mcp:9100');
});

Routing('every pod carries the plain app label, selectors stay on the app.kubernetes.io ones', async () => {
  const objs = await render({ set: ['migrations.enabled=true'] });
  const pods = objs.flatMap((o) => {
    const labels = o.kind === 'Pod' ? o.metadata.labels : (dig(o, 'spec.template.metadata.labels') as Record<string, string> | undefined);
    return labels ? [[`${o.kind}/${o.metadata.name}`, labels.app, labels['app.kubernetes.io/component']]] : [];
  });
  assert.equal(pods, [
    ['Deployment/demo-taskflow-backend', 'backend', 'backend'],
    ['Deployment/demo-taskflow-frontend', 'frontend', 'frontend'],
    ['StatefulSet/demo-taskflow-postgresql', 'postgresql', 'postgresql'],
    ['Pod/demo-taskflow-test-backend', 'test', 'test'],
    ['Pod/demo-taskflow-test-frontend', 'test', 'test'],
    ['Job/demo-taskflow-migration', 'migration', 'migration'],
  ]);
  for (const d of objs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) assert.is((dig(d, 'spec.selector.matchLabels') as Record<string, string>).app, undefined, ref(d));
});

Routing('selectors use only the stable labels, objects carry all the standard ones', async () => {
  const d = find(await render(), 'Deployment', 'demo-taskflow-backend');
  assert.equal(dig(d, 'spec.selector.matchLabels'), {
    'app.kubernetes.io/name': 'taskflow',
    'app.kubernetes.io/instance': 'demo',
    'app.kubernetes.io/component': 'backend',
  });
  const labels = d.metadata.labels ?? {};
  for (const k of ['name', 'instance', 'version', 'component', 'part-of', 'managed-by']) assert.ok(labels[`app.kubernetes.io/${k}`], k);
  assert.match(labels['helm.sh/chart'] ?? '', /^taskflow-\d+\.\d+\.\d+/);
});

Routing.run();

const Secrets = suite('secrets');

Secrets('the database password reaches PostgreSQL and the backend only through the Secret, and both agree', async () => {
  const objs = await render();
  const secret = find(objs, 'Secret', 'demo-taskflow');
  const pg = find(objs, 'StatefulSet', 'demo-taskflow-postgresql');
  assert.equal(envOf(pg).find((e) => e.name === 'POSTGRES_PASSWORD')?.valueFrom?.secretKeyRef, { name: 'demo-taskflow', key: 'POSTGRES_PASSWORD' });
  const dbUrl = envOf(find(objs, 'Deployment', 'demo-taskflow-backend')).find((e) => e.name === 'DATABASE_URL');
  assert.equal(dbUrl?.valueFrom?.secretKeyRef, { name: 'demo-taskflow', key: 'DATABASE_URL' });
  const pw = decode(secret, 'POSTGRES_PASSWORD');
  assert.ok(pw.length >= 32, 'generated password is strong');
  assert.is(decode(secret, 'DATABASE_URL'), `postgresql://taskflow:${pw}@demo-taskflow-postgresql:5432/taskflow`);
  for (const cm of objs.filter((o) => o.kind === 'ConfigMap')) {
    assert.not.ok(JSON.stringify(cm.data).includes(pw), `${cm.metadata.name} holds the password`);
  }
});

Secrets('generated secrets are drawn once per render: every pod sees the same checksum', async () => {
  const objs = await render();
  const sums = objs.filter((o) => o.kind === 'Deployment').map((d) => dig(d, 'spec.template.metadata.annotations.checksum/secret'));
  assert.is(new Set(sums).size, 1);
  assert.is(decode(find(objs, 'Secret', 'demo-taskflow'), 'BETTER_AUTH_SECRET').length, 48);
});

Secrets('given secrets are used as they are, and an existing Secret replaces the chart one', async () => {
  const given = 'g'.repeat(36);
  const objs = await render({ set: [`secrets.betterAuthSecret=${given}`, 'secrets.openaiApiKey=sk-test-123'] });
  const secret = find(objs, 'Secret', 'demo-taskflow');
  assert.is(decode(secret, 'BETTER_AUTH_SECRET'), given);
  assert.is(decode(secret, 'OPENAI_API_KEY'), 'sk-test-123');
  const existing = await render({ set: ['secrets.existingSecret=team-secrets'] });
  const refs = envOf(find(existing, 'Deployment', 'demo-taskflow-backend')).map((e) => e.valueFrom?.secretKeyRef?.name);
  assert.equal([...new Set(refs)], ['team-secrets']);
});

Secrets('either component can receive any secret key, under its own variable name', async () => {
  const values = [
    'secrets:',
    '  extra:',
    '    ANTHROPIC_API_KEY: sk-ant-test',
    'components:',
    '  frontend:',
    '    secretEnv:',
    '      - BETTER_AUTH_SECRET',
    '      - DATABASE_URL',
    '  backend:',
    '    secretEnv:',
    '      - DATABASE_URL',
    '      - { name: JWT_SECRET, key: BETTER_AUTH_SECRET }',
    '      - ANTHROPIC_API_KEY',
  ].join('\n');
  const objs = await render({ values });
  const fe = envOf(find(objs, 'Deployment', 'demo-taskflow-frontend'));
  assert.equal(fe.map((e) => [e.name, e.valueFrom?.secretKeyRef?.key]), [['BETTER_AUTH_SECRET', 'BETTER_AUTH_SECRET'], ['DATABASE_URL', 'DATABASE_URL']]);
  const be = envOf(find(objs, 'Deployment', 'demo-taskflow-backend'));
  assert.equal(be.map((e) => [e.name, e.valueFrom?.secretKeyRef?.key]), [['DATABASE_URL', 'DATABASE_URL'], ['JWT_SECRET', 'BETTER_AUTH_SECRET'], ['ANTHROPIC_API_KEY', 'ANTHROPIC_API_KEY']]);
  assert.is(decode(find(objs, 'Secret', 'demo-taskflow'), 'ANTHROPIC_API_KEY'), 'sk-ant-test');
});

Secrets('the Secret holds exactly the keys files/secret-keys.yaml lists, each reference optional where the file says so', async () => {
  // Every key in use: the in-cluster database, a model key given, and a component reading them all.
  const keys = Object.keys(CHART_SECRET_KEYS);
  const values = toYaml({ secrets: { openaiApiKey: 'sk-test-123' }, components: { backend: { secretEnv: keys } } });
  const objs = await render({ values });
  assert.equal(Object.keys(find(objs, 'Secret', 'demo-taskflow').data ?? {}).sort(), [...keys].sort());
  const refs = envOf(find(objs, 'Deployment', 'demo-taskflow-backend')).filter((e) => e.valueFrom?.secretKeyRef?.name === 'demo-taskflow');
  assert.equal(Object.fromEntries(refs.map((e) => [e.name, e.valueFrom?.secretKeyRef?.optional ? 'optional' : 'required'])), CHART_SECRET_KEYS);
});

Secrets('an external database in an existing Secret is read from there', async () => {
  const objs = await render({ set: ['postgresql.enabled=false', 'externalDatabase.existingSecret=neon', 'externalDatabase.existingSecretKey=uri'] });
  const db = envOf(find(objs, 'Deployment', 'demo-taskflow-backend')).find((e) => e.name === 'DATABASE_URL');
  assert.equal(db?.valueFrom?.secretKeyRef, { name: 'neon', key: 'uri' });
});

Secrets.run();

const Database = suite('database');

Database('the StatefulSet keeps its data on a volumeClaimTemplate mounted at the data path', async () => {
  const pg = find(await render({ set: ['postgresql.persistence.size=3Gi', 'postgresql.persistence.storageClass=standard'] }), 'StatefulSet', 'demo-taskflow-postgresql');
  const vct = (dig(pg, 'spec.volumeClaimTemplates') as K8sObject[])[0];
  assert.is(vct?.metadata.name, 'data');
  assert.is(dig(vct, 'spec.resources.requests.storage'), '3Gi');
  assert.is(dig(vct, 'spec.storageClassName'), 'standard');
  const mounts = container(pg).volumeMounts as { name: string; mountPath: string }[];
  assert.ok(mounts.some((m) => m.name === 'data' && m.mountPath === '/var/lib/postgresql/data'));
  const pgdata = envOf(pg).find((e) => e.name === 'PGDATA')?.value ?? '';
  assert.ok(pgdata.startsWith('/var/lib/postgresql/data/'), pgdata);
  assert.is(dig(pg, 'spec.serviceName'), 'demo-taskflow-postgresql');
  assert.equal(dig(container(pg), 'readinessProbe.exec.command.0'), 'pg_isready');
});

Database('the database Service is headless and the NetworkPolicy admits only the backend and the migration job', async () => {
  const objs = await render({ set: ['networkPolicy.enabled=true'] });
  assert.is(dig(find(objs, 'Service', 'demo-taskflow-postgresql'), 'spec.clusterIP'), 'None');
  const np = find(objs, 'NetworkPolicy', 'demo-taskflow-postgresql');
  const from = (dig(np, 'spec.ingress.0.from') as { podSelector: { matchLabels: Record<string, string> } }[]).map(
    (f) => f.podSelector.matchLabels['app.kubernetes.io/component'],
  );
  assert.equal(from, ['backend', 'migration']);
});

Database('the migration job runs in the image of migrations.component', async () => {
  const objs = await render({ set: ['migrations.enabled=true', 'migrations.component=mcp', 'components.mcp.enabled=true', 'components.mcp.image.tag=m1'] });
  const job = find(objs, 'Job', 'demo-taskflow-migration');
  assert.is(dig(container(job), 'image'), 'taskflow-mcp:m1');
  assert.equal(envOf(job).map((e) => e.name), ['DATABASE_URL', 'MCP_SHARED_SECRET']);
});

Database('the migration job is a post-install/pre-upgrade hook running the backend image', async () => {
  const objs = await render({ set: ['migrations.enabled=true', 'components.backend.image.tag=abc123'] });
  const job = find(objs, 'Job', 'demo-taskflow-migration');
  assert.is(job.metadata.annotations?.['helm.sh/hook'], 'post-install,pre-upgrade');
  assert.is(dig(container(job), 'image'), 'taskflow-backend:abc123');
  assert.equal(dig(container(job), 'command'), ['python', '-m', 'app.migrate']);
});

Database.run();

const Profiles = suite('profiles');

Profiles('prod runs at least two replicas of each app with HPA, PDB, anti-affinity and TLS', async () => {
  const objs = await render({ files: [prodValues] });
  for (const c of ['backend', 'frontend']) {
    const hpa = find(objs, 'HorizontalPodAutoscaler', `demo-taskflow-${c}`);
    assert.ok((dig(hpa, 'spec.minReplicas') as number) >= 2, `${c} HPA min`);
    find(objs, 'PodDisruptionBudget', `demo-taskflow-${c}`);
    assert.ok(dig(find(objs, 'Deployment', `demo-taskflow-${c}`), 'spec.template.spec.affinity.podAntiAffinity'), `${c} anti-affinity`);
  }
  const withoutHpa = await render({ files: [prodValues], set: ['autoscaling.enabled=false'] });
  for (const d of withoutHpa.filter((o) => o.kind === 'Deployment')) assert.ok((d.spec?.replicas as number) >= 2);
  assert.ok(dig(find(objs, 'Ingress', 'demo-taskflow'), 'spec.tls.0.secretName'));
});

Profiles('each HPA aims at CPU and memory and waits five minutes before scaling down', async () => {
  const hpa = find(await render({ files: [prodValues] }), 'HorizontalPodAutoscaler', 'demo-taskflow-frontend');
  const targets = (dig(hpa, 'spec.metrics') as { resource: { name: string; target: { averageUtilization: number } } }[]).map((m) => [m.resource.name, m.resource.target.averageUtilization]);
  assert.equal(targets, [['cpu', 70], ['memory', 80]]);
  assert.equal(dig(hpa, 'spec.behavior'), { scaleDown: { stabilizationWindowSeconds: 300 } });
  assert.is(dig(hpa, 'spec.maxReplicas'), 6);
});

Profiles('dev runs one replica of each, never pulls, and has no HPA or anti-affinity', async () => {
  const objs = await render({ files: [devValues] });
  assert.not.ok(objs.some((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'PodDisruptionBudget'));
  for (const d of objs.filter((o) => o.kind === 'Deployment')) {
    assert.is(d.spec?.replicas, 1);
    assert.is(container(d).imagePullPolicy, 'Never');
    assert.is(dig(d, 'spec.template.spec.affinity'), undefined);
  }
  assert.is(dig(find(objs, 'Ingress', 'demo-taskflow'), 'spec.rules.0.host'), 'taskflow.local');
});

Profiles('the app pods write only to emptyDirs (read-only root, /tmp, where the image links the Next.js cache)', async () => {
  const objs = await render();
  const fe = find(objs, 'Deployment', 'demo-taskflow-frontend');
  const mounts = (container(fe).volumeMounts as { mountPath: string }[]).map((m) => m.mountPath);
  assert.equal(mounts, ['/tmp']);
  assert.is(dig(container(fe), 'securityContext.readOnlyRootFilesystem'), true);
  const vols = dig(fe, 'spec.template.spec.volumes') as { emptyDir?: object }[];
  assert.ok(vols.every((v) => v.emptyDir));
});

Profiles('image tags default to the app version and follow the values', async () => {
  const objs = await render({ set: ['components.frontend.image.repository=registry.local/fe', 'components.frontend.image.tag=sha-1f2e'] });
  assert.is(container(find(objs, 'Deployment', 'demo-taskflow-frontend')).image, 'registry.local/fe:sha-1f2e');
  assert.match(String(container(find(objs, 'Deployment', 'demo-taskflow-backend')).image), /^taskflow-backend:\d+\.\d+\.\d+$/);
});

Profiles.run();
