// docker/compose.yaml through a real compose parser (Debian's docker-compose): valid, health-ordered, secrets only from the env file.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { repoRoot, tempFile } from '../lib/docker.ts';

const composeFile = join(repoRoot, 'docker', 'compose.yaml');
const SECRET = `auth-${'s'.repeat(8)}-${Date.now()}-compose-test-secret-value`;
const PASSWORD = `pw-${Date.now()}-compose-test`;

type Service = {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  read_only?: boolean;
  cap_drop?: string[];
  tmpfs?: string[];
};

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

test('compose.yaml holds no secret value, only references to env/.env', () => {
  const text = readFileSync(composeFile, 'utf8');
  const doc = parse(text) as { services: Record<string, Service> };
  for (const [name, svc] of Object.entries(doc.services)) {
    for (const [key, value] of Object.entries(svc.environment ?? {})) {
      if (/PASSWORD|SECRET|API_KEY/.test(key)) assert.match(String(value), /^\$\{[A-Z_]+:[?-]/, `${name}.${key} must be interpolated, not written`);
    }
  }
});

test('docker-compose config accepts compose.yaml with a complete env file', () => {
  const r = composeConfig(fullEnv);
  assert.is(r.code, 0, r.stderr);
  const cfg = parse(r.stdout) as { services: Record<string, Service> };
  const { postgres, backend, frontend } = cfg.services;
  assert.ok(postgres && backend && frontend, 'postgres, backend and frontend services');
  assert.is(postgres.image, 'postgres:16-alpine');
  assert.is(postgres.environment?.POSTGRES_PASSWORD, PASSWORD);
  assert.is(backend.environment?.BETTER_AUTH_SECRET, SECRET);
  assert.ok(backend.environment?.DATABASE_URL?.includes(`:${PASSWORD}@postgres:5432/`), 'backend DATABASE_URL points at the postgres service');
  assert.is(frontend.environment?.BACKEND_URL, 'http://backend:8000');
  // Health-gated start order: db → backend → frontend.
  assert.is(backend.depends_on?.postgres?.condition, 'service_healthy');
  assert.is(frontend.depends_on?.backend?.condition, 'service_healthy');
  // Built from the project's Dockerfiles with the app dirs as contexts.
  for (const [svc, app, file] of [[backend, 'app/backend', 'backend.Dockerfile'], [frontend, 'app/frontend', 'frontend.Dockerfile']] as const) {
    assert.is(svc.build?.context, resolve(repoRoot, app));
    const dockerfile = resolve(svc.build?.context ?? '', svc.build?.dockerfile ?? '');
    assert.is(dockerfile, join(repoRoot, 'docker', file));
    assert.ok(existsSync(dockerfile), `${dockerfile} exists`);
    assert.ok(svc.read_only, 'read-only root filesystem');
    assert.equal(svc.cap_drop, ['ALL']);
    assert.equal(svc.tmpfs, ['/tmp']);
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
