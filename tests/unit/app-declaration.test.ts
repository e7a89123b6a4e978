// The app declaration (env/app.yaml): the reference app's is valid, and each malformed one is
// refused with every problem named by its key and the fix (loadApp turns them into exit code 2).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApp, parseApp } from '../../scripts/lib/app/declaration.ts';
import { InputError } from '../../scripts/lib/core/errors.ts';
import { root } from '../lib/chart.ts';
import { bad, web } from '../fixtures/bad-declarations.ts';

const Declaration = suite('app declaration');

Declaration("the reference app's declaration is valid and declares its components", () => {
  const app = loadApp(root, {});
  assert.ok(Object.keys(app.components).includes('backend'));
  assert.ok(Object.keys(app.components).includes('frontend'));
  assert.is(app.components.backend?.probes?.liveness, '/health/live');
  assert.is(app.components.backend?.probes?.readiness, '/health');
});

Declaration('a small valid declaration needs only build and port', () => {
  const { app, problems } = parseApp(web(), root, 'app.yaml');
  assert.equal(problems, []);
  assert.is(app?.components.web?.port, 8000);
});

for (const [what, text, key, fix] of bad) {
  Declaration(`refused: ${what}`, () => {
    const { app, problems } = parseApp(text, root, 'app.yaml');
    assert.is(app, undefined, `accepted: ${text}`);
    const p = problems.find((x) => x.key === key);
    assert.ok(p, `no problem named ${key} among ${JSON.stringify(problems)}`);
    assert.match(p!.message, /Fix: /);
    assert.match(p!.message, fix);
  });
}

Declaration("a built-in secret needs no declaration: the chart Secret's keys and the model keys of env/.env", () => {
  const builtIn = ['DATABASE_URL', 'BETTER_AUTH_SECRET', 'POSTGRES_PASSWORD', 'MCP_SHARED_SECRET', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY'];
  assert.equal(parseApp(web(`    secrets: [${builtIn.join(', ')}]\n`), root, 'app.yaml').problems, []);
  const { problems } = parseApp(web('    secrets: [STRIPE_KEY]\n'), root, 'app.yaml');
  assert.match(problems[0]?.message ?? '', `use a built-in key (${builtIn.join(', ')})`);
});

Declaration('every problem is reported at once, not only the first', () => {
  const { problems } = parseApp(web('    runAsUser: 0\n    ingress: [api]\n').replace('port: 8000', 'port: 0'), root, 'app.yaml');
  assert.ok(problems.length >= 3, JSON.stringify(problems));
});

Declaration('loadApp turns the problems into one InputError (exit code 2) naming the file, each key and the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'app-'));
  try {
    writeFileSync(`${dir}/app.yaml`, web().replace('port: 8000', 'port: 0'));
    assert.throws(
      () => loadApp(root, { TASKFLOW_APP_FILE: `${dir}/app.yaml` }),
      (err: unknown) => err instanceof InputError && err.exitCode === 2 && /components\.web\.port: must be >= 1\. Fix: the port/.test(err.message),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Declaration("paths are relative to the declaration file, not to the project root, and absolute ones work too", () => {
  const dir = mkdtempSync(join(tmpdir(), 'app-'));
  try {
    mkdirSync(join(dir, 'api'));
    writeFileSync(join(dir, 'api', 'Dockerfile'), 'FROM scratch\n');
    const declare = (build: string) => writeFileSync(join(dir, 'app.yaml'), `components:\n  api:\n    build: ${build}\n    port: 8000\n`);
    declare('{ context: api, dockerfile: api/Dockerfile }');
    const app = loadApp(root, { TASKFLOW_APP_FILE: join(dir, 'app.yaml') });
    assert.is(app.components.api?.build.context, join(dir, 'api'));
    assert.is(app.components.api?.build.dockerfile, join(dir, 'api', 'Dockerfile'));
    // Relative to the project root, as before, these do not exist beside the declaration.
    declare('{ context: app/backend, dockerfile: docker/backend.Dockerfile }');
    assert.throws(
      () => loadApp(root, { TASKFLOW_APP_FILE: join(dir, 'app.yaml') }),
      (err: unknown) => err instanceof InputError && /build\.context: app\/backend is not a directory/.test(err.message) && /relative to the declaration file/.test(err.message),
    );
    declare(`{ context: ${JSON.stringify(join(root, 'app', 'backend'))}, dockerfile: ${JSON.stringify(join(root, 'docker', 'backend.Dockerfile'))} }`);
    assert.is(loadApp(root, { TASKFLOW_APP_FILE: join(dir, 'app.yaml') }).components.api?.build.context, join(root, 'app', 'backend'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Declaration('the reference declaration (env/app.yaml) names its folders relative to itself', () => {
  const app = loadApp(root, {});
  assert.is(app.components.backend?.build.context, join(root, 'app', 'backend'));
  assert.is(app.components.backend?.build.dockerfile, join(root, 'docker', 'backend.Dockerfile'));
});

Declaration.run();

const Readme = suite('README example');

Readme('the declaration in "Deploy your own app" is valid but for the folders it names, which are the reader\'s', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /## Deploy your own app[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'no yaml block in the section');
  const { problems } = parseApp(block as string, join(root, 'env'), 'app.yaml');
  assert.ok(problems.length > 0);
  for (const p of problems) assert.match(`${p.key}: ${p.message}`, /build\.(context|dockerfile): \.\.\/(backend|frontend|mcp)\b/, `${p.key}: ${p.message}`);
});

Readme.run();

const Names = suite('the scripts know no component by name');

Names('outside the declaration, nothing under scripts/ names the reference app\'s components', () => {
  const hits: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const abs = join(dir, name);
      if (statSync(abs).isDirectory()) walk(abs);
      else if (name.endsWith('.ts')) {
        readFileSync(abs, 'utf8').split('\n').forEach((line, i) => {
          // The Ingress API's own word (spec.rules[].http.paths[].backend) is not a component.
          const text = line.replace(/ingress backends?|path\.backend|type Backend|backend: Backend|Backend = /gi, '');
          // Settings the declaration replaced are named once, to say where their value goes now.
          if (/^\s*TASKFLOW_(BACKEND|FRONTEND)_[A-Z_]+: '/.test(line)) return;
          if (/\b(backend|frontend|mcp)\b/i.test(text)) hits.push(`${relative(root, abs)}:${i + 1}: ${line.trim()}`);
        });
      }
    }
  };
  walk(join(root, 'scripts'));
  assert.equal(hits, []);
});

Names.run();
