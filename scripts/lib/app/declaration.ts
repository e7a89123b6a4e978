// The app's components as data: env/app.yaml (or TASKFLOW_APP_FILE) read with `yaml`, checked
// against env/app.schema.json with ajv and then for what a schema cannot say (files that must
// exist, names that must refer to each other, secrets in the wrong place). Every problem is
// reported at once, naming the key and the fix; nothing runs before the declaration is valid.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { compiledSchema } from '../core/compiled-schema.ts';
import { LineCounter, parseDocument } from 'yaml';
import { InputError } from '../core/errors.ts';
import { CHART_SECRET_KEYS, RESERVED_COMPONENT_NAMES } from './chart-files.ts';
import { looksLikeSecret } from '../validate/policy.ts';
import { closest } from '../core/suggest.ts';
import schemaJson from '../../../env/app.schema.json' with { type: 'json' };
import settingsSchema from '../../../env/schema.json' with { type: 'json' };

export type ServiceType = 'ClusterIP' | 'NodePort' | 'LoadBalancer';

type Scalar = string | number | boolean;

/** A public build variable known only at setup: a component's URL as the browser reaches it, or the app's access URLs. */
export type PublicUrl = { url: string } | { access: 'first' | 'all' };

export const isPublicUrl = (v: unknown): v is PublicUrl => typeof v === 'object' && v !== null;

/** One component as declared: how to build it and how it runs. */
export type Component = {
  /** Paths as declared: relative to the declaration file, or absolute; `parseApp` makes them absolute. */
  build: { context: string; dockerfile: string; target?: string; args?: Record<string, Scalar>; public?: Record<string, Scalar | PublicUrl>; baseImage?: string; baseImageArg?: string };
  /** Absent for a worker: no Service, no HTTP probes, nothing to forward or route. */
  port?: number;
  localPort?: number;
  /** Where the container serves Prometheus metrics (/metrics), apart from `port`: on the pod only, never routed. */
  metricsPort?: number;
  probes?: { startup?: string; liveness?: string; readiness?: string };
  env?: Record<string, Scalar>;
  /** Env values of one profile, laid over env: for that profile only. */
  profiles?: Partial<Record<'dev' | 'prod', { env?: Record<string, Scalar> }>>;
  settings?: string[];
  secrets?: string[];
  connectsTo?: Record<string, string>;
  /** Variables set at setup to the URLs a browser reaches the app at: all (comma-separated) or the first. */
  accessUrls?: Record<string, 'all' | 'first'>;
  service?: { type?: ServiceType; nodePort?: number };
  ingress?: string[];
  replicas?: number;
  autoscaling?: { min?: number; max?: number; cpu?: number; memory?: number };
  resources?: { requests?: { cpu?: string | number; memory?: string | number }; limits?: { cpu?: string | number; memory?: string | number } };
  runAsUser?: number;
  writablePaths?: string[];
  database?: boolean;
  reachableFrom?: string[];
  /** The database migration command, run in this component's image before each upgrade (with migrations on). */
  migrate?: string[];
};

/** A setting the app declares: settable in env/.env or the shell, typed, masked when secret. */
export type AppSetting = { description?: string; default?: Scalar; secret?: boolean; generate?: number; minLength?: number; required?: boolean; pattern?: string };

export type App = {
  name: string;
  /** A workflow validate runs through the entry component besides the health checks. */
  smokeWorkflow?: 'tasks-api';
  components: Record<string, Component>;
  settings: Record<string, AppSetting>;
  /** The declaration file, for messages. */
  file: string;
};

export type AppProblem = { key: string; message: string };

/**
 * Secret settings of env/.env (x-secret in env/schema.json) that the chart's Secret does not hold:
 * the model keys besides OpenAI's. A component that lists one gets it through secrets.extra.
 */
export const MODEL_KEYS = Object.entries(settingsSchema.properties as Record<string, { 'x-secret'?: boolean }>)
  .filter(([key, prop]) => prop['x-secret'] === true && !Object.hasOwn(CHART_SECRET_KEYS, key))
  .map(([key]) => key);

/**
 * Secret keys the toolkit itself provides: the chart's Secret holds them (generated where needed),
 * or they are toolkit settings of env/.env (the model keys). No declaration needed.
 */
