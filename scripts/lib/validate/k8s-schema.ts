// Validates rendered objects against the Kubernetes OpenAPI schemas shipped by kubernetes-models
// (validators ajv compiled ahead of time), so a wrong type or malformed quantity is caught without
// a cluster. A kind's model is loaded the first time an object of that kind is checked: loading
// every model up front cost more CPU than all the rest of `validate --static`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { keepFile, keptDir } from '../core/kept-file.ts';
import { projectRoot } from '../paths.ts';
import type { K8sObject } from './policy.ts';

type Model = new (data: never) => { validate(): void };

/** The kinds the chart may render, as apiVersion/kind; any other is reported as having no known schema. */
const knownKinds = new Set([
  'v1/ConfigMap',
  'v1/Pod',
  'v1/Secret',
  'v1/Service',
  'v1/ServiceAccount',
  'v1/PersistentVolumeClaim',
  'apps/v1/Deployment',
  'apps/v1/StatefulSet',
  'batch/v1/Job',
  'networking.k8s.io/v1/Ingress',
  'networking.k8s.io/v1/NetworkPolicy',
  'autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget',
]);

// require rather than import(): the CommonJS loader reads kubernetes-models' generated files at
// well under half the CPU the ESM loader (behind tsx's hooks) takes.
const require = createRequire(import.meta.url);
const models = new Map<string, Model>();
type Loaders = Record<string, () => Model | undefined>;
let loaders: Loaders | undefined;

const kindOf = (key: string) => key.slice(key.lastIndexOf('/') + 1);

/**
 * A loader per known kind, from one file. kubernetes-models spreads the known kinds over about
 * 280 small files (1.1 MB), and node loading them one by one cost about 60 ms of CPU, a tenth of
 * validate --static; joined into one file they load in about 20. esbuild, which builds the
 * commands' bundles too, joins them the first time into .cache/kubernetes-models/, under a hash of
 * package-lock.json and the kinds, so another install gets a file of its own. A kind's code still
 * runs only when an object of that kind is first checked. Should the join fail, the loaders read
 * the package's files as before.
 */
function loadersOf(): Loaders {
  loaders ??= joinedModels() ?? Object.fromEntries([...knownKinds].map((k) => [k, () => (require(`kubernetes-models/${k}`) as Record<string, Model | undefined>)[kindOf(k)]]));
  return loaders;
}

/** The loaders from the joined file: the kept one, else joined now; undefined when that fails. */
function joinedModels(): Loaders | undefined {
  try {
    const kinds = [...knownKinds];
    const lock = readFileSync(join(projectRoot, 'package-lock.json'));
    const file = join(keptDir('kubernetes-models'), `${createHash('sha256').update(lock).update(JSON.stringify(kinds)).digest('hex').slice(0, 32)}.cjs`);
    try {
      return require(file) as Loaders;
    } catch {
      // Not joined yet: join below.
    }
    const entry = kinds.map((k) => `  ${JSON.stringify(k)}: () => require(${JSON.stringify(`kubernetes-models/${k}`)})[${JSON.stringify(kindOf(k))}],`);
    const contents = `module.exports = {\n${entry.join('\n')}\n};\n`;
    const joined = keepFile(file, (path) => {
      const { buildSync } = require('esbuild') as typeof import('esbuild');
      buildSync({ stdin: { contents, resolveDir: projectRoot, loader: 'js' }, bundle: true, platform: 'node', format: 'cjs', outfile: path, logLevel: 'silent' });
    });
    return joined ? (require(file) as Loaders) : undefined;
  } catch {
    return undefined;
  }
}

/** The model of apiVersion/kind, loaded on first use. */
function modelOf(key: string): Model | undefined {
  if (!knownKinds.has(key)) return undefined;
  let model = models.get(key);
  if (!model) {
    model = loadersOf()[key]?.();
    if (!model) throw new UserError(`kubernetes-models/${key} does not export ${kindOf(key)}`, 'The installed kubernetes-models does not match package-lock.json: run npm ci.');
    models.set(key, model);
  }
  return model;
}

/** The kinds whose model has been loaded so far, as apiVersion/kind. */
export function loadedKinds(): string[] {
  return [...models.keys()];
}

/** Returns the schema problems of one object; an apiVersion/kind without a known schema is a problem too. */
export function schemaProblems(obj: K8sObject): string[] {
  const Model = modelOf(`${obj.apiVersion}/${obj.kind}`);
  if (!Model) return [`no schema known for ${obj.apiVersion} ${obj.kind}`];
  try {
    new Model(obj as never).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: { instancePath?: string; message?: string }[] }).errors;
    if (!errors) return [(err as Error).message];
    // ajv reports every branch of a oneOf; keep the distinct paths and the first message of each.
    const byPath = new Map<string, string>();
    for (const e of errors) if (!byPath.has(e.instancePath ?? '')) byPath.set(e.instancePath ?? '', e.message ?? 'invalid');
    return [...byPath].map(([path, message]) => `${path || '/'} ${message}`);
  }
}
