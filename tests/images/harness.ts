// What the image suites share: one suite's builder, containers and build contexts, removed however
// the file ends; build contexts with secrets planted where .dockerignore must keep them out; and the
// checks every project image passes: a Dockerfile that pulls nothing, a runtime-only filesystem, a
// hardened run, nothing secret recorded, and a prompt stop on SIGTERM.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { type Container, copyContext, DOCKER, docker, execIn, HARDENED, type ImageBuilder, prepareImageBuilds, pruneSupersededBuilds, recordedIn, removeContainers, run, runContainer, containerLogs } from '../lib/docker.ts';
import type { Postgres } from '../lib/postgres.ts';

// The healthcheck's command is the image's; only how often it runs is shortened, to save time.
const FAST_HEALTH = ['--health-interval', '2s', '--health-start-period', '60s'];

/** The parts of `docker image inspect` the metadata tests read. */
export type ImageConfig = {
  Config: {
    User: string;
    Env: string[] | null;
    Cmd: string[] | null;
    Entrypoint: string[] | null;
    ExposedPorts: Record<string, unknown> | null;
    Healthcheck?: { Test: string[] };
  };
};

/** A step started in `before` and awaited by each test that needs it; it never rejects, so no test's failure leaves it unhandled. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Error };

export const settle = <T>(p: Promise<T>): Promise<Outcome<T>> =>
  p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error: error instanceof Error ? error : new Error(String(error)) }),
  );

export function need<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`${what} is not available: an earlier step failed`);
  return value;
}

/** The value of a step started in `before`, or its error. */
export async function ready<T>(outcome: Promise<Outcome<T>> | undefined, what: string): Promise<T> {
  const r = await need(outcome, what);
  if (!r.ok) throw r.error;
  return r.value;
}

export const log = (line: string) => process.stdout.write(`\n  ${line}`);

export type ImageSuite = {
  /** Planted in every build context this suite makes: it must never reach an image. */
  marker: string;
  builder?: ImageBuilder;
  pg?: Postgres;
  containers: Container[];
  contexts: string[];
  /** Engine, stand-in bases and package mirrors, for `before`; a failure is printed, since uvu drops a hook's error. */
  prepare(): Promise<ImageBuilder>;
  /** A temp copy of an app dir with `variable=<marker>` in .env files, and the marker in tests/ and .git/. */
  plantedContext(dir: string, variable: string): string;
  /** Starts a hardened container of an image on the host network and removes it with the suite. */
  start(image: string, role: string, env: Record<string, string>, cmd?: string[]): Promise<Container>;
  /** For `after`: the containers, the database, the pip index, the contexts, and untagged leftovers of older builds. */
  cleanup(): Promise<void>;
};

