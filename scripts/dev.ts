#!/usr/bin/env -S npx tsx
// Entry point of `dev`: flags → session → runDev, until Ctrl+C → exit code.
import { interruptSignal, parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { runDev } from './lib/dev/loop.ts';
import { ExitCode, InputError } from './lib/core/errors.ts';
import { portSetting } from './lib/app/components.ts';
import { appForFlags, componentFlags, componentOverrides, componentPortHelp, flagsHelp, pickFlags, settingFlagNames, settingOverrides, timeoutFlag } from './lib/core/flags.ts';
import { openSession } from './lib/core/session.ts';
import { Ui } from './lib/core/ui.ts';

const HELP = `Usage: dev [options]

The inner loop. Runs setup once, then watches each component's build context (its Dockerfile
and .dockerignore too; a file the .dockerignore excludes changes nothing). Once the edits pause,
it rebuilds only the components whose content tag changed, delivers them as setup does (load
into the cluster, push to the registry, nothing on Docker Desktop) and rolls them with one helm
upgrade carrying exactly the values setup would pass: the next setup has nothing to do. One
line per cycle with its timings. A broken build or a failed rollout (rolled back) is printed and
the previous version keeps serving; the next good edit recovers. A port-forward (as make
port-forward) stays up throughout. Edits to env/.env, env/app.yaml or the chart need a restart.

Options:
  --debounce MS      quiet time after the last edit before a cycle starts (default 300)
  --poll MS          recompute the content tags every MS instead of watching for edits (file
                     systems without change events, such as /mnt/c under WSL)
  --no-port-forward  do not forward the components' local ports
${componentPortHelp}
${flagsHelp(['auto-port'])}
  --cleanup-on-exit  on Ctrl+C, remove the release (as cleanup --keep-data) instead of leaving it running
${flagsHelp([...settingFlagNames, 'timeout', 'json', 'verbose', 'help'], {
  timeout: 'how long helm waits for the pods, in setup and each rollout (default 5m)',
  json: 'one JSON object per cycle on stdout (progress goes to stderr)',
  verbose: 'print every command run, and the edits that changed nothing',
})}

Exit codes: 1 setup failed, 2 bad flags or configuration (or a local port in use), 3 missing
prerequisite, 130 stopped with Ctrl+C (how dev ends; the app keeps running).`;

/** A whole number of milliseconds in [min, 600000]. */
function msFlag(name: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > 600_000) throw new InputError(`--${name} ${value} is not a number of milliseconds`, `Use a whole number from ${min} to 600000, e.g. --${name} ${fallback}.`);
  return Number(value);
}

async function main(argv: string[], signal: AbortSignal): Promise<number> {
  const own = {
    ...pickFlags(...settingFlagNames, 'auto-port', 'timeout', 'json', 'verbose', 'help'),
    debounce: { type: 'string' },
    poll: { type: 'string' },
    'no-port-forward': { type: 'boolean' },
    'cleanup-on-exit': { type: 'boolean' },
  } as const;
  const ports = componentFlags(appForFlags(projectRoot), '-port', own, (c) => c.localPort !== undefined);
  const { values: f } = parseFlags(argv, { ...own, ...ports }, 'dev');
  if (f.help) {
    const names = Object.keys(ports).map((flag) => `--${flag}`);
    console.log(names.length ? HELP.replace('\nOptions:\n', `\nThe local ports of this app: ${names.join(', ')}.\n\nOptions:\n`) : HELP);
    return ExitCode.ok;
  }
  const debounceMs = msFlag('debounce', f.debounce, 300, 0);
  const pollMs = f.poll === undefined ? undefined : msFlag('poll', f.poll, 1000, 100);
  const timeout = timeoutFlag(f.timeout, '5m');
  // With --json, stdout holds only the cycles' objects: every other line goes to stderr.
  const ui = new Ui({ json: false, ...(f.json ? { out: (line: string) => process.stderr.write(`${line}\n`) } : {}) });
  const sn = await openSession({ root: projectRoot, flags: { ...settingOverrides(f), ...componentOverrides(f, ports, portSetting) }, verbose: f.verbose, ui });
  const portForward = f['no-port-forward'] === true ? false : { autoPort: f['auto-port'] === true };
  return runDev(sn, { debounceMs, pollMs, timeout, portForward, cleanupOnExit: f['cleanup-on-exit'] === true, json: f.json === true, signal });
}

const signal = interruptSignal('■ stopping dev…');
runMain(() => main(process.argv.slice(2), signal), { signals: [] });