export const BUILT_IN_SECRETS = [...Object.keys(CHART_SECRET_KEYS), ...MODEL_KEYS];

/** A component with a port has a Service (probes, routes, a local port); one without is a worker. */
export const hasService = (c: Component): c is Component & { port: number } => c.port !== undefined;

/** The environment-variable form of a component name: web-api → WEB_API. */
export function componentVar(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** The setting that overrides a component's local port (TASKFLOW_WEB_PORT) and its base image. */
export const portSetting = (name: string) => `TASKFLOW_${componentVar(name)}_PORT`;
export const baseImageSetting = (name: string) => `TASKFLOW_${componentVar(name)}_BASE_IMAGE`;

/** Points the toolkit at another app declaration than env/app.yaml. */
export const APP_FILE_VAR = 'TASKFLOW_APP_FILE';

/** Where the declaration is: TASKFLOW_APP_FILE, else env/app.yaml. */
export function appFile(root: string, env: Record<string, string | undefined> = process.env): string {
  const given = env[APP_FILE_VAR];
  return given ? resolve(root, given) : join(root, 'env', 'app.yaml');
}

type SchemaNode = { 'x-fix'?: string; 'x-fix-propertyNames'?: string; $ref?: string; properties?: Record<string, SchemaNode>; additionalProperties?: SchemaNode | boolean; items?: SchemaNode; definitions?: Record<string, SchemaNode> };
const schema = schemaJson as unknown as SchemaNode;

// Compiled once and kept in .cache/schemas/ (see compiled-schema.ts).
const validate = compiledSchema(schemaJson, { allErrors: true, strict: false, validateSchema: false });

/** The schema node an instance path points at, following $refs, for its x-fix. */
function schemaAt(path: string[]): SchemaNode | undefined {
  const deref = (n: SchemaNode | undefined): SchemaNode | undefined => (n?.$ref ? schema.definitions?.[n.$ref.replace('#/definitions/', '')] : n);
  let node: SchemaNode | undefined = schema;
  for (const part of path) {
    node = deref(node);
    if (!node) return undefined;
    if (node.properties?.[part]) node = node.properties[part];
    else if (node.items && /^\d+$/.test(part)) node = node.items;
    else if (typeof node.additionalProperties === 'object') node = node.additionalProperties;
    else return undefined;
  }
  return deref(node) ?? node;
}

const dotted = (path: string[]) => path.join('.') || '(top level)';

/** One ajv error as a sentence about the key, with the fix from the schema. */
function explain(err: ErrorObject): AppProblem {
  const path = err.instancePath.split('/').filter(Boolean);
  const p = err.params as Record<string, unknown>;
  switch (err.keyword) {
    case 'additionalProperties': {
      const extra = String(p.additionalProperty);
      const known = Object.keys(schemaAt(path)?.properties ?? {});
      const near = closest(extra, known);
      return { key: dotted([...path, extra]), message: `is not a known key. Fix: ${near ? `did you mean ${near}? ` : ''}use one of ${known.join(', ')}` };
    }
    case 'required': {
      const missing = String(p.missingProperty);
      return { key: dotted([...path, missing]), message: `is missing. Fix: ${schemaAt([...path, missing])?.['x-fix'] ?? 'add it'}` };
    }
    case 'propertyNames': {
      const parent = schemaAt(path);
      return { key: dotted([...path, String(p.propertyName)]), message: `is not a valid name. Fix: ${parent?.['x-fix-propertyNames'] ?? 'rename it'}` };
    }
    case 'pattern':
      return { key: dotted(path), message: `has the wrong form. Fix: ${schemaAt(path)?.['x-fix'] ?? `match ${String(p.pattern)}`}` };
    default:
      break;
  }
  if (err.keyword === 'anyOf') return { key: dotted(path), message: `has none of the allowed forms. Fix: ${schemaAt(path)?.['x-fix'] ?? 'see env/app.schema.json'}` };
  return { key: dotted(path), message: `${err.message ?? 'is invalid'}. Fix: ${schemaAt(path)?.['x-fix'] ?? 'see env/app.schema.json'}` };
}

/** The ARG names a Dockerfile declares (ARG NAME or ARG NAME=default): only those can be passed with --build-arg. */
export function dockerfileArgs(dockerfile: string): Set<string> {
  return argsIn(readFileSync(dockerfile, 'utf8'));
}

/** The ARG names in a Dockerfile's text. */
function argsIn(text: string): Set<string> {
  return new Set([...text.matchAll(/^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)/gim)].map((m) => m[1] as string));
}

