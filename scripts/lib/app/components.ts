// The declared components (env/app.yaml) as the chart's `components.<name>` values, and the
// questions every command asks of them: which are there, which one a browser enters through,
// which have a local port. Nothing here names a component: the declaration does.
import { hasService, secretsOf, type App, type Component, type PublicUrl } from './declaration.ts';
import { accessOf, accessOrigins, type AccessInfo } from '../cluster/drivers.ts';
import type { Driver } from './config.ts';
import { isMap, mergeValues, type Values } from './values.ts';

/** The declared components' names, in declaration order. */
export function componentNames(app: App): string[] {
  return Object.keys(app.components);
}

/** The component a browser enters through: the one that serves "/" on the Ingress, else the first with a port. */
export function entryComponent(app: App): string | undefined {
  const entries = Object.entries(app.components);
  return entries.find(([, c]) => (c.ingress ?? []).includes('/'))?.[0] ?? entries.find(([, c]) => hasService(c))?.[0];
}

export { baseImageSetting, componentVar, portSetting } from './declaration.ts';

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

/**
 * What the declaration says of one component, in the chart's keys, for one profile: exactly its
 * variables (env with the profile's env over it, its settings), its secrets (DATABASE_URL with
 * database: true) and its probe paths ("/" where it declares none), so nothing of a chart
 * component of the same name carries over. Operational keys it leaves out are absent.
 */
export function declaredValues(c: Component, appValues: Record<string, string>, profile = ''): Values {
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
  if (c.port !== undefined) v.probes = { startupPath: c.probes?.startup ?? '/', livenessPath: c.probes?.liveness ?? '/', readinessPath: c.probes?.readiness ?? '/' };
  v.ingressPaths = c.ingress ?? [];
  const profileEnv = (c.profiles as Record<string, { env?: Values } | undefined> | undefined)?.[profile]?.env ?? {};
  const env: Values = Object.fromEntries(Object.entries({ ...c.env, ...profileEnv }).map(([k, x]) => [k, String(x)]));
  for (const key of c.settings ?? []) if (appValues[key] !== undefined) env[key] = appValues[key];
  v.env = env;
  v.serviceUrls = { ...(c.connectsTo ?? {}) };
  v.secretEnv = secretsOf(c);
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

/**
 * The `components` values for the declared app, laid over `chartComponents` (the chart's
 * values.yaml with the profile file merged in). A component the chart already has gets only what
 * the declaration says; one it does not know gets a full entry; a chart component the
 * declaration leaves out is switched off.
 */
export function componentValues(app: App, chartComponents: Values, appValues: Record<string, string>, driver = '', profile = ''): Values {
  const out: Values = {};
  const template = Object.values(chartComponents).find(isMap);
  const types = serviceTypes(app, driver);
  for (const [name, c] of Object.entries(app.components)) {
    const declared = declaredValues(c, appValues, profile);
    if (types[name] && types[name] !== 'ClusterIP') (declared.service as Values).type = types[name];
    if (isMap(chartComponents[name]) || !template) out[name] = declared;
    else {
      // The app-specific keys are replaced, not merged: nothing of the other component's env or paths carries over.
      const base = { ...structuredClone(template), ...structuredClone(APP_SPECIFIC) };
      base.probes = { ...(template.probes as Values), ...(APP_SPECIFIC.probes as Values) };
      out[name] = mergeValues(base, declared, { nulls: 'keep' });
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
    if (!hasService(c)) continue;
    out[name] = c.service?.type ?? (driver === 'docker-desktop' && name === entry ? 'LoadBalancer' : 'ClusterIP');
  }
  return out;
}

/** The Service ports of the LoadBalancer components, by component. */
export function loadBalancerPorts(app: App, driver: string): Record<string, number> {
  const types = serviceTypes(app, driver);
  return Object.fromEntries(Object.entries(app.components).filter(([name, c]) => types[name] === 'LoadBalancer' && hasService(c)).map(([name, c]) => [name, c.port as number]));
}

/** The local port a browser opens the entry component at through port-forward (its override, its localPort, else its port); 0 with no entry. */
export function entryPort(config: { app: App; components: Record<string, { localPort?: number }> }): number {
  const entry = entryComponent(config.app);
  return entry ? (config.components[entry]?.localPort ?? config.app.components[entry]?.port ?? 0) : 0;
}

/** What the access and public URLs are computed from: the declaration, the local ports, and the driver settings. */
type AccessConfig = { app: App; components: Record<string, { localPort?: number }>; settings: { TASKFLOW_DRIVER: Driver; TASKFLOW_CLUSTER_NAME: string; TASKFLOW_INGRESS_HOST: string } };

/** Where a browser reaches the app, from the settings alone (no process): what setup will report. */
export function plannedAccess(config: AccessConfig): AccessInfo {
  const s = config.settings;
  return accessOf(s.TASKFLOW_DRIVER, s.TASKFLOW_CLUSTER_NAME, s.TASKFLOW_INGRESS_HOST, entryPort(config), loadBalancerPorts(config.app, s.TASKFLOW_DRIVER));
}

/**
 * A public build variable's value known only at setup: { url: C } is the URL a browser reaches
 * component C at (port-forward's localhost port where it has one, else its ingress path, else
 * its LoadBalancer's address); { access } the app's access URLs, the first or all comma-separated.
 */
export function publicUrl(config: AccessConfig, v: PublicUrl): string {
  const access = plannedAccess(config);
  if ('access' in v) {
    const origins = accessOrigins(access);
    return v.access === 'first' ? (origins[0] as string) : origins.join(',');
  }
  const c = config.app.components[v.url] as Component;
  const local = config.components[v.url]?.localPort;
  if (local !== undefined) return `http://localhost:${local}`;
  const path = c.ingress?.[0];
  if (path !== undefined) return `http://${config.settings.TASKFLOW_INGRESS_HOST}${path === '/' ? '' : path}`;
  return access.loadBalancers.find((lb) => lb.component === v.url)?.url ?? '';
}

/** The local port of each component port-forward serves, the entry component first (its URL is the one to open). */
export function forwardedPorts(config: { app: App; components: Record<string, { localPort?: number }> }): Record<string, number> {
  const entry = entryComponent(config.app);
  const out: Record<string, number> = {};
  for (const [name, c] of Object.entries(config.components).sort(([a], [b]) => Number(b === entry) - Number(a === entry))) if (c.localPort !== undefined) out[name] = c.localPort;
  return out;
}
