// docker/compose.yaml through a real compose parser (Debian's docker-compose): valid, health-ordered,
// secrets only from the env file, and the same images, database and container limits as the cluster.
// Expected values come from the other sources compose must agree with (the chart, setup's image
// sources, compose's own services), never from a copy of compose.yaml.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { loadConfig } from '../../scripts/lib/app/config.ts';
import { imageSources } from '../../scripts/lib/images/tag.ts';
import { looksLikeSecret } from '../../scripts/lib/validate/policy.ts';
import { readValuesFile } from '../../scripts/lib/app/values.ts';
import { chartDir } from '../lib/chart.ts';
import { repoRoot, tempFile } from '../lib/docker.ts';

const composeFile = join(repoRoot, 'docker', 'compose.yaml');
const SECRET = `auth-${'s'.repeat(8)}-${Date.now()}-compose-test-secret-value`;
const PASSWORD = `pw-${Date.now()}-compose-test`;
const MCP_SECRET = `mcp-${'m'.repeat(8)}-${Date.now()}-compose-test-secret`;
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
  security_opt?: string[];
  networks?: string[] | Record<string, unknown>;
};
type ChartComponent = { writablePaths: string[]; containerPort: number | null };
type ChartValues = { postgresql: { image: { repository: string; tag: string } }; components: { backend: ChartComponent; frontend: ChartComponent; mcp: ChartComponent } };

/** Runs `docker-compose config` with the given env file; the parser must exist (this test never skips). */
function composeConfig(envText: string): { code: number; stdout: string; stderr: string } {
  const env = tempFile('compose.env', envText);
  try {
    // Only the env file may supply these: the caller's shell must not leak its own values in.
    const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(POSTGRES_PASSWORD|BETTER_AUTH_SECRET|MCP_SHARED_SECRET|DATABASE_URL|OPENAI_API_KEY|OPENAI_BASE_URL|MODEL_NAME)$/.test(k)));
    const r = spawnSync('docker-compose', ['--env-file', env.path, '-f', composeFile, 'config'], { encoding: 'utf8', env: cleanEnv, cwd: repoRoot });
    if (r.error) throw new Error(`docker-compose could not run (apt-get install docker-compose): ${r.error.message}`);
    return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    env.remove();
  }
}

const fullEnv = `POSTGRES_PASSWORD=${PASSWORD}\nBETTER_AUTH_SECRET=${SECRET}\nMCP_SHARED_SECRET=${MCP_SECRET}\n`;

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
const config = loadConfig({ root: repoRoot, envFile: join(repoRoot, 'env', 'no-such-file.env'), env: {} });
/** The app's components as env/app.yaml declares them: compose runs each of them. */
const declared = config.app.components;

/** The networks a service is on; compose puts one that names none on "default". */
function networks(svc: Service): string[] {
  const n = svc.networks ?? ['default'];
  return Array.isArray(n) ? n : Object.keys(n);
}

/** Whether a service's image has a HEALTHCHECK (compose then uses it) or compose gives it one. */
function hasHealthcheck(svc: Service): boolean {
  if (svc.healthcheck?.test.length) return true;
  if (!svc.build) return false;
  const dockerfile = readFileSync(resolve(svc.build.context, svc.build.dockerfile), 'utf8');
  return /^HEALTHCHECK\s+(?!NONE)/m.test(dockerfile);
}

test('docker-compose config accepts compose.yaml with a complete env file', () => {
  assert.ok(Object.keys(services()).length > 0);
});

