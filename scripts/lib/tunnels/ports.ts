// Local ports for the tunnels: whether one is free, who holds it when it is not, and the choice
// of ports (fail naming the holder, or with --auto-port take the next free one).
import { createServer } from 'node:net';
import { portSetting } from '../app/components.ts';
import { InputError } from '../core/errors.ts';
import type { Exec } from '../core/exec.ts';

const MAX_AUTO_PORT_TRIES = 100;

/** True when nothing listens on 127.0.0.1:port (kubectl binds there). */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Reads `lsof -nP -iTCP:PORT -sTCP:LISTEN` output: "node (pid 123)" for the first listener. */
export function parseLsof(stdout: string): string | undefined {
  const row = stdout.split('\n').slice(1).map((l) => l.trim().split(/\s+/)).find((cols) => cols.length > 1 && /^\d+$/.test(cols[1] ?? ''));
  return row ? `${row[0]} (pid ${row[1]})` : undefined;
}

/** Who listens on the port, when lsof can say so cheaply; undefined otherwise. */
export async function portHolder(exec: Exec, port: number): Promise<string | undefined> {
  try {
    const out = await exec.run('lsof', ['-nP', `-iTCP:${port}`, '-sTCP:LISTEN'], { nothrow: true, timeoutMs: 3000 });
    return out.exitCode === 0 ? parseLsof(out.stdout) : undefined;
  } catch {
    return undefined; // no lsof: the port number alone has to do
  }
}

export type PortChoice = { component: string; wanted: number; port: number; holder?: string };

/** Checks each wanted port; a busy one is an InputError naming it, or with autoPort the next free one. */
export async function choosePorts(exec: Exec, wanted: Record<string, number>, autoPort: boolean): Promise<PortChoice[]> {
  const choices: PortChoice[] = [];
  const taken = new Set<number>();
  const busy: PortChoice[] = [];
  for (const [component, port] of Object.entries(wanted)) {
    if (!taken.has(port) && (await portFree(port))) {
      choices.push({ component, wanted: port, port });
      taken.add(port);
      continue;
    }
    const holder = taken.has(port) ? `the ${choices.find((c) => c.port === port)?.component} tunnel` : await portHolder(exec, port);
    if (!autoPort) {
      busy.push({ component, wanted: port, port, ...(holder ? { holder } : {}) });
      continue;
    }
    let next = port;
    for (let i = 0; i < MAX_AUTO_PORT_TRIES; i++) {
      next = next >= 65535 ? 1024 : next + 1;
      if (!taken.has(next) && (await portFree(next))) break;
    }
    choices.push({ component, wanted: port, port: next, ...(holder ? { holder } : {}) });
    taken.add(next);
  }
  if (busy.length) {
    const what = busy.map((b) => `port ${b.port} (${b.component}) is in use${b.holder ? ` by ${b.holder}` : ''}`).join('; ');
    const flags = busy.map((b) => `--${b.component}-port (${portSetting(b.component)})`).join(' / ');
    throw new InputError(what, `Free it, pick another with ${flags}, or pass --auto-port to take the next free one.`);
  }
  return choices;
}
