// A Docker engine for the image tests and benchmark: the one running, or dockerd started as this sandbox allows.
import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GiveUp, until } from '../wait.ts';
import { DOCKER, run, which } from './run.ts';

async function engineAnswers(): Promise<boolean> {
  try {
    const r = await run(DOCKER, ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000 });
    return r.code === 0 && r.stdout.trim() !== '';
  } catch {
    return false;
  }
}

/**
 * Makes sure a Docker engine answers, starting dockerd (no bridge, no iptables: neither exists in
 * this sandbox) when none does. The engine is left running like a system service, so base images
 * and build caches stay warm for the next run. Throws "no Docker engine could be started: …".
 */
export async function ensureEngine(): Promise<void> {
  const fail = (why: string) => new Error(`no Docker engine could be started: ${why}`);
  if (!existsSync(DOCKER)) throw fail(`${DOCKER} is missing (apt-get install docker.io)`);
  if (await engineAnswers()) return;
  const dockerd = which('dockerd');
  if (!dockerd) throw fail('dockerd is not installed (apt-get install docker.io)');
  const logFile = join(tmpdir(), 'taskflow-dockerd.log');
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(dockerd, ['--bridge=none', '--iptables=false'], { detached: true, stdio: ['ignore', fd, fd] } satisfies SpawnOptions);
    child.unref();
    let exited: number | null | undefined;
    child.on('exit', (code) => (exited = code));
    await until(
      'dockerd to answer',
      async () => {
        if (exited !== undefined) throw new GiveUp(`dockerd exited (code ${exited})`);
        return engineAnswers();
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  } catch (err) {
    const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-15).join('\n') : '';
    throw fail(`${err instanceof Error ? err.message : String(err)}; last lines of ${logFile}:\n${log}`);
  } finally {
    closeSync(fd);
  }
}