test('every secret-looking setting is empty or comes from the env file', () => {
  const written: string[] = [];
  for (const [name, svc] of Object.entries(services())) {
    for (const [key, value] of Object.entries(svc.environment ?? {})) {
      if (!looksLikeSecret(key)) continue;
      const v = String(value ?? '');
      if (v !== '' && !v.includes(PASSWORD) && !v.includes(SECRET) && !v.includes(MCP_SECRET)) written.push(`${name}.${key}`);
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

test('services start in health order: postgres, then the MCP server, then backend, then frontend', () => {
  assert.is(service('mcp').depends_on?.postgres?.condition, 'service_healthy');
  assert.is(service('backend').depends_on?.postgres?.condition, 'service_healthy');
  assert.is(service('backend').depends_on?.mcp?.condition, 'service_healthy');
  assert.is(service('frontend').depends_on?.backend?.condition, 'service_healthy');
  // service_healthy never holds for a service without a health check, so every one waited on has one.
  for (const svc of Object.values(services())) {
    for (const [dep, { condition }] of Object.entries(svc.depends_on ?? {})) {
      if (condition === 'service_healthy') assert.ok(hasHealthcheck(service(dep)), `${dep} is waited on as healthy but has no health check`);
    }
  }
});

test("the backend's MCP_URL names the mcp service at the port the MCP server listens on, as the chart's service link does", () => {
  // env/app.yaml: the backend connectsTo MCP_URL: mcp, which the chart renders as a bare http://<name>:<port>.
  assert.is(declared.backend?.connectsTo?.MCP_URL, 'mcp');
  const url = new URL(service('backend').environment?.MCP_URL ?? '');
  assert.is(url.hostname, 'mcp');
  assert.is(Number(url.port), declared.mcp?.port);
  assert.is(Number(url.port), chart.components.mcp.containerPort);
  // The backend adds /mcp to a bare address; anything else would miss the MCP endpoint.
  assert.ok(['/', '/mcp'].includes(url.pathname), `MCP_URL path ${url.pathname}`);
});

test("the MCP server's DATABASE_URL is the backend's, and both hold the env file's MCP_SHARED_SECRET", () => {
  assert.is(service('mcp').environment?.DATABASE_URL, service('backend').environment?.DATABASE_URL);
  assert.is(service('mcp').environment?.MCP_SHARED_SECRET, MCP_SECRET);
  assert.is(service('backend').environment?.MCP_SHARED_SECRET, MCP_SECRET);
});

test('each component gets every secret and setting env/app.yaml gives it; unset settings stay empty (the app default)', () => {
  for (const [name, c] of Object.entries(declared)) {
    const env = service(name).environment ?? {};
    for (const key of [...(c.secrets ?? []), ...(c.settings ?? [])]) assert.ok(key in env, `${name} lacks ${key}`);
    for (const key of c.settings ?? []) assert.is(env[key], '', `${name}.${key} without a value in env/.env`);
  }
  assert.ok((declared.backend?.settings ?? []).includes('OPENAI_BASE_URL'), 'the backend reads OPENAI_BASE_URL');
});

test('only components with a local port publish one: the MCP server publishes none, and the frontend shares no network with it', () => {
  for (const [name, c] of Object.entries(declared)) {
    const published = service(name).ports ?? [];
    if (c.localPort === undefined) assert.equal(published, [], `${name} publishes ${published.join(', ')}`);
    else assert.ok(published.map(containerPort).includes(c.port as number), `${name} publishes its port ${c.port}`);
  }
  assert.equal(declared.mcp?.reachableFrom, ['backend']);
  const mcpNets = networks(service('mcp'));
  assert.ok(networks(service('backend')).some((n) => mcpNets.includes(n)), 'the backend reaches the MCP server');
  assert.ok(networks(service('postgres')).some((n) => mcpNets.includes(n)), 'the MCP server reaches the database');
  assert.not.ok(networks(service('frontend')).some((n) => mcpNets.includes(n)), 'the frontend must not reach the MCP server');
});

test('each app image is built from the context and Dockerfile setup builds it from', () => {
  const sources = imageSources(config);
  assert.equal(sources.map((s) => s.component).sort(), ['backend', 'frontend', 'mcp']);
  for (const src of sources) {
    const build = service(src.component).build;
    assert.is(build?.context, src.contextDir, `${src.component} context`);
    assert.is(resolve(build?.context ?? '', build?.dockerfile ?? ''), src.dockerfile, `${src.component} Dockerfile`);
  }
});

test('app containers run as in the cluster: read-only root, no capabilities, writable only at the chart writablePaths', () => {
  for (const component of ['backend', 'frontend', 'mcp'] as const) {
    const svc = service(component);
    assert.ok(svc.read_only, `${component}: read-only root filesystem`);
    assert.equal(svc.cap_drop, ['ALL'], `${component}: capabilities`);
    assert.ok(svc.security_opt?.includes('no-new-privileges:true'), `${component}: no-new-privileges`);
    assert.equal(svc.tmpfs, chart.components[component].writablePaths, `${component}: writable paths`);
  }
});

test('docker-compose config fails and names the variable when a secret is missing', () => {
  const noSecret = composeConfig(`POSTGRES_PASSWORD=${PASSWORD}\nMCP_SHARED_SECRET=${MCP_SECRET}\n`);
  assert.is.not(noSecret.code, 0);
  assert.match(noSecret.stderr, /BETTER_AUTH_SECRET is not set/);
  assert.not.ok(noSecret.stderr.includes(PASSWORD), 'the error does not echo other secrets');

  const noPassword = composeConfig(`BETTER_AUTH_SECRET=${SECRET}\nMCP_SHARED_SECRET=${MCP_SECRET}\n`);
  assert.is.not(noPassword.code, 0);
  assert.match(noPassword.stderr, /POSTGRES_PASSWORD is not set/);
  assert.not.ok(noPassword.stderr.includes(SECRET), 'the error does not echo other secrets');

  // The MCP server refuses to start without it, and the backend waits for the MCP server to be healthy.
  const noMcpSecret = composeConfig(`POSTGRES_PASSWORD=${PASSWORD}\nBETTER_AUTH_SECRET=${SECRET}\n`);
  assert.is.not(noMcpSecret.code, 0);
  assert.match(noMcpSecret.stderr, /MCP_SHARED_SECRET is not set/);
  assert.not.ok(noMcpSecret.stderr.includes(SECRET) || noMcpSecret.stderr.includes(PASSWORD), 'the error does not echo other secrets');
});

test.run();
