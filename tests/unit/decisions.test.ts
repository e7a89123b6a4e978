// The pure decisions behind setup's idempotency, tested without any process: what to do with a
// release, an image, the env file, and which files make an image's content tag.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fillKeys, planEnvFile, randomSecret } from '../../scripts/lib/app/env-file.ts';
import { compileDockerignore, contextFiles, isIgnored } from '../../scripts/lib/images/ignore.ts';
import { contentTag } from '../../scripts/lib/images/tag.ts';
import { decideImage } from '../../scripts/lib/images/plan.ts';
import { decideRelease, scaledValues } from '../../scripts/lib/release/decide.ts';
import { mergeValues, sameValues } from '../../scripts/lib/app/values.ts';
import type { HistoryEntry, ReleaseStatus } from '../../scripts/lib/tools/helm.ts';

const Release = suite('release decision');
const info = (status: ReleaseStatus, revision: number) => ({ status, revision, chartVersion: '0.1.0', chartName: 'taskflow' });
const hist = (...s: ReleaseStatus[]): HistoryEntry[] => s.map((status, i) => ({ revision: i + 1, status }));
const want = { components: { backend: { image: { tag: 'abc' } } } };

Release('no release: install', () => {
  assert.is(decideRelease({ history: [] }, want).action, 'install');
});

Release('deployed with the same values (in any key order): nothing', () => {
  const v = decideRelease({ info: info('deployed', 3), history: hist('superseded', 'superseded', 'deployed'), currentValues: { components: { backend: { image: { tag: 'abc' } } } } }, want);
  assert.is(v.action, 'none');
});

Release('deployed with other values: upgrade', () => {
  assert.is(decideRelease({ info: info('deployed', 1), history: hist('deployed'), currentValues: { components: { backend: { image: { tag: 'old' } } } } }, want).action, 'upgrade');
});

Release('pending-upgrade after a deployed revision: roll back to that revision, then upgrade', () => {
  const v = decideRelease({ info: info('pending-upgrade', 3), history: hist('superseded', 'deployed', 'pending-upgrade') }, want);
  assert.equal(v.action === 'rollback-then-upgrade' && v.revision, 2);
});

Release('pending-install or pending-rollback with nothing deployed before: uninstall, then install', () => {
  assert.is(decideRelease({ info: info('pending-install', 1), history: hist('pending-install') }, want).action, 'uninstall-then-install');
  assert.is(decideRelease({ info: info('failed', 1), history: hist('failed') }, want).action, 'uninstall-then-install');
});

Release('failed after a good revision: a plain upgrade', () => {
  assert.is(decideRelease({ info: info('failed', 2), history: hist('deployed', 'failed') }, want).action, 'upgrade');
});

Release('values merge like helm: maps deep, lists and scalars replaced, null deletes', () => {
  assert.equal(mergeValues({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3] }, d: null }), { a: { b: 1, c: [3] } });
  assert.ok(sameValues({ x: [1, { y: 2 }] }, { x: [1, { y: 2 }] }));
  assert.not.ok(sameValues({ x: [1, 2] }, { x: [2, 1] }));
});

Release('scaled values are carried only for the same profile', () => {
  const current = { commonAnnotations: { 'taskflow.dev/profile': 'dev' }, components: { frontend: { replicaCount: 3, image: { tag: 'x' } } }, autoscaling: { enabled: false } };
  assert.equal(scaledValues(current, 'dev'), { components: { frontend: { replicaCount: 3 } }, autoscaling: { enabled: false } });
  assert.equal(scaledValues(current, 'prod'), {});
  assert.equal(scaledValues(undefined, 'dev'), {});
});

Release.run();

const Image = suite('image decision');

Image('at its target: nothing; built but not delivered: deliver; missing: build and deliver', () => {
  const o = { skipBuild: false, clusterSharesDocker: false };
  assert.is(decideImage({ atTarget: true, inLocalDocker: false }, o).action, 'none');
  assert.is(decideImage({ atTarget: false, inLocalDocker: true }, o).action, 'deliver');
  assert.equal(decideImage({ atTarget: false, inLocalDocker: false }, o), { action: 'build', reason: 'not found', deliver: true });
});