/** The build argument a component's base image goes to: build.baseImageArg, else BASE_IMAGE. */
export const baseImageArg = (c: Component): string => c.build.baseImageArg ?? 'BASE_IMAGE';

/**
 * Why a Dockerfile cannot take a base image setting (it declares no such ARG), with the ARGs its
 * FROM lines do use as the likely fix; undefined when it can.
 */
export function baseImageProblem(dockerfile: string, arg: string, shown: string): string | undefined {
  const text = readFileSync(dockerfile, 'utf8');
  if (argsIn(text).has(arg)) return undefined;
  const inFrom = [...new Set([...text.matchAll(/^\s*FROM\s+(?:--\S+\s+)*\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/gim)].map((m) => m[1] as string))];
  const hint = inFrom.length ? `name the ARG its FROM line uses: build.baseImageArg: ${inFrom[0]}` : `declare ARG ${arg}=<default> before FROM \${${arg}} in it, or drop the base image setting`;
  return `${shown} declares no ARG ${arg} to take the base image, so the setting would change the tag and nothing else. Fix: ${hint}`;
}

/** The Secret keys a component reads: its secrets, and DATABASE_URL when database: true and it does not list it. */
export function secretsOf(c: Component): string[] {
  const listed = c.secrets ?? [];
  return c.database && !listed.includes('DATABASE_URL') ? [...listed, 'DATABASE_URL'] : [...listed];
}

/** Where each variable of a component comes from: the same name from two places is refused. */
function variableSources(name: string, c: Component): [variable: string, place: string][] {
  const at = (k: string) => `components.${name}.${k}`;
  return [
    ...(hasService(c) ? [['PORT', `${at('port')} (the chart sets PORT to the port)`] as [string, string]] : []),
    ...Object.keys(c.env ?? {}).map((k) => [k, at(`env.${k}`)] as [string, string]),
    ...Object.keys(c.accessUrls ?? {}).map((k) => [k, at(`accessUrls.${k}`)] as [string, string]),
    ...Object.keys(c.connectsTo ?? {}).map((k) => [k, at(`connectsTo.${k}`)] as [string, string]),
    ...(c.settings ?? []).map((k) => [k, at('settings')] as [string, string]),
    ...(c.secrets ?? []).map((k) => [k, at('secrets')] as [string, string]),
    ...secretsOf(c).filter((k) => !(c.secrets ?? []).includes(k)).map((k) => [k, `${at('database')} (database: true gives ${k})`] as [string, string]),
  ];
}

/** The same variable from two of port, env, accessUrls, connectsTo, settings, secrets, database; a profile's env only against the others than env. */
function conflicts(name: string, c: Component): AppProblem[] {
  const out: AppProblem[] = [];
  const first = new Map<string, string>();
  for (const [variable, place] of variableSources(name, c)) {
    const other = first.get(variable);
    if (other) out.push({ key: place.split(' (')[0] as string, message: `sets ${variable}, which ${other} sets too. Fix: give each variable one source; drop one of them` });
    else first.set(variable, place);
  }
  for (const [profile, p] of Object.entries(c.profiles ?? {})) {
    for (const variable of Object.keys(p?.env ?? {})) {
      const other = first.get(variable);
      if (other && !other.startsWith(`components.${name}.env.`)) out.push({ key: `components.${name}.profiles.${profile}.env.${variable}`, message: `sets ${variable}, which ${other} sets too. Fix: give each variable one source; drop one of them` });
    }
  }
  return out;
}

