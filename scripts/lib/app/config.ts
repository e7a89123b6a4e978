// env/.env + TASKFLOW_* process variables + flags → one typed, validated Config. Every problem is
// reported at once, naming the key, where the value came from and the fix; secret values never.
import { existsSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { compiledSchema } from '../core/compiled-schema.ts';
import { parse as parseDotenv } from 'dotenv';
import { InputError } from '../core/errors.ts';
import { registerSecret } from '../core/secrets.ts';
import { closest } from '../core/suggest.ts';
import { profileProblems } from './profile-file.ts';
import { APP_FILE_VAR, baseImageArg, baseImageProblem, baseImageSetting, loadApp, portSetting, type App, type AppSetting } from './declaration.ts';
import schemaJson from '../../../env/schema.json' with { type: 'json' };

export type Driver = 'minikube' | 'docker-desktop' | 'kind';
export type Profile = 'dev' | 'prod';

/** Every setting, typed. Names follow env/.env; see env/.env.example for their meaning. */
export type Settings = {
  TASKFLOW_DRIVER: Driver;
  TASKFLOW_PROFILE: Profile;
  TASKFLOW_CLUSTER_NAME: string;
  TASKFLOW_KUBE_CONTEXT: string;
  TASKFLOW_NAMESPACE: string;
  TASKFLOW_RELEASE: string;
  TASKFLOW_CPUS: number;
  TASKFLOW_MEMORY_MB: number;
  TASKFLOW_HELM: string;
  TASKFLOW_IMAGE_REGISTRY: string;
  TASKFLOW_INGRESS_HOST: string;
  TASKFLOW_MAX_REPLICAS: number;
  PIP_INDEX_URL: string;
  NPM_CONFIG_REGISTRY: string;
  BETTER_AUTH_URL: string;
  CORS_ORIGINS: string;
  BETTER_AUTH_SECRET?: string;
  POSTGRES_PASSWORD?: string;
  MCP_SHARED_SECRET?: string;
  DATABASE_URL: string;
  OPENAI_API_KEY: string;
  ANTHROPIC_API_KEY: string;
  GEMINI_API_KEY: string;
};

export type SettingKey = keyof Settings;

/** Where a value came from, for error messages. */
export type Source = { kind: 'default' } | { kind: 'file'; path: string; line: number } | { kind: 'env' } | { kind: 'flag'; flag: string };

export type Config = {
  root: string;
  envFile: string;
  envFileExists: boolean;
  settings: Settings;
  sources: Partial<Record<SettingKey, Source>>;
  /** The app's components and settings, as declared (env/app.yaml). */
  app: App;
  /** The app's own declared settings that are not the toolkit's, with their defaults applied. */
  appValues: Record<string, string>;
  /** Per declared component: its local port (TASKFLOW_<NAME>_PORT, else the declaration) and base image override. */
  components: Record<string, ComponentSettings>;
};

export type ComponentSettings = { localPort?: number; baseImage: string };

/** Settings the declaration replaced, with where their value now goes. */
const RETIRED: Record<string, string> = {
  TASKFLOW_BACKEND_DIR: 'build contexts are declared in env/app.yaml now: set components.<name>.build.context there',
  TASKFLOW_FRONTEND_DIR: 'build contexts are declared in env/app.yaml now: set components.<name>.build.context there',
  TASKFLOW_BACKEND_APP_MODULE: 'set APP_MODULE under the component\'s env: in env/app.yaml',
};

const PORT_VALUE = /^\d+$/;
const IMAGE_REF = /^([a-z0-9][a-z0-9._-]*(:[0-9]+)?\/)*[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[0-9a-f]{64})?$/;

type PropSchema = {
  description?: string;
  type: string;
  default?: unknown;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  'x-secret'?: boolean;
  'x-fix'?: string;
};
type EnvSchema = { properties: Record<string, PropSchema> };

export const envSchema = schemaJson as unknown as EnvSchema;
export const settingKeys = Object.keys(envSchema.properties) as SettingKey[];

export function isSecretKey(key: string): boolean {
  return envSchema.properties[key]?.['x-secret'] === true;
}

export type Problem = { key: string; message: string };

/** Points the scripts at another settings file than env/.env (e.g. one per cluster). */
export const ENV_FILE_VAR = 'TASKFLOW_ENV_FILE';

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/;

/**
 * Checks the shape of a dotenv file line by line (dotenv itself silently drops lines it cannot
 * read, which would hide a typo), then parses it with dotenv. Returns the values, the line of
 * each key, and the lines that are not KEY=value.
 */
export function parseEnvText(text: string, fileLabel: string): {
  values: Record<string, string>;
  lines: Record<string, number>;
  problems: Problem[];
} {
  const problems: Problem[] = [];
  const lines: Record<string, number> = {};
  const rows = text.split(/\r?\n/);
  let openQuote: string | undefined;
  rows.forEach((raw, i) => {
    if (openQuote) {
      if (raw.includes(openQuote)) openQuote = undefined;
      return;
    }
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const m = LINE.exec(raw);
    if (!m) {
      problems.push({
        key: `${fileLabel}:${i + 1}`,
        message: `is not a KEY=value line. Fix: write it as NAME=value, or start it with # to make it a comment`,
      });
      return;
    }
    const key = m[1] as string;
    const value = (m[2] ?? '').trim();
    if (lines[key] !== undefined) {
      problems.push({
        key,
        message: `is set twice (${fileLabel} lines ${lines[key]} and ${i + 1}). Fix: keep one of them`,
      });
    }
    lines[key] = i + 1;
    const q = value[0];
    if ((q === '"' || q === "'" || q === '`') && value.indexOf(q, 1) === -1) openQuote = q;
  });
  if (openQuote) {
    problems.push({ key: fileLabel, message: `has a quote (${openQuote}) that is never closed. Fix: close it` });
  }
  return { values: parseDotenv(text), lines, problems };
}

function describeSource(source: Source | undefined): string {
  if (!source) return '';
  switch (source.kind) {
    case 'file':
      return ` (${source.path}:${source.line})`;
    case 'env':
      return ' (from the environment)';
    case 'flag':
      return ` (from ${source.flag})`;
    default:
      return '';
  }
}

/** Turns one ajv error into a sentence about the key, never quoting a secret value. */
function explain(err: ErrorObject, raw: Record<string, string>, sources: Config['sources']): Problem {
  const key = err.instancePath.replace(/^\//, '');
  const prop = envSchema.properties[key];
  const secret = prop?.['x-secret'] === true;
  const value = raw[key];
  const shown = secret ? 'the value' : JSON.stringify(value);
  let what: string;
  switch (err.keyword) {
    case 'type':
      what = `${shown} is not ${prop?.type === 'integer' ? 'a whole number' : `a ${prop?.type}`}`;
      break;
    case 'enum':
      what = `${shown} is not allowed`;
      break;
    case 'minimum':
    case 'maximum':
      what = `${shown} is out of range`;
      break;
    case 'minLength':
      what = `is ${value?.length ?? 0} characters long, needs at least ${prop?.minLength}`;
      break;
    case 'pattern':
      what = `${shown} has the wrong form`;
      break;
    default:
      what = err.message ?? 'is invalid';
  }
  const fix = prop?.['x-fix'] ?? prop?.description ?? '';
  const dflt = prop?.default !== undefined && prop.default !== '' ? ` (default ${JSON.stringify(prop.default)})` : '';
  return { key, message: `${what}${describeSource(sources[key as SettingKey])}. Fix: ${fix}${dflt}` };
}

// validateSchema: false — checking our own schema against the draft-07 meta-schema compiled that
// meta-schema on every start of every command, about half of ajv's start-up CPU; the config test
// checks the schema once instead. Compiled once and kept in .cache/schemas/ (see compiled-schema.ts).
const validate = compiledSchema(schemaJson, { allErrors: true, coerceTypes: true, useDefaults: true, strict: false, validateSchema: false });

export type LoadOptions = {
  root: string;
  /** Defaults to $TASKFLOW_ENV_FILE, then <root>/env/.env. */
  envFile?: string;
  /** Process environment; only TASKFLOW_* keys are read from it (generic names like DATABASE_URL could belong to another project). */
  env?: Record<string, string | undefined>;
  /** The app declaration, when already loaded (else it is read from env/app.yaml or TASKFLOW_APP_FILE). */
  app?: App;
  /** Values from command-line flags, with the flag that set each (settings, or a component's TASKFLOW_<NAME>_PORT). */
  flags?: Partial<Record<string, { value: string; flag: string }>>;
};

/** The keys a settings layer may set besides the toolkit's: the app's own, and TASKFLOW_<NAME>_PORT / _BASE_IMAGE of each component. */
type OtherKeys = { appKeys: string[]; perComponent: Map<string, { component: string; kind: 'port' | 'image' }> };

/** Each value the layers give, sorted by what it sets, with where it came from; unknown keys become problems. */
type Layered = {
  raw: Record<string, string>;
  sources: Config['sources'];
  componentRaw: Record<string, { value: string; source: Source }>;
  appRaw: Record<string, string>;
  appSources: Record<string, Source>;
  problems: Problem[];
};

/**
 * Pure core of loadConfig: merges defaults < file < TASKFLOW_* env < flags, validates, and returns
 * the settings or every problem found.
 */
export function resolveSettings(
  file: { values: Record<string, string>; lines: Record<string, number>; label: string },
  env: Record<string, string | undefined>,
  flags: LoadOptions['flags'] = {},
  declared: Record<string, AppSetting> = {},
  components: Record<string, { localPort?: number }> = {},
): { settings?: Settings; appValues: Record<string, string>; components: Record<string, ComponentSettings>; sources: Config['sources']; problems: Problem[] } {
  // TASKFLOW_<NAME>_PORT and TASKFLOW_<NAME>_BASE_IMAGE of each declared component.
  const perComponent: OtherKeys['perComponent'] = new Map();
  for (const name of Object.keys(components)) {
    perComponent.set(portSetting(name), { component: name, kind: 'port' });
    perComponent.set(baseImageSetting(name), { component: name, kind: 'image' });
  }
  // The app's own settings (declared in env/app.yaml) that are not the toolkit's.
  const other: OtherKeys = { appKeys: Object.keys(declared).filter((k) => !(k in envSchema.properties)), perComponent };
  const layered: Layered = { raw: {}, sources: {}, componentRaw: {}, appRaw: {}, appSources: {}, problems: [] };
  addFileLayer(layered, file, other);
  addEnvLayer(layered, env, other);
  addFlagLayer(layered, flags, other);
  const { raw, sources, problems } = layered;
  for (const key of settingKeys) if (isSecretKey(key)) registerSecret(raw[key]);
  // An empty value means "not set": the default applies (and a missing secret is generated by setup).
  for (const key of Object.keys(raw)) if (raw[key] === '') delete raw[key];

  const appValues = checkAppValues(other.appKeys, declared, layered, problems);
  const componentSettings = checkComponentSettings(components, layered.componentRaw, perComponent, problems);

  const data: Record<string, unknown> = { ...raw };
  if (!validate(data)) {
    for (const err of validate.errors ?? []) {
      if (err.keyword === 'additionalProperties') continue; // reported above with a hint
      problems.push(explain(err, raw, sources));
    }
  }
  if (problems.length > 0) return { sources, appValues, components: componentSettings, problems };
  return { settings: data as Settings, appValues, components: componentSettings, sources, problems };
}

/** A key no layer may set: where its retired setting went now, or the closest known name. */
function unknownSetting(key: string, where: string, fix: string, other: OtherKeys): Problem {
  const retired = RETIRED[key];
  const hint = closest(key, [...settingKeys, ...other.appKeys, ...other.perComponent.keys()]);
  return { key, message: retired ? `is no longer a setting (${where}). Fix: ${retired}` : `is not a known setting (${where}). Fix: ${hint ? `did you mean ${hint}? ` : ''}${fix}` };
}

/** The settings file's values: every key it sets must be known. */
function addFileLayer(l: Layered, file: { values: Record<string, string>; lines: Record<string, number>; label: string }, other: OtherKeys): void {
  for (const [key, value] of Object.entries(file.values)) {
    if (other.perComponent.has(key)) {
      l.componentRaw[key] = { value, source: { kind: 'file', path: file.label, line: file.lines[key] ?? 0 } };
      continue;
    }
    if (other.appKeys.includes(key)) {
      l.appRaw[key] = value;
      l.appSources[key] = { kind: 'file', path: file.label, line: file.lines[key] ?? 0 };
      continue;
    }
    if (!(key in envSchema.properties)) {
      l.problems.push(unknownSetting(key, `${file.label}:${file.lines[key] ?? '?'}`, 'see env/.env.example for every setting', other));
      continue;
    }
    l.raw[key] = value;
    l.sources[key as SettingKey] = { kind: 'file', path: file.label, line: file.lines[key] ?? 0 };
  }
}

/** The process environment's values: the app's declared settings, and the TASKFLOW_* variables (which must be known). */
function addEnvLayer(l: Layered, env: Record<string, string | undefined>, other: OtherKeys): void {
  for (const [key, value] of Object.entries(env)) {
    if (other.appKeys.includes(key) && value !== undefined) {
      l.appRaw[key] = value;
      l.appSources[key] = { kind: 'env' };
      continue;
    }
    if (!key.startsWith('TASKFLOW_') || key === ENV_FILE_VAR || key === APP_FILE_VAR || value === undefined) continue;
    if (other.perComponent.has(key)) {
      l.componentRaw[key] = { value, source: { kind: 'env' } };
      continue;
    }
    if (!(key in envSchema.properties)) {
      l.problems.push(unknownSetting(key, 'from the environment', 'unset it', other));
      continue;
    }
    l.raw[key] = value;
    l.sources[key as SettingKey] = { kind: 'env' };
  }
}

/** The flags' values, last and strongest. */
function addFlagLayer(l: Layered, flags: NonNullable<LoadOptions['flags']>, other: OtherKeys): void {
  for (const [key, f] of Object.entries(flags)) {
    if (!f) continue;
    if (other.perComponent.has(key)) {
      l.componentRaw[key] = { value: f.value, source: { kind: 'flag', flag: f.flag } };
      continue;
    }
    l.raw[key] = f.value;
    l.sources[key as SettingKey] = { kind: 'flag', flag: f.flag };
  }
}

/** The app's settings, checked against their declaration, with their defaults applied; a secret's value is never quoted. */
function checkAppValues(appKeys: string[], declared: Record<string, AppSetting>, l: Pick<Layered, 'appRaw' | 'appSources'>, problems: Problem[]): Record<string, string> {
  const appValues: Record<string, string> = {};
  for (const key of appKeys) {
    const d = declared[key] as AppSetting;
    const value = l.appRaw[key] ?? '';
    if (d.secret) registerSecret(value);
    const where = describeSource(l.appSources[key]);
    if (value === '') {
      if (d.default !== undefined) appValues[key] = String(d.default);
      else if (d.required && !d.generate) problems.push({ key, message: `is required by the app and not set${where}. Fix: set it in env/.env${d.description ? ` (${d.description})` : ''}` });
      continue;
    }
    // A generated secret's length is its floor, so a hand-set short one is refused like a bad pattern.
    const min = d.minLength ?? (d.secret ? d.generate : undefined);
    if (min !== undefined && value.length < min) {
      problems.push({ key, message: `is ${value.length} characters long, needs at least ${min}${where}. Fix: a longer value${d.generate ? `, or delete the line and setup generates one of ${d.generate}` : ''}` });
      continue;
    }
    if (d.pattern !== undefined && !new RegExp(d.pattern).test(value)) {
      problems.push({ key, message: `${d.secret ? 'the value' : JSON.stringify(value)} has the wrong form${where}. Fix: a value matching ${d.pattern}${d.description ? ` (${d.description})` : ''}` });
      continue;
    }
    appValues[key] = value;
  }
  return appValues;
}

/** Each component's local port and base image: the override, checked, else the declaration. */
function checkComponentSettings(components: Record<string, { localPort?: number }>, componentRaw: Layered['componentRaw'], perComponent: OtherKeys['perComponent'], problems: Problem[]): Record<string, ComponentSettings> {
  const componentSettings: Record<string, ComponentSettings> = {};
  for (const [name, declaredComponent] of Object.entries(components)) componentSettings[name] = { localPort: declaredComponent.localPort, baseImage: '' };
  for (const [key, { value, source }] of Object.entries(componentRaw)) {
    const { component, kind } = perComponent.get(key) as { component: string; kind: 'port' | 'image' };
    const target = componentSettings[component] as ComponentSettings;
    const shown = `${JSON.stringify(value)}${describeSource(source)}`;
    if (value === '') continue;
    if (kind === 'port') {
      const port = Number(value);
      if (!PORT_VALUE.test(value) || port < 1 || port > 65535) problems.push({ key, message: `${shown} is not a port. Fix: a port from 1 to 65535 (${component}'s local port for port-forward)` });
      else target.localPort = port;
    } else if (!IMAGE_REF.test(value)) problems.push({ key, message: `${shown} has the wrong form. Fix: an image reference such as mirror.example.com/library/python:3.12-slim, or empty (${component}'s BASE_IMAGE build argument)` });
    else target.baseImage = value;
  }
  return componentSettings;
}

/** Formats problems as the one list users see. */
export function formatProblems(problems: Problem[], where: string): string {
  const n = problems.length;
  return `${where} has ${n} problem${n === 1 ? '' : 's'}:\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}`;
}

/** Loads and validates the configuration; throws InputError (exit code 2) listing every problem. */
export function loadConfig(opts: LoadOptions): Config {
  const env = opts.env ?? process.env;
  const envFile = opts.envFile ?? (env[ENV_FILE_VAR] ? resolve(env[ENV_FILE_VAR]) : join(opts.root, 'env', '.env'));
  const rel = relative(opts.root, envFile);
  const label = rel && !rel.startsWith('..') ? rel.split('\\').join('/') : envFile;
  const envFileExists = existsSync(envFile);
  const parsed = envFileExists
    ? parseEnvText(readFileSync(envFile, 'utf8'), label)
    : { values: {}, lines: {}, problems: [] };
  const app = opts.app ?? loadApp(opts.root, env);
  const resolved = resolveSettings({ values: parsed.values, lines: parsed.lines, label }, env, opts.flags, app.settings, app.components);
  const problems = [...parsed.problems, ...resolved.problems];
  // What resolveSettings cannot see: a base image a Dockerfile cannot take, a profile file with an app's keys.
  for (const [name, c] of Object.entries(resolved.components)) {
    const declared = app.components[name];
    const why = c.baseImage && declared ? baseImageProblem(declared.build.dockerfile, baseImageArg(declared), `${name}'s Dockerfile`) : undefined;
    if (why) problems.push({ key: baseImageSetting(name), message: `is set, but ${why}` });
  }
  if (resolved.settings) problems.push(...profileProblems(opts.root, resolved.settings.TASKFLOW_PROFILE));
  if (problems.length > 0 || !resolved.settings) {
    throw new InputError(
      formatProblems(problems, 'The configuration'),
      `Fix each setting where it was set (${label}, a TASKFLOW_* variable or a flag; every setting is documented in env/.env.example) and rerun.`,
    );
  }
  return { root: opts.root, envFile, envFileExists, settings: resolved.settings, sources: resolved.sources, app, appValues: resolved.appValues, components: resolved.components };
}