Image('Docker Desktop shares images: a build is enough, and a local image counts as in the cluster', () => {
  const o = { skipBuild: false, clusterSharesDocker: true };
  assert.equal(decideImage({ atTarget: false, inLocalDocker: false }, o), { action: 'build', reason: 'not found', deliver: false });
  assert.is(decideImage({ atTarget: false, inLocalDocker: true }, o).action, 'none');
});

Image('--skip-build with a missing image is reported, never built', () => {
  assert.is(decideImage({ atTarget: false, inLocalDocker: false }, { skipBuild: true, clusterSharesDocker: false }).action, 'skip-build');
});

Image.run();

const Ignore = suite('.dockerignore and content tags');

Ignore('patterns match as Docker reads them: **, directories, negation, last match wins', () => {
  const rules = compileDockerignore('# comment\n**/__pycache__\n.env\n*.log\ntests\n!tests/keep.txt\n/build/\n');
  for (const p of ['app/__pycache__/x.pyc', '__pycache__', '.env', 'x.log', 'tests/test_a.py', 'build/out']) assert.ok(isIgnored(rules, p), p);
  for (const p of ['app/main.py', 'tests/keep.txt', 'sub/x.log', '.env.example2', 'a/.env']) assert.not.ok(isIgnored(rules, p), p);
});

Ignore('the tag follows the sent files, the Dockerfile and the build args, but not mirrors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-tag-'));
  try {
    mkdirSync(join(dir, 'ctx', 'tests'), { recursive: true });
    writeFileSync(join(dir, 'ctx', 'main.py'), 'print(1)\n');
    writeFileSync(join(dir, 'ctx', 'tests', 'test_x.py'), '');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM x\n');
    writeFileSync(join(dir, 'Dockerfile.dockerignore'), 'tests\n');
    const src = { component: 'backend', contextDir: join(dir, 'ctx'), dockerfile: join(dir, 'Dockerfile'), buildArgs: {} as Record<string, string> };
    assert.equal(contextFiles(src.contextDir, compileDockerignore('tests\n')), ['main.py']);
    const t0 = contentTag(src);
    assert.match(t0, /^[0-9a-f]{12}$/);
    writeFileSync(join(dir, 'ctx', 'tests', 'test_x.py'), 'changed');
    assert.is(contentTag(src), t0, 'an ignored file changed the tag');
    assert.is(contentTag({ ...src, buildArgs: { PIP_INDEX_URL: 'http://mirror/simple' } }), t0, 'a mirror changed the tag');
    assert.is.not(contentTag({ ...src, buildArgs: { APP_VERSION: '2' } }), t0);
    writeFileSync(join(dir, 'Dockerfile'), 'FROM y\n');
    const t1 = contentTag(src);
    assert.is.not(t1, t0);
    writeFileSync(join(dir, 'ctx', 'main.py'), 'print(2)\n');
    assert.is.not(contentTag(src), t1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Ignore.run();

const EnvFile = suite('env file plan');

EnvFile('a missing file is created; present secrets are never replaced', () => {
  assert.equal(planEnvFile(false, {}), { create: true, fill: ['BETTER_AUTH_SECRET', 'POSTGRES_PASSWORD'] });
  assert.equal(planEnvFile(true, { BETTER_AUTH_SECRET: 'x'.repeat(40) }), { create: false, fill: ['POSTGRES_PASSWORD'] });
  assert.equal(planEnvFile(true, { BETTER_AUTH_SECRET: 'x'.repeat(40), POSTGRES_PASSWORD: 'y'.repeat(20) }), { create: false, fill: [] });
});

EnvFile('filling keys sets empty lines in place and appends missing ones, leaving the rest alone', () => {
  const text = '# keep me\nTASKFLOW_CPUS=4\nBETTER_AUTH_SECRET=\nexport POSTGRES_PASSWORD=""\n';
  assert.is(fillKeys(text, { BETTER_AUTH_SECRET: 'A1', POSTGRES_PASSWORD: 'B2', OTHER: 'C3' }), '# keep me\nTASKFLOW_CPUS=4\nBETTER_AUTH_SECRET=A1\nexport POSTGRES_PASSWORD=B2\nOTHER=C3\n');
});

EnvFile('generated secrets are long, alphanumeric and different each time', () => {
  const a = randomSecret(48);
  assert.match(a, /^[A-Za-z0-9]{48}$/);
  assert.is.not(randomSecret(48), a);
});

EnvFile.run();
