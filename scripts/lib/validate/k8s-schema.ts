// Validates rendered objects against the Kubernetes OpenAPI schemas shipped by kubernetes-models
// (validators ajv compiled ahead of time), so a wrong type or malformed quantity is caught without
// a cluster. A kind's model is loaded the first time an object of that kind is checked: loading
// every model up front cost more CPU than all the rest of `validate --static`.
import { createRequire } from 'node:module';
import { UserError } from '../core/errors.ts';
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

// require rather than import(): a model pulls in about 200 small generated files, and the CommonJS
// loader reads them at well under half the CPU the ESM loader (behind tsx's hooks) takes.
const require = createRequire(import.meta.url);
const models = new Map<string, Model>();

/** The model of apiVersion/kind, loaded on first use; kubernetes-models has one entry point per kind under that path. */
function modelOf(key: string): Model | undefined {
  if (!knownKinds.has(key)) return undefined;
  let model = models.get(key);
  if (!model) {
    const kind = key.slice(key.lastIndexOf('/') + 1);
    model = (require(`kubernetes-models/${key}`) as Record<string, Model | undefined>)[kind];
    if (!model) throw new UserError(`kubernetes-models/${key} does not export ${kind}`, 'The installed kubernetes-models does not match package-lock.json: run npm ci.');
    models.set(key, model);
  }
  return model;
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