/** The build section: files, stage, base image argument, public variables and arguments. */
function checkBuild(name: string, c: Component, app: Omit<App, 'file'>, base: string): AppProblem[] {
  const out: AppProblem[] = [];
  const at = (k: string) => `components.${name}.build.${k}`;
  const context = resolve(base, c.build.context);
  if (!existsSync(context) || !statSync(context).isDirectory()) out.push({ key: at('context'), message: `${c.build.context} is not a directory (${context}). Fix: the build context directory, relative to the declaration file or absolute` });
  const dockerfile = resolve(base, c.build.dockerfile);
  const haveDockerfile = existsSync(dockerfile) && statSync(dockerfile).isFile();
  if (!haveDockerfile) out.push({ key: at('dockerfile'), message: `${c.build.dockerfile} does not exist (${dockerfile}). Fix: the Dockerfile's path, relative to the declaration file or absolute` });
  else if (c.build.target && !new RegExp(`^\\s*FROM\\s+\\S+\\s+AS\\s+${c.build.target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'im').test(readFileSync(dockerfile, 'utf8'))) {
    out.push({ key: at('target'), message: `${c.build.dockerfile} has no stage named ${c.build.target}. Fix: name a stage of it (FROM … AS ${c.build.target})` });
  }
  if (haveDockerfile && (c.build.baseImage || c.build.baseImageArg)) {
    const why = baseImageProblem(dockerfile, baseImageArg(c), c.build.dockerfile);
    if (why) out.push({ key: at(c.build.baseImage ? 'baseImage' : 'baseImageArg'), message: why });
  }
  for (const kind of ['args', 'public'] as const) {
    for (const arg of Object.keys(c.build[kind] ?? {})) {
      if (looksLikeSecret(arg)) out.push({ key: at(`${kind}.${arg}`), message: `looks like a secret, and build arguments stay readable in the image's history. Fix: give it to the running container through secrets: instead` });
      else if (kind === 'public' && c.build.args?.[arg] !== undefined) out.push({ key: at(`public.${arg}`), message: `is also a build.args entry. Fix: keep it in one of them` });
    }
  }
  for (const [variable, value] of Object.entries(c.build.public ?? {})) {
    if (!isPublicUrl(value) || !('url' in value)) continue;
    const target = app.components[value.url];
    if (!target) out.push({ key: at(`public.${variable}`), message: `names ${value.url}, which is not a component. Fix: one of ${Object.keys(app.components).join(', ')}` });
    else if (target.localPort === undefined && !(target.ingress ?? []).length && target.service?.type !== 'LoadBalancer') {
      out.push({ key: at(`public.${variable}`), message: `names ${value.url}, which a browser cannot reach: it has no localPort, ingress path or LoadBalancer. Fix: give ${value.url} one of them, or use a plain value` });
    }
  }
  return out;
}

/** Settings and secrets a component reads: declared, and each in its right list. */
function checkReads(name: string, c: Component, app: Omit<App, 'file'>): AppProblem[] {
  const out: AppProblem[] = [];
  const at = (k: string) => `components.${name}.${k}`;
  const sources = new Map(variableSources(name, c));
  for (const key of Object.keys(c.env ?? {})) {
    if (looksLikeSecret(key) && sources.get(key) === at(`env.${key}`)) out.push({ key: at(`env.${key}`), message: `looks like a secret, and env: values go into a ConfigMap. Fix: declare it under settings: with secret: true and list it in secrets:` });
  }
  for (const [profile, p] of Object.entries(c.profiles ?? {})) {
    for (const key of Object.keys(p?.env ?? {})) {
      if (looksLikeSecret(key)) out.push({ key: at(`profiles.${profile}.env.${key}`), message: `looks like a secret, and env: values go into a ConfigMap. Fix: declare it under settings: with secret: true and list it in secrets:` });
    }
  }
  for (const key of c.settings ?? []) {
    if (!app.settings[key]) out.push({ key: at('settings'), message: `names ${key}, which is not declared under settings:. Fix: declare it (settings: { ${key}: { description: … } })` });
    else if (app.settings[key]?.secret) out.push({ key: at('settings'), message: `gives the secret setting ${key} as a plain variable. Fix: list it under secrets: instead` });
  }
  for (const key of c.secrets ?? []) {
    if (!BUILT_IN_SECRETS.includes(key) && !app.settings[key]) out.push({ key: at('secrets'), message: `names ${key}, which is not declared under settings:. Fix: declare it (settings: { ${key}: { secret: true } }), or use a built-in key (${BUILT_IN_SECRETS.join(', ')})` });
    else if (app.settings[key] && !app.settings[key]?.secret) out.push({ key: at('secrets'), message: `names ${key}, which is declared without secret: true. Fix: add secret: true to settings.${key}` });
  }
  return out;
}

