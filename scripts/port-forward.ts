#!/usr/bin/env -S npx tsx
// Entry point of `port-forward`: flags → runPortForward → exit code.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { portSetting } from './lib/app/components.ts';
import { ExitCode } from './lib/core/errors.ts';
import { appForFlags, componentFlags, componentOverrides, componentPortHelp, flagsHelp, pickFlags, settingOverrides } from './lib/core/flags.ts';
import { runPortForward } from './lib/port-forward/forward.ts';

// No --profile: port-forward reads nothing a profile sets; it reaches the release that runs.
export const portForwardFlags = {
  ...pickFlags('driver', 'context', 'namespace', 'auto-port', 'verbose', 'help'),
  detach: { type: 'boolean' },
  stop: { type: 'boolean' },
} as const;

export const portForwardHelp = `Usage: port-forward [options]

Forwards each component that declares a localPort in env/app.yaml (the reference app: its
web app to localhost:3000 and its API to localhost:8000) with kubectl port-forward, checks
each through the local port (GET on its readiness path) before saying ready, and restarts a tunnel whenever its kubectl exits (a rollout, scale or crash replaced the
pod), waiting 0.5s, 1s, 2s … up to 8s between tries. Ctrl+C stops everything it started.

Options:
${flagsHelp(['driver', 'context', 'namespace'])}
${componentPortHelp}
${flagsHelp(['auto-port'])}
  --detach           keep running in the background (log: .cache/logs/port-forward.log)
  --stop             stop the one running in the background
${flagsHelp(['verbose', 'help'], { verbose: "print every command run and kubectl's own output" })}

Running it while one already runs says so and exits 0.

Exit codes: 0 stopped cleanly (or already running), 1 a tunnel could not be brought up,
2 bad flags or a port in use, 3 kubectl or the cluster missing, 130 interrupted.`;

/** The flags a detached copy of this command needs again (ports are added once chosen). */
export function passThroughFlags(values: { driver?: string; context?: string; namespace?: string; verbose?: boolean }): string[] {
  const out: string[] = [];
  for (const name of ['driver', 'context', 'namespace'] as const) {
    const v = values[name];
    if (v !== undefined) out.push(`--${name}`, v);
  }
  if (values.verbose) out.push('--verbose');
  return out;
}

/** Flags → runPortForward. The project root here; the tests' entry passes a scratch one. */
export async function portForwardMain(argv: string[], root: string): Promise<number> {
  const app = appForFlags(root);
  const ports = componentFlags(app, '-port', portForwardFlags, (c) => c.localPort !== undefined);
  const { values: f } = parseFlags(argv, { ...portForwardFlags, ...ports }, 'port-forward');
  if (f.help) {
    const declared = Object.entries(ports).map(([flag, { component }]) => `  --${flag} N`.padEnd(21) + `${component}'s local port [${portSetting(component)}]`);
    console.log(declared.length ? portForwardHelp.replace('\nOptions:\n', `\nOptions:\n${declared.join('\n')}\n`) : portForwardHelp);
    return ExitCode.ok;
  }
  const flags = { ...settingOverrides(f), ...componentOverrides(f, ports, portSetting) };
  return runPortForward({ root, autoPort: f['auto-port'], detach: f.detach, stop: f.stop, verbose: f.verbose, flags, passThrough: passThroughFlags(f) });
}

// Only when run, not when a test imports the above; Ctrl+C is how a foreground run is meant to end.
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runMain(() => portForwardMain(process.argv.slice(2), projectRoot), { interruptMessage: '■ port-forward stopped', signals: ['SIGINT'] });
}
