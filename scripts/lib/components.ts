// The declared components (env/app.yaml) as the chart's `components.<name>` values, and the
// questions every command asks of them: which are there, which one a browser enters through,
// which have a local port. Nothing here names a component: the declaration does.
import type { App, Component } from './app.ts';
import type { Values } from './release.ts';

const isMap = (v: unknown): v is Values => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The declared components' names, in declaration order. */
export function componentNames(app: App): string[] {
  return Object.keys(app.components);
}

/** The component a browser enters through: the one that serves "/" on the Ingress, else the first with a port. */
export function entryComponent(app: App): string | undefined {
  const entries = Object.entries(app.components);
  return entries.find(([, c]) => (c.ingress ?? []).includes('/'))?.[0] ?? entries.find(([, c]) => c.port !== undefined)?.[0];
}

/** The environment-variable form of a component name: web-api → WEB_API. */
export function componentVar(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** The setting that overrides a component's local port (TASKFLOW_WEB_PORT) and its base image. */
export const portSetting = (name: string) => `TASKFLOW_${componentVar(name)}_PORT`;
export const baseImageSetting = (name: string) => `TASKFLOW_${componentVar(name)}_BASE_IMAGE`;

/**
 * The keys of a chart component that describe one app rather than how any pod runs: a component
 * the chart does not know starts from the chart's first component with these reset, so it gets
 * the chart's (and the profile's) probe timings, resources, rollout and scheduling defaults.
 */
const APP_SPECIFIC: Values = {
  env: {},
  serviceUrls: {},
  secretEnv: [],
  ingressPaths: [],
  usesDatabase: false,
  reachableFrom: [],
  podAnnotations: {},
  probes: { startupPath: '/', livenessPath: '/', readinessPath: '/' },
};

/** What the declaration says of one component, in the chart's keys; keys it leaves out are absent. */
export function declaredValues(c: Component, appValues: Record<string, string>): Values {
  const v: Values = { enabled: true };
  if (c.replicas !== undefined) v.replicaCount = c.replicas;
  v.containerPort = c.port ?? null;
  v.metricsPort = c.metricsPort ?? null;
  if (c.runAsUser !== undefined) v.runAsUser = c.runAsUser;
  const service: Values = {};
  if (c.port !== undefined) service.port = c.port;
  if (c.service?.type) service.type = c.service.type;
  if (c.service?.nodePort !== undefined) service.nodePort = c.service.nodePort;
  v.service = service;
  if (c.probes) {
    const probes: Values = {};
    if (c.probes.startup) probes.startupPath = c.probes.startup;
    if (c.probes.liveness) probes.livenessPath = c.probes.liveness;
    if (c.probes.readiness) probes.readinessPath = c.probes.readiness;
    v.probes = probes;
  }
  v.ingressPaths = c.ingress ?? [];
  const env: Values = Object.fromEntries(Object.entries(c.env ?? {}).map(([k, x]) => [k, String(x)]));
  for (const key of c.settings ?? []) if (appValues[key] !== undefined) env[key] = appValues[key];
  v.env = env;
  v.serviceUrls = { ...(c.connectsTo ?? {}) };
  v.secretEnv = [...(c.secrets ?? [])];
  v.usesDatabase = c.database === true;
  v.reachableFrom = [...(c.reachableFrom ?? [])];
  if (c.autoscaling) {
    const a: Values = {};
    if (c.autoscaling.min !== undefined) a.minReplicas = c.autoscaling.min;
    if (c.autoscaling.max !== undefined) a.maxReplicas = c.autoscaling.max;
    if (c.autoscaling.cpu !== undefined) a.targetCPUUtilizationPercentage = c.autoscaling.cpu;
    if (c.autoscaling.memory !== undefined) a.targetMemoryUtilizationPercentage = c.autoscaling.memory;
    v.autoscaling = a;
  }
  if (c.resources) v.resources = c.resources;
  if (c.writablePaths) v.writablePaths = [...c.writablePaths];
  return v;
}

function mergeMaps(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isMap(v) && isMap(out[k]) ? mergeMaps(out[k] as Values, v) : v;
  return out;
}

/**
 * The `components` values for the declared app, laid over `chartComponents` (the chart's
 * values.yaml with the profile file merged in). A component the chart already has gets only what
 * the declaration says; one it does not know gets a full entry; a chart component the
 * declaration leaves out is switched off.
 */
export function componentValues(app: App, chartComponents: Values, appValues: Record<string, string>, driver = ''): Values {
  const out: Values = {};
  const template = Object.values(chartComponents).find(isMap);
  const types = serviceTypes(app, driver);
  for (const [name, c] of Object.entries(app.components)) {
    const declared = declaredValues(c, appValues);
    if (types[name] && types[name] !== 'ClusterIP') (declared.service as Values).type = types[name];
    if (isMap(chartComponents[name]) || !template) out[name] = declared;
    else {
      // The app-specific keys are replaced, not merged: nothing of the other component's env or paths carries over.
      const base = { ...structuredClone(template), ...structuredClone(APP_SPECIFIC) };
      base.probes = { ...(template.probes as Values), ...(APP_SPECIFIC.probes as Values) };
      out[name] = mergeMaps(base, declared);
    }
  }
  for (const name of Object.keys(chartComponents)) if (!(name in app.components)) out[name] = { enabled: false };
  return out;
}

/**
 * Each component's Service type as deployed: as declared, and on Docker Desktop (which maps a
 * LoadBalancer to localhost) the entry component becomes a LoadBalancer unless it declares a type.
 */
export function serviceTypes(app: App, driver: string): Record<string, 'ClusterIP' | 'NodePort' | 'LoadBalancer'> {
  const entry = entryComponent(app);
  const out: Record<string, 'ClusterIP' | 'NodePort' | 'LoadBalancer'> = {};
  for (const [name, c] of Object.entries(app.components)) {
    if (c.port === undefined) continue;
    out[name] = c.service?.type ?? (driver === 'docker-desktop' && name === entry ? 'LoadBalancer' : 'ClusterIP');
  }
  return out;
}

/** The Service ports of the LoadBalancer components, by component. */
export function loadBalancerPorts(app: App, driver: string): Record<string, number> {
  const types = serviceTypes(app, driver);
  return Object.fromEntries(Object.entries(app.components).filter(([name, c]) => types[name] === 'LoadBalancer' && c.port !== undefined).map(([name, c]) => [name, c.port as number]));
}

/** The local port a browser opens the entry component at through port-forward (its override, its localPort, else its port); 0 with no entry. */
export function entryPort(config: { app: App; components: Record<string, { localPort?: number }> }): number {
  const entry = entryComponent(config.app);
  return entry ? (config.components[entry]?.localPort ?? config.app.components[entry]?.port ?? 0) : 0;
}