/** References to other components, and keys that need a port. */
function checkLinks(name: string, c: Component, app: Omit<App, 'file'>): AppProblem[] {
  const out: AppProblem[] = [];
  const names = Object.keys(app.components);
  const at = (k: string) => `components.${name}.${k}`;
  for (const [variable, target] of Object.entries(c.connectsTo ?? {})) {
    if (!names.includes(target)) out.push({ key: at(`connectsTo.${variable}`), message: `names ${target}, which is not a component. Fix: one of ${names.join(', ')}` });
    else if (!hasService(app.components[target] as Component)) out.push({ key: at(`connectsTo.${variable}`), message: `names ${target}, which has no port to connect to. Fix: give ${target} a port, or drop this` });
  }
  for (const from of c.reachableFrom ?? []) {
    if (!names.includes(from)) out.push({ key: at('reachableFrom'), message: `names ${from}, which is not a component. Fix: one of ${names.join(', ')}` });
  }
  if (!hasService(c)) {
    for (const k of ['localPort', 'probes', 'service', 'ingress'] as const) {
      if (c[k] !== undefined) out.push({ key: at(k), message: `needs a port, and ${name} declares none (a worker). Fix: add port:, or drop ${k}` });
    }
  }
  if (c.metricsPort !== undefined && c.metricsPort === c.port) out.push({ key: at('metricsPort'), message: `${c.metricsPort} is the component's port too. Fix: serve metrics on a port of their own, or drop metricsPort` });
  if (c.service?.nodePort !== undefined && c.service.type !== 'NodePort') {
    out.push({ key: at('service.nodePort'), message: `is set, but the service type is ${c.service.type ?? 'ClusterIP'}. Fix: use type: NodePort, or drop nodePort (a LoadBalancer picks its own)` });
  }
  if (c.autoscaling?.min !== undefined && c.autoscaling.max !== undefined && c.autoscaling.min > c.autoscaling.max) {
    out.push({ key: at('autoscaling'), message: `min ${c.autoscaling.min} is above max ${c.autoscaling.max}. Fix: min at most max` });
  }
  return out;
}

/** The app's own settings: what a declaration must not say of one. */
function checkSettings(app: Omit<App, 'file'>): AppProblem[] {
  const out: AppProblem[] = [];
  for (const [key, s] of Object.entries(app.settings)) {
    if (key.startsWith('TASKFLOW_')) out.push({ key: `settings.${key}`, message: 'is named like a toolkit setting (TASKFLOW_*), which the toolkit reads itself. Fix: rename it (e.g. without the TASKFLOW_ prefix)' });
    if (s.secret && s.default !== undefined) out.push({ key: `settings.${key}.default`, message: 'is set on a secret, and would be committed with this file. Fix: drop it; set the value in env/.env, or use generate: to have setup make one' });
    if (s.generate !== undefined && !s.secret) out.push({ key: `settings.${key}.generate`, message: 'is set on a setting that is not secret. Fix: add secret: true, or give it a default instead' });
    if (s.generate !== undefined && s.minLength !== undefined && s.generate < s.minLength) out.push({ key: `settings.${key}.generate`, message: `${s.generate} is shorter than minLength ${s.minLength}, so setup would make a value it then refuses. Fix: generate at least ${s.minLength}` });
    if (s.pattern !== undefined) {
      try {
        new RegExp(s.pattern);
      } catch {
        out.push({ key: `settings.${key}.pattern`, message: `${JSON.stringify(s.pattern)} is not a regular expression. Fix: a valid JavaScript regular expression` });
      }
    }
  }
  return out;
}

/**
 * What the schema cannot check: files, references between components, names the chart takes, the
 * same variable from two places, secrets in the wrong place. `base` is the declaration's folder.
 */
