// The flags the entry scripts share, each defined once with its --help line, and the helpers that
// turn flags into the settings they override (--driver, --profile, --context, --namespace, ports).
import { loadApp, type App, type Component } from '../app/declaration.ts';
import type { SettingKey } from '../app/config.ts';
import { InputError } from './errors.ts';

/** A flag as parseArgs reads it, with what --help shows: `arg` names its value, `help` says what it does. */
type SharedFlag = { type: 'string' | 'boolean'; short?: string; arg?: string; help: string };

/**
 * Every flag more than one entry point takes. An entry point picks the ones it takes (pickFlags)
 * and prints their lines (flagsHelp); where a flag does something particular in that command
 * (what --yes answers, how long --timeout waits by default), the command says so in its own words.
 */
export const sharedFlags = {
  driver: { type: 'string', arg: 'D', help: 'minikube (default), docker-desktop or kind   [TASKFLOW_DRIVER]' },
  profile: { type: 'string', arg: 'P', help: 'dev (default) or prod                          [TASKFLOW_PROFILE]' },
  context: { type: 'string', arg: 'C', help: "deploy into this kube context instead of the cluster's own [TASKFLOW_KUBE_CONTEXT]" },
  namespace: { type: 'string', arg: 'N', help: 'Kubernetes namespace (default taskflow)        [TASKFLOW_NAMESPACE]' },
  'auto-port': { type: 'boolean', help: 'when a local port is in use, take the next free one instead of failing' },
  'dry-run': { type: 'boolean', help: 'print what would change and the exact command' },
  timeout: { type: 'string', arg: 'T', help: 'how long helm waits (default 5m)' },
  yes: { type: 'boolean', short: 'y', help: 'go ahead without asking' },
  json: { type: 'boolean', help: 'print a JSON summary on stdout' },
  verbose: { type: 'boolean', short: 'v', help: 'print every command run' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
} as const satisfies Record<string, SharedFlag>;

export type SharedFlagName = keyof typeof sharedFlags;

/** The flags that override a setting (settingOverrides reads them). */
export const settingFlagNames = ['driver', 'profile', 'context', 'namespace'] as const;

/** The flags every command that changes the cluster takes (setup, scale, rollback, cleanup). */
export const lifecycleFlagNames = ['dry-run', 'timeout', 'yes', 'json', 'verbose', 'help'] as const;

/** The parseArgs definitions of the shared flags a command takes. */
export function pickFlags<K extends SharedFlagName>(...names: K[]): Pick<typeof sharedFlags, K> {
  return Object.fromEntries(names.map((name) => [name, sharedFlags[name]])) as Pick<typeof sharedFlags, K>;
}

/** One --help line: the flag in the first 21 columns (a longer one gets a line of its own), then what it does. */
export function helpLine(name: string, flag: { short?: string; arg?: string }, text: string): string {
  const left = `  ${flag.short ? `-${flag.short}, ` : ''}--${name}${flag.arg ? ` ${flag.arg}` : ''}`;
  return left.length < 21 ? `${left.padEnd(21)}${text}` : `${left}\n${' '.repeat(21)}${text}`;
}

/** The --help lines of the shared flags named, in that order; `words` replaces the text of a flag this command gives a meaning of its own. */
export function flagsHelp(names: readonly SharedFlagName[], words: Partial<Record<SharedFlagName, string>> = {}): string {
  return names
    .map((name) => {
      const flag: SharedFlag = sharedFlags[name];
      return helpLine(name, flag, words[name] ?? flag.help);
    })
    .join('\n');
}

/** The --help line of the per-component port flags (componentFlags with the suffix -port). */
export const componentPortHelp = helpLine('<component>-port', { arg: 'N' }, "that component's local port (default its localPort) [TASKFLOW_<COMPONENT>_PORT]");

/** Maps the flags given to the settings they override; the config loader validates them. */
export function settingOverrides(values: { driver?: string; profile?: string; context?: string; namespace?: string }) {
  const out: Partial<Record<SettingKey, { value: string; flag: string }>> = {};
  if (values.driver !== undefined) out.TASKFLOW_DRIVER = { value: values.driver, flag: '--driver' };
  if (values.profile !== undefined) out.TASKFLOW_PROFILE = { value: values.profile, flag: '--profile' };
  if (values.context !== undefined) out.TASKFLOW_KUBE_CONTEXT = { value: values.context, flag: '--context' };
  if (values.namespace !== undefined) out.TASKFLOW_NAMESPACE = { value: values.namespace, flag: '--namespace' };
  return out;
}

/** helm's --timeout: a Go duration such as 10m or 300s. */
export function checkTimeout(value: string): boolean {
  return /^(\d+h)?(\d+m)?(\d+s)?$/.test(value) && value !== '';
}

/** The --timeout value, checked, with the script's default. */
export function timeoutFlag(value: string | undefined, fallback: string): string {
  const timeout = value ?? fallback;
  if (!checkTimeout(timeout)) throw new InputError(`--timeout ${timeout} is not a duration`, `Use a value such as ${fallback}, 90s or 1h.`);
  return timeout;
}

/** The declaration, for the flags named after its components; a broken one is reported when the session loads it again. */
export function appForFlags(root: string): App | undefined {
  try {
    return loadApp(root);
  } catch {
    return undefined;
  }
}

/**
 * One string flag per declared component (`--<name><suffix>`) that `wanted` selects, skipping a
 * name that would shadow one of the command's own flags (the generic form still reaches it).
 */
export function componentFlags(app: App | undefined, suffix: string, own: Record<string, unknown>, wanted: (c: Component) => boolean = () => true): Record<string, { type: 'string'; component: string }> {
  const out: Record<string, { type: 'string'; component: string }> = {};
  for (const [name, c] of Object.entries(app?.components ?? {})) if (wanted(c) && !(`${name}${suffix}` in own)) out[`${name}${suffix}`] = { type: 'string', component: name };
  return out;
}

/** The component flags given, as the settings they override (the config loader validates the values). */
export function componentOverrides(values: Record<string, unknown>, flags: ReturnType<typeof componentFlags>, setting: (component: string) => string) {
  const out: Partial<Record<string, { value: string; flag: string }>> = {};
  for (const [flag, { component }] of Object.entries(flags)) {
    const v = values[flag];
    if (typeof v === 'string') out[setting(component)] = { value: v, flag: `--${flag}` };
  }
  return out;
}