/** One image suite's state. The runner ends a file that overruns with SIGTERM, which skips uvu's after hook, so containers and contexts go on a signal too. */
export function imageSuite(name: string): ImageSuite {
  const s: ImageSuite = {
    marker: `dockerignore-marker-${randomBytes(6).toString('hex')}`,
    containers: [],
    contexts: [],
    async prepare() {
      try {
        const started = Date.now();
        const b = await prepareImageBuilds(log);
        s.builder = b;
        log(`bases and mirrors ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
        if (!b.pipArgs.PIP_INDEX_URL?.startsWith('http')) throw new Error(`no pip index URL for the build: ${JSON.stringify(b.pipArgs)}`);
        return b;
      } catch (err) {
        process.stderr.write(`\n  ${name} setup failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
        throw err;
      }
    },
    plantedContext(dir, variable) {
      const ctx = copyContext(dir);
      s.contexts.push(ctx);
      for (const file of ['.env', '.env.local', '.env.production']) writeFileSync(join(ctx, file), `${variable}=${s.marker}\n`);
      mkdirSync(join(ctx, 'tests'), { recursive: true });
      writeFileSync(join(ctx, 'tests', 'marker.txt'), s.marker);
      mkdirSync(join(ctx, '.git'), { recursive: true });
      writeFileSync(join(ctx, '.git', 'marker'), s.marker);
      return ctx;
    },
    async start(image, role, env, cmd = []) {
      const c = await runContainer({
        image,
        name: `taskflow-test-${role}-${randomBytes(3).toString('hex')}`,
        env,
        cmd,
        // A one-off command (a migration) is not a server: it has no health to check.
        extraArgs: [...HARDENED, ...(cmd.length ? [] : FAST_HEALTH)],
      });
      s.containers.push(c);
      return c;
    },
    async cleanup() {
      await removeContainers(...s.containers);
      await s.pg?.stop().catch(() => undefined);
      await s.builder?.close().catch(() => undefined);
      for (const c of s.contexts) rmSync(c, { recursive: true, force: true });
      // Tagged images and the bases stay for the next run; untagged leftovers of older builds go.
      await pruneSupersededBuilds().catch(() => undefined);
    },
  };
  // The database and the pip index stop in their own exit hooks.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      if (s.containers.length) spawnSync(DOCKER, ['rm', '-f', ...s.containers.map((c) => c.name)], { stdio: 'ignore' });
      for (const c of s.contexts) rmSync(c, { recursive: true, force: true });
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
  return s;
}

/** A Dockerfile pulls nothing (no syntax directive), names no secret, uses no tool a slim base lacks, and keeps mirror ARGs out of the final stage. */
export function assertDockerfileRules(file: string): void {
  const text = readFileSync(file, 'utf8');
  assert.not.match(text, /^#\s*syntax\s*=/im, `${file}: a syntax directive would pull an image`);
  const code = text.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n');
  assert.not.match(code, /^\s*(ENV|ARG)\s+\S*(SECRET|PASSWORD|TOKEN|API_KEY|DATABASE_URL)/im, `${file}: no secret as ENV/ARG`);
  // No tools a slim base lacks, no user database edits, no npx (it may fetch packages).
  assert.not.match(code, /\bcurl\b|\bwget\b|\buseradd\b|\badduser\b|\bnpx\b/, `${file}: uses a forbidden tool`);
  // The final stage is the last FROM; mirror ARGs must be declared before it only.
  const finalStage = code.slice(code.lastIndexOf('\nFROM '));
  assert.not.match(finalStage, /^\s*ARG\s+(PIP_|NPM_CONFIG_)/m, `${file}: mirror ARG in the final stage`);
}

/**
 * Runs shell probes in a throwaway hardened container of the image and checks its files hold only
 * the runtime: each of `present` is a line of the output, none of `absent` is in any line, and
 * neither is the context's tests/, .git, an .env file or the marker (searched for under `searched`).
 * The last probe prints the user id, which must be `uid`.
 */
export async function assertRuntimeOnly(image: string, o: { marker: string; searched: string[]; probes: string[]; present: string[]; absent: string[]; uid: string }): Promise<void> {
  const script = [
    ...o.probes,
    'test -e /app/tests && echo tests',
    'test -e /app/.git && echo git',
    'ls -a /app | grep -E "^\\.env" || true',
    `grep -rl ${o.marker} ${o.searched.join(' ')} 2>/dev/null || true`,
    'id -u',
  ].join('; ');
  const out = await docker(['run', '--rm', '--network', 'host', ...HARDENED, '--entrypoint', 'sh', image, '-c', script]);
  const lines = out.split('\n');
  for (const good of o.present) assert.ok(lines.includes(good), `${image} lacks ${good}:\n${out}`);
  for (const bad of [...o.absent, 'tests', 'git', '.env', o.marker]) assert.not.ok(lines.some((l) => l.includes(bad)), `${image} has ${bad}:\n${out}`);
  assert.is(lines.at(-1), o.uid, `${image} runs as uid ${o.uid}:\n${out}`);
}

/** A running container's user is uid:gid `id`, and its root filesystem is read-only but for /tmp. */
export async function assertRunsHardened(c: Container, id: string): Promise<void> {
  assert.is(await execIn(c, ['id', '-u']), id);
  assert.is(await execIn(c, ['id', '-g']), id);
  const write = await run(DOCKER, ['exec', c.name, 'sh', '-c', 'touch /app/x 2>&1 || echo refused; touch /tmp/x && echo tmp-ok']);
  assert.match(write.stdout, /refused/);
  assert.match(write.stdout, /tmp-ok/);
}

/**
 * What must never be recorded in an image: the secrets given, the context marker, the database
 * password (when long enough to mean something), and the mirror build args' names and values.
 */
export function forbiddenInImages(o: { secrets: string[]; marker: string; databaseUrl?: string; buildArgs: Record<string, string> }): string[] {
  const dbPassword = o.databaseUrl ? decodeURIComponent(new URL(o.databaseUrl).password) : '';
  return [
    ...o.secrets,
    o.marker,
    ...(dbPassword.length >= 6 ? [dbPassword] : []),
    'PIP_INDEX_URL',
    'NPM_CONFIG_REGISTRY',
    ...Object.keys(o.buildArgs),
    ...Object.values(o.buildArgs).flatMap((v) => v.split(' ')),
  ];
}

/** None of `forbidden` is in the image's history or config. */
export async function assertNothingRecorded(image: string, forbidden: string[]): Promise<void> {
  const recorded = await recordedIn(image);
  for (const value of forbidden) assert.not.ok(recorded.includes(value), `${image} records ${value.length > 12 ? `${value.slice(0, 4)}…` : value}`);
}

/** `docker stop` ends the container within 15 s with 0 or 143: PID 1 is the server, which handles SIGTERM. */
export async function assertStopsPromptly(c: Container): Promise<void> {
  const started = Date.now();
  await docker(['stop', '-t', '20', c.name], { timeoutMs: 60_000 });
  const seconds = (Date.now() - started) / 1000;
  const code = await docker(['inspect', '--format', '{{.State.ExitCode}}', c.name]);
  assert.ok(seconds < 15, `${c.name} took ${seconds.toFixed(1)} s to stop (signal not handled?)`);
  assert.ok(code === '0' || code === '143', `${c.name} exited ${code} on SIGTERM:\n${await containerLogs(c)}`);
}
