// docker/compose.yaml through a real compose parser (Debian's docker-compose): valid, health-ordered,
// secrets only from the env file, and the same images, database and container limits as the cluster.
// Expected values come from the other sources compose must agree with (the chart, setup's image
// sources, compose's own services), never from a copy of compose.yaml.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { loadConfig } from '../../scripts/lib/config.ts';
import { imageSources } from '../../scripts/lib/images.ts';
import { looksLikeSecret } from '../../scripts/lib/policy.ts';
import { readValuesFile } from '../../scripts/lib/release.ts';
import { chartDir } from '../lib/chart.ts';
import { repoRoot, tempFile } from '../lib/docker.ts';

const composeFile = join(repoRoot, 'docker', 'compose.yaml');
const SECRET = `auth-${'s'.repeat(8)}-${Date.now()}-compose-test-secret-value`;
const PASSWORD = `pw-${Date.now()}-compose-test`;
/** The official postgres image listens here unless PGPORT is set. */
const POSTGRES_DEFAULT_PORT = 5432;

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  ports?: (string | { target: number })[];
  read_only?: boolean;
  cap_drop?: string[];
  tmpfs?: string[];
};
type ChartComponent = { writablePaths: string[] };
type ChartValues = { postgresql: { image: { repository: string; tag: string } }; components: { backend: ChartComponent; frontend: ChartComponent } };

/** Runs `docker-compose config` with the given env file; the parser must exist (this test never skips). */
function composeConfig(envText: string): { code: number; stdout: string; stderr: string } {
  const env = tempFile('compose.env', envText);
  try {
    // Only the env file may supply these: the caller's shell must not leak its own values in.
    const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(POSTGRES_PASSWORD|BETTER_AUTH_SECRET|DATABASE_URL)$/.test(k)));
    const r = spawnSync('docker-compose', ['--env-file', env.path, '-f', composeFile, 'config'], { encoding: 'utf8', env: cleanEnv, cwd: repoRoot });
    if (r.error) throw new Error(`docker-compose could not run (apt-get install docker-compose): ${r.error.message}`);
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    env.remove();
  }
}

const fullEnv = `POSTGRES_PASSWORD=${PASSWORD}\nBETTER_AUTH_SECRET=${SECRET}\n`;

let parsed: Record<string, Service> | undefined;
/** The services as docker-compose resolves them with a complete env file (parsed once). */
function services(): Record<string, Service> {
  if (!parsed) {
    const r = composeConfig(fullEnv);
    assert.is(r.code, 0, r.stderr);
    parsed = (parse(r.stdout) as { services: Record<string, Service> }).services;
  }
  return parsed;
}

function service(name: string): Service {
  const svc = services()[name];
  if (!svc) throw new Error(`compose has no service ${name}; it has ${Object.keys(services()).join(', ')}`);
  return svc;
}

/** The container side of a published port, in v1's "host:container/proto" or v2's long form. */
function containerPort(p: string | { target: number }): number {
  if (typeof p !== 'string') return p.target;
  const m = /:?(\d+)(\/\w+)?$/.exec(p);
  if (!m) throw new Error(`unreadable port ${p}`);
  return Number(m[1]);
}

const chart = readValuesFile(join(chartDir, 'values.yaml')) as ChartValues;

test('docker-compose config accepts compose.yaml with a complete env file', () => {
  assert.ok(Object.keys(services()).length > 0);
});

test('every secret-looking setting is empty or comes from the env file', () => {
  const written: string[] = [];
  for (const [name, svc] of Object.entries(services())) {
    for (const [key, value] of Object.entries(svc.environment ?? {})) {
      if (!looksLikeSecret(key)) continue;
      const v = String(value ?? '');
      if (v !== '' && !v.includes(PASSWORD) && !v.includes(SECRET)) written.push(`${name}.${key}`);
    }
  }
  assert.equal(written, [], `written into compose.yaml instead of read from env/.env: ${written.join(', ')}`);
});

test('postgres runs the PostgreSQL image the chart runs', () => {
  assert.is(service('postgres').image, `${chart.postgresql.image.repository}:${chart.postgresql.image.tag}`);
});

test("the backend's DATABASE_URL reaches the postgres service as its user, with the env file's password, in its database", () => {
  const pg = service('postgres').environment ?? {};
  const url = new URL(service('backend').environment?.DATABASE_URL ?? '');
  // A compose service is reached by its name.
  assert.is(url.hostname, 'postgres');
  assert.is(Number(url.port || POSTGRES_DEFAULT_PORT), Number(pg.PGPORT ?? POSTGRES_DEFAULT_PORT));
  assert.is(url.username, pg.POSTGRES_USER);
  assert.is(decodeURIComponent(url.password), PASSWORD);
  assert.is(url.pathname, `/${pg.POSTGRES_DB}`);
});

test("the frontend's BACKEND_URL names the backend service at the port its container publishes", () => {
  const url = new URL(service('frontend').environment?.BACKEND_URL ?? '');
  assert.is(url.hostname, 'backend');
  const published = (service('backend').ports ?? []).map(containerPort);
  assert.ok(published.includes(Number(url.port)), `BACKEND_URL port ${url.port}; the backend publishes ${published.join(', ') || 'nothing'}`);
});

test('services start in health order: postgres (which has a health check), then backend, then frontend', () => {
  assert.ok(service('postgres').healthcheck?.test.length, 'postgres has no healthcheck, so service_healthy would never hold');
  assert.is(service('backend').depends_on?.postgres?.condition, 'service_healthy');
  assert.is(service('frontend').depends_on?.backend?.condition, 'service_healthy');
});

test('each app image is built from the context and Dockerfile setup builds it from', () => {
  const config = loadConfig({ root: repoRoot, envFile: join(repoRoot, 'env', 'no-such-file.env'), env: {} });
  // compose runs the web app and its API without the MCP server (the assistant stays offline there).
  const sources = imageSources(config).filter((src) => src.component !== 'mcp');
  assert.equal(sources.map((s) => s.component).sort(), ['backend', 'frontend']);
  for (const src of sources) {
    const build = service(src.component).build;
    assert.is(build?.context, src.contextDir, `${src.component} context`);
    assert.is(resolve(build?.context ?? '', build?.dockerfile ?? ''), src.dockerfile, `${src.component} Dockerfile`);
  }
});

test('app containers run as in the cluster: read-only root, no capabilities, writable only at the chart writablePaths', () => {
  for (const component of ['backend', 'frontend'] as const) {
    const svc = service(component);
    assert.ok(svc.read_only, `${component}: read-only root filesystem`);
    assert.equal(svc.cap_drop, ['ALL'], `${component}: capabilities`);
    assert.equal(svc.tmpfs, chart.components[component].writablePaths, `${component}: writable paths`);
  }
});

test('docker-compose config fails and names the variable when a secret is missing', () => {
  const noSecret = composeConfig(`POSTGRES_PASSWORD=${PASSWORD}\n`);
  assert.is.not(noSecret.code, 0);
  assert.match(noSecret.stderr, /BETTER_AUTH_SECRET is not set/);
  assert.not.ok(noSecret.stderr.includes(PASSWORD), 'the error does not echo other secrets');

  const noPassword = composeConfig(`BETTER_AUTH_SECRET=${SECRET}\n`);
  assert.is.not(noPassword.code, 0);
  assert.match(noPassword.stderr, /POSTGRES_PASSWORD is not set/);
  assert.not.ok(noPassword.stderr.includes(SECRET), 'the error does not echo other secrets');
});

test.run();
