// Flags shared by the entry scripts that override settings (--driver, --profile, --context, --namespace).
import { loadApp, type App, type Component } from '../app/declaration.ts';
import type { SettingKey } from '../app/config.ts';
import { InputError } from './errors.ts';

export const settingFlags = {
  driver: { type: 'string' },
  profile: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string' },
} as const;

export const settingFlagsHelp = `  --driver D         minikube (default), docker-desktop or kind   [TASKFLOW_DRIVER]
  --profile P        dev (default) or prod                          [TASKFLOW_PROFILE]
  --context C        deploy into this kube context instead of the cluster's own [TASKFLOW_KUBE_CONTEXT]
  --namespace N      Kubernetes namespace (default taskflow)        [TASKFLOW_NAMESPACE]`;

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

/** Flags every lifecycle script takes. */
export const commonFlags = {
  'dry-run': { type: 'boolean' },
  timeout: { type: 'string' },
  yes: { type: 'boolean', short: 'y' },
  json: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

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
