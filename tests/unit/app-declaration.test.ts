// The app declaration (env/app.yaml): the reference app's is valid, and each malformed one is
// refused with every problem named by its key and the fix (loadApp turns them into exit code 2).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadApp, parseApp } from '../../scripts/lib/app.ts';
import { InputError } from '../../scripts/lib/errors.ts';
import { root } from '../lib/chart.ts';

const Declaration = suite('app declaration');

const web = (extra = '', build = '') => `components:\n  web:\n    build: { context: app/backend, dockerfile: docker/backend.Dockerfile${build} }\n    port: 8000\n${extra}`;
const two = (a: string, b: string) =>
  `components:\n  api:\n    build: { context: app/backend, dockerfile: docker/backend.Dockerfile }\n    port: 8000\n${a}  ui:\n    build: { context: app/frontend, dockerfile: docker/frontend.Dockerfile }\n    port: 3000\n${b}`;

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

// [what is wrong, the declaration, the key named, words of the fix]
const bad: [string, string, string, RegExp][] = [
  ['an unknown key', web('    prot: 1\n'), 'components.web.prot', /did you mean port/],
  ['an unknown top-level key', `${web()}extra: 1\n`, 'extra', /use one of name, components, settings/],
  ['a duplicate component name', `${web()}  web:\n    build: { context: app/backend, dockerfile: docker/backend.Dockerfile }\n    port: 9000\n`, 'app.yaml:5', /repeats web/],
  ['a name that is not a DNS label', web().replace('  web:', '  Web_1:'), 'components.Web_1', /lowercase DNS label/],
  ['no components at all', 'components: {}\n', 'components', /at least one component/],
  ['a worker (no port) with an ingress path', 'components:\n  web:\n    build: { context: app/backend, dockerfile: docker/backend.Dockerfile }\n    ingress: [/jobs]\n', 'components.web.ingress', /needs a port/],
  ['connectsTo a worker, which has no port', two('    connectsTo: { UI_URL: ui }\n', '').replace('    port: 3000\n', ''), 'components.api.connectsTo.UI_URL', /has no port to connect to/],
  ['port 0', web().replace('port: 8000', 'port: 0'), 'components.web.port', /from 1 to 65535/],
  ['port 70000', web().replace('port: 8000', 'port: 70000'), 'components.web.port', /from 1 to 65535/],
  ['a port that is not a number', web().replace('port: 8000', 'port: abc'), 'components.web.port', /from 1 to 65535/],
  ['a build context that does not exist', web().replace('app/backend', 'app/nowhere'), 'components.web.build.context', /is not a directory/],
  ['a Dockerfile that does not exist', web().replace('docker/backend.Dockerfile', 'docker/nowhere.Dockerfile'), 'components.web.build.dockerfile', /does not exist/],
  ['a target stage the Dockerfile lacks', web('', ', target: nosuchstage'), 'components.web.build.target', /has no stage named nosuchstage/],
  ['two components claiming the same ingress path', two('    ingress: [/api]\n', '    ingress: [/api/]\n'), 'components.ui.ingress', /api claims too/],
  ['a key listed both as plain env and as secret', `${web('    env: { OPENAI_API_KEY: x }\n    secrets: [OPENAI_API_KEY]\n')}settings:\n  OPENAI_API_KEY: { secret: true }\n`, 'components.web.env.OPENAI_API_KEY', /both as a plain variable and as a secret/],
  ['a build arg whose name looks like a secret', web('', ', args: { NPM_TOKEN: abc }'), 'components.web.build.args.NPM_TOKEN', /looks like a secret/],
  ['a public build variable whose name looks like a secret', web('', ', public: { NEXT_PUBLIC_API_KEY: abc }'), 'components.web.build.public.NEXT_PUBLIC_API_KEY', /looks like a secret/],
  ['LoadBalancer together with a nodePort', web('    service: { type: LoadBalancer, nodePort: 30080 }\n'), 'components.web.service.nodePort', /a LoadBalancer picks its own/],
  ['a service type that does not exist', web('    service: { type: Public }\n'), 'components.web.service.type', /ClusterIP, NodePort or LoadBalancer/],
  ['a liveness path that is not a path', web('    probes: { liveness: health }\n'), 'components.web.probes.liveness', /an absolute URL path/],
  ['an ingress path that is not a path', web('    ingress: [api]\n'), 'components.web.ingress.0', /an absolute URL path/],
  ['connectsTo a component that does not exist', web('    connectsTo: { API_URL: api }\n'), 'components.web.connectsTo.API_URL', /not a component/],
  ['reachableFrom a component that does not exist', web('    reachableFrom: [gateway]\n'), 'components.web.reachableFrom', /not a component/],
  ['a secret that is not declared', web('    secrets: [STRIPE_KEY]\n'), 'components.web.secrets', /not declared under settings/],
  ['a plain variable whose name looks like a secret', web('    env: { SESSION_SECRET: x }\n'), 'components.web.env.SESSION_SECRET', /looks like a secret/],
  ['a secret setting with a default value', `${web('    secrets: [JWT_SECRET_KEY]\n')}settings:\n  JWT_SECRET_KEY: { secret: true, default: changeme }\n`, 'settings.JWT_SECRET_KEY.default', /would be committed/],
  ['generate on a setting that is not secret', `${web()}settings:\n  MODEL_NAME: { generate: 32 }\n`, 'settings.MODEL_NAME.generate', /add secret: true/],
  ['a setting name in lower case', `${web()}settings:\n  model_name: { default: x }\n`, 'settings.model_name', /in capitals/],
  ['autoscaling min above max', web('    autoscaling: { min: 5, max: 2 }\n'), 'components.web.autoscaling', /min at most max/],
  ['two components on one local port', two('    localPort: 8000\n', '    localPort: 8000\n'), 'components.ui.localPort', /give each component its own/],
  ['runAsUser 0 (root)', web('    runAsUser: 0\n'), 'components.web.runAsUser', /never 0/],
  ['a resource quantity that is not one', web('    resources: { limits: { memory: lots } }\n'), 'components.web.resources.limits.memory', /a Kubernetes quantity/],
  ['YAML that does not parse', 'components:\n  web: [unclosed\n', 'app.yaml:3', /not valid YAML/],
];

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

Declaration.run();

const Readme = suite('README example');

Readme('the declaration in "Deploy your own app" is valid but for the folders it names, which are the reader\'s', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const block = /## Deploy your own app[\s\S]*?```yaml\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(block, 'no yaml block in the section');
  const { problems } = parseApp(block as string, root, 'env/app.yaml');
  assert.ok(problems.length > 0);
  for (const p of problems) assert.match(`${p.key}: ${p.message}`, /build\.(context|dockerfile): \.\.\/todo\//, `${p.key}: ${p.message}`);
});

Readme.run();