export function checkApp(app: Omit<App, 'file'>, base: string): AppProblem[] {
  const out: AppProblem[] = [];
  const claimed = new Map<string, string>();
  const localPorts = new Map<number, string>();
  for (const [name, c] of Object.entries(app.components)) {
    const at = (k: string) => `components.${name}.${k}`;
    if (RESERVED_COMPONENT_NAMES.includes(name)) out.push({ key: `components.${name}`, message: `is a name the chart's own objects take (${RESERVED_COMPONENT_NAMES.join(', ')}). Fix: rename the component (e.g. ${name}-app)` });
    out.push(...checkBuild(name, c, app, base), ...conflicts(name, c), ...checkReads(name, c, app), ...checkLinks(name, c, app));
    for (const path of c.ingress ?? []) {
      const normal = path.length > 1 ? path.replace(/\/+$/, '') : path;
      const owner = claimed.get(normal);
      if (owner) out.push({ key: at('ingress'), message: `claims ${normal}, which ${owner} claims too. Fix: give each path to one component (the longest match wins, so /api/auth and /api can go to different ones)` });
      else claimed.set(normal, name);
    }
    if (c.localPort !== undefined) {
      const other = localPorts.get(c.localPort);
      if (other) out.push({ key: at('localPort'), message: `${c.localPort} is ${other}'s local port too. Fix: give each component its own` });
      else localPorts.set(c.localPort, name);
    }
  }
  return [...out, ...checkSettings(app)];
}

/**
 * Parses and checks a declaration's text; returns the app or every problem found. `base` is the
 * folder its paths are relative to (the declaration file's); the app returned has them absolute.
 */
export function parseApp(text: string, base: string, label: string): { app?: Omit<App, 'file'>; problems: AppProblem[] } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  const problems: AppProblem[] = doc.errors.map((e) => {
    const line = lines.linePos(e.pos[0]).line;
    if (e.code === 'DUPLICATE_KEY') {
      const name = /^\s*([^:#]+?)\s*:/.exec(text.split('\n')[line - 1] ?? '')?.[1] ?? 'a key';
      return { key: `${label}:${line}`, message: `repeats ${name}: two components, settings or keys with one name. Fix: give each its own name` };
    }
    return { key: `${label}:${line}`, message: `is not valid YAML: ${e.message.split('\n')[0]}. Fix: correct the YAML at that line` };
  });
  if (problems.length) return { problems };
  const data: unknown = doc.toJS();
  // A bad name is reported once, by its propertyNames error, not again by the pattern inside it.
  // A value that fits none of several forms (anyOf) is reported once, with the forms, not once per form.
  if (!validate(data)) {
    const errors = validate.errors ?? [];
    const forms = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath);
    const underForms = (e: ErrorObject) => e.keyword !== 'anyOf' && forms.some((f) => e.instancePath === f || e.instancePath.startsWith(`${f}/`));
    return { problems: dedupe(errors.filter((e) => !e.schemaPath.includes('/propertyNames/') && !underForms(e)).map(explain)) };
  }
  const app = data as { name?: string; smokeWorkflow?: 'tasks-api'; components: Record<string, Component>; settings?: Record<string, AppSetting> };
  const full = { name: app.name ?? 'taskflow', ...(app.smokeWorkflow ? { smokeWorkflow: app.smokeWorkflow } : {}), components: app.components, settings: app.settings ?? {} };
  const semantic = checkApp(full, base);
  if (semantic.length) return { problems: semantic };
  for (const c of Object.values(full.components)) c.build = { ...c.build, context: resolve(base, c.build.context), dockerfile: resolve(base, c.build.dockerfile) };
  return { app: full, problems: [] };
}

function dedupe(problems: AppProblem[]): AppProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => (seen.has(p.key + p.message) ? false : (seen.add(p.key + p.message), true)));
}

/** Loads the declaration; throws InputError (exit 2) listing every problem, naming key and fix. */
export function loadApp(root: string, env: Record<string, string | undefined> = process.env): App {
  const file = appFile(root, env);
  const rel = relative(root, file);
  const label = rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel.split('\\').join('/') : file;
  if (!existsSync(file)) {
    throw new InputError(`the app declaration ${label} does not exist`, env.TASKFLOW_APP_FILE ? 'Check TASKFLOW_APP_FILE.' : 'Restore env/app.yaml (git checkout env/app.yaml), or point TASKFLOW_APP_FILE at your declaration.');
  }
  const { app, problems } = parseApp(readFileSync(file, 'utf8'), dirname(file), label);
  if (!app) {
    const n = problems.length;
    throw new InputError(
      `The app declaration (${label}) has ${n} problem${n === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}`,
      `Fix each key in ${label} (its schema, with every key explained, is env/app.schema.json) and rerun.`,
    );
  }
  return { ...app, file };
}
