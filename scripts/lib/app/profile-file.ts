// A profile's values file (helm/taskflow/values-<profile>.yaml) may carry operational settings
// only: replicas, resources, pull policy, autoscaling, policies. An app's variables, secrets,
// routes and probes come from its declaration alone, so a component named like one of the
// reference app's never inherits its values, and a declared value is never overridden here.
import { existsSync } from 'node:fs';
import { isMap, profileValuesFile, readValuesFile, type Values } from './values.ts';

/** The chart keys of a component that describe the app, not how its pods run. */
const APP_KEYS = ['enabled', 'containerPort', 'env', 'serviceUrls', 'secretEnv', 'ingressPaths', 'usesDatabase', 'reachableFrom'];
const PROBE_PATHS = ['startupPath', 'livenessPath', 'readinessPath'];

/** Pure: each app key a profile's values set on a component, as "components.<name>.<key>". */
export function appKeysIn(profileValues: Values): string[] {
  const out: string[] = [];
  const components = isMap(profileValues.components) ? profileValues.components : {};
  for (const [name, c] of Object.entries(components)) {
    if (!isMap(c)) continue;
    for (const k of APP_KEYS) if (k in c) out.push(`components.${name}.${k}`);
    const probes = isMap(c.probes) ? c.probes : {};
    for (const k of PROBE_PATHS) if (k in probes) out.push(`components.${name}.probes.${k}`);
  }
  return out;
}

/** The problems of a profile's values file, each naming the key and where it belongs instead. */
export function profileProblems(root: string, profile: string): { key: string; message: string }[] {
  const file = profileValuesFile(root, profile);
  if (!existsSync(file)) return [];
  return appKeysIn(readValuesFile(file)).map((key) => ({
    key: `helm/taskflow/values-${profile}.yaml ${key}`,
    message: `describes the app, and a profile file holds operational settings only (replicas, resources, autoscaling, policies). Fix: declare it in the app declaration (a component's env:, or profiles.${profile}.env: for this profile alone) and remove it here`,
  }));
}
