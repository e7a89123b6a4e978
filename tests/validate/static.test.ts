// `validate --static` run as a process: the checklist, --json, a broken chart, bad input.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { root } from '../lib/chart.ts';
import { runScript } from '../lib/run-script.ts';
import { defaultHelm } from '../lib/tool-versions.ts';

const tmp = mkdtempSync(join(tmpdir(), 'taskflow-validate-'));
const goodEnv = join(tmp, 'good.env');
writeFileSync(goodEnv, 'TASKFLOW_PROFILE=dev\nTASKFLOW_NAMESPACE=team-a\n');
const env = { TASKFLOW_ENV_FILE: goodEnv };

const Static = suite('validate --static');

Static('passes for dev and prod and prints one ✔ line per check', async () => {
  const r = await runScript('validate.ts', ['--static'], env);
  assert.is(r.code, 0, r.stdout + r.stderr);
  for (const profile of ['dev', 'prod']) {
    for (const check of ['render', 'kubernetes schemas', 'pod security (restricted)', 'probes', 'requests and limits', 'no secrets in plain config', 'selectors match pod labels', 'services target container ports', 'ingress backends exist']) {
      assert.ok(r.stdout.includes(`✔ ${check} (${profile})`), `missing ✔ ${check} (${profile})\n${r.stdout}`);
    }
  }
  for (const lint of ['values.yaml', 'values-dev.yaml', 'values-prod.yaml']) assert.ok(r.stdout.includes(`✔ helm lint (${lint})`), lint);
  assert.not.ok(r.stdout.includes('✖'));
  assert.match(r.stdout, /(\d+) checks: \1 passed, 0 failed/);
});

Static('--json prints a machine-readable result on stdout and the checklist on stderr', async () => {
  const r = await runScript('validate.ts', ['--static', '--json', '--profile', 'prod'], env);
  assert.is(r.code, 0, r.stderr);
  const parsed = JSON.parse(r.stdout) as { ok: boolean; checks: { name: string; ok: boolean }[] };
  assert.is(parsed.ok, true);
  assert.ok(parsed.checks.some((c) => c.name === 'pod security (restricted) (prod)' && c.ok));
  assert.not.ok(parsed.checks.some((c) => c.name.includes('(dev)')));
  assert.ok(r.stderr.includes('✔ render (prod)'));
});

Static('a chart whose Service targets a port no container exposes fails, naming the Service and the port', async () => {
  const r = await runScript('validate.ts', ['--static', '--chart', join(root, 'tests/fixtures/broken-chart'), '--profile', 'dev'], env);
  assert.is(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /✖ services target container ports \(dev\)\n\s+Service\/taskflow-web: port http targets 9090/);
  assert.match(r.stdout, /1 failed/);
});

Static('a bad env file stops everything with exit code 2 and one list of every problem', async () => {
  const bad = join(tmp, 'bad.env');
  writeFileSync(bad, `TASKFLOW_CPUS=abc\nTASKFLOW_DRIVER=kube\nBETTER_AUTH_SECRET=short-but-secret-Zq9\n`);
  const r = await runScript('validate.ts', ['--static'], { TASKFLOW_ENV_FILE: bad });
  assert.is(r.code, 2);
  assert.match(r.stderr, /3 problems/);
  assert.match(r.stderr, /TASKFLOW_CPUS: "abc" is not a whole number/);
  assert.match(r.stderr, /TASKFLOW_DRIVER: "kube" is not allowed.*minikube, docker-desktop, kind/);
  assert.match(r.stderr, /BETTER_AUTH_SECRET: is 20 characters long, needs at least 32/);
  assert.not.ok((r.stdout + r.stderr).includes('short-but-secret-Zq9'), 'the secret was printed');
  assert.not.ok(r.stdout.includes('helm lint'), 'checks ran despite the bad configuration');
});

Static('unknown flags and bad flag values exit 2 and point at --help', async () => {
  const unknown = await runScript('validate.ts', ['--static', '--colour'], env);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, /--colour/);
  assert.match(unknown.stderr, /--help/);
  const profile = await runScript('validate.ts', ['--static', '--profile', 'staging'], env);
  assert.is(profile.code, 2);
  assert.match(profile.stderr, /--profile staging is not a profile/);
});

Static('--help describes the flags and exit codes and exits 0', async () => {
  const r = await runScript('validate.ts', ['--help']);
  assert.is(r.code, 0);
  assert.match(r.stdout, /--static/);
  assert.match(r.stdout, /Exit codes: 0/);
});

// The scripts run the helm users bring: TASKFLOW_HELM, by default `helm` on PATH (where the test
// runner puts the pinned test helm). An empty PATH is a machine without helm.
const emptyPath = join(tmp, 'empty-path');
mkdirSync(emptyPath);

Static('with no helm on PATH it exits 3 naming helm, without a stack trace', async () => {
  const r = await runScript('validate.ts', ['--static'], { ...env, PATH: emptyPath, HELM_BIN: undefined });
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.match(r.stderr, /✖ helm was not found on PATH/);
  assert.match(r.stderr, /Install Helm 3\.12\+ or 4/);
  assert.match(r.stderr, /TASKFLOW_HELM/);
  assert.not.match(r.stderr, /\n\s+at /, 'a stack trace was printed');
});

Static('TASKFLOW_HELM naming a helm that does not exist exits 3 naming the setting and the path', async () => {
  const missing = join(tmp, 'no-such-dir', 'helm');
  const r = await runScript('validate.ts', ['--static', '--only', 'lint'], { ...env, TASKFLOW_HELM: missing });
  assert.is(r.code, 3, r.stdout + r.stderr);
  assert.ok(r.stderr.includes(`✖ helm was not found at ${missing} (TASKFLOW_HELM)`), r.stderr);
  assert.not.match(r.stderr, /\n\s+at /, 'a stack trace was printed');
});

Static('TASKFLOW_HELM set to a helm binary is the one run, with no helm on PATH', async () => {
  const r = await runScript('validate.ts', ['--static', '--only', 'lint', '--verbose'], { ...env, PATH: emptyPath, TASKFLOW_HELM: await defaultHelm() });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.ok(r.stderr.includes(`$ ${await defaultHelm()} lint `), r.stderr);
  assert.ok(r.stdout.includes('✔ helm lint (values-prod.yaml)'), r.stdout);
});

Static('TASKFLOW_HELM that is neither a program name nor an absolute path is bad input (exit 2)', async () => {
  const r = await runScript('validate.ts', ['--static'], { ...env, TASKFLOW_HELM: 'helm --debug' });
  assert.is(r.code, 2, r.stdout + r.stderr);
  assert.match(r.stderr, /TASKFLOW_HELM: "helm --debug" has the wrong form \(from the environment\)\. Fix: a program name on PATH such as helm/);
});

Static.after(() => rmSync(tmp, { recursive: true, force: true }));
Static.run();
