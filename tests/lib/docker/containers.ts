// Containers of the project's images as the tests and benchmark run them: hardened like the chart's
// pods, on the host network, labelled, secrets passed through env files, and waited for by healthcheck.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GiveUp, until } from '../wait.ts';
import { DOCKER, docker, run } from './run.ts';

export type Container = { id: string; name: string };

/** Options every project container runs with: the hardening the Helm chart applies too. */
export const HARDENED = ['--read-only', '--tmpfs', '/tmp', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges'];

/** Writes text to a private temp file and returns its path (for env files handed to docker and compose). */
export function tempFile(name: string, text: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'taskflow-'));
  const path = join(dir, name);
  writeFileSync(path, text, { mode: 0o600 });
  return { path, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Starts a detached container on the host network; env values go through an env file, not argv. */
export async function runContainer(o: { image: string; name?: string; env?: Record<string, string>; extraArgs?: string[]; cmd?: string[] }): Promise<Container> {
  const name = o.name ?? `taskflow-test-${randomBytes(4).toString('hex')}`;
  const args = ['run', '-d', '--name', name, '--network', 'host', '--label', 'taskflow.test=1', ...(o.extraArgs ?? [])];
  // An env file keeps secret values off the process list.
  const envFile = o.env && Object.keys(o.env).length ? tempFile('env', Object.entries(o.env).map(([k, v]) => `${k}=${v}\n`).join('')) : undefined;
  if (envFile) args.push('--env-file', envFile.path);
  args.push(o.image, ...(o.cmd ?? []));
  try {
    const id = await docker(args);
    return { id, name };
  } finally {
    envFile?.remove();
  }
}

/** Removes containers (running or not), ignoring ones already gone. */
export async function removeContainers(...containers: (Container | undefined)[]): Promise<void> {
  const names = containers.filter((c): c is Container => c !== undefined).map((c) => c.name);
  if (names.length) await run(DOCKER, ['rm', '-f', '-v', ...names]);
}

export async function containerLogs(c: Container): Promise<string> {
  const r = await run(DOCKER, ['logs', '--tail', '80', c.name]);
  return `${r.stdout}${r.stderr}`;
}

/** Waits until the image's HEALTHCHECK reports healthy; fails early when the container exits or has no healthcheck. */
export async function waitHealthy(c: Container, timeoutMs = 120_000): Promise<void> {
  const healthy = async (seen: (state: string) => void) => {
    const r = await run(DOCKER, ['inspect', '--format', '{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}', c.name]);
    const state = r.stdout.trim();
    seen(state);
    const [status, health] = state.split(' ');
    if (health === 'none') throw new GiveUp(`${c.name} has no HEALTHCHECK`);
    if (status === 'exited' || status === 'dead') throw new GiveUp(`${c.name} is ${status}`);
    return health === 'healthy';
  };
  try {
    await until(`${c.name} to turn healthy`, healthy, { timeoutMs, intervalMs: 1000 });
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}; logs:\n${await containerLogs(c)}`, { cause: err });
  }
}

/** Runs a command inside a running container and returns its stdout. */
export async function execIn(c: Container, cmd: string[]): Promise<string> {
  return docker(['exec', c.name, ...cmd]);
}
