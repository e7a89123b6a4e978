// Validates rendered objects against the Kubernetes OpenAPI schemas shipped by kubernetes-models
// (ajv under the hood), so a wrong type or malformed quantity is caught without a cluster.
import { ConfigMap, Pod, Secret, Service, ServiceAccount, PersistentVolumeClaim } from 'kubernetes-models/v1';
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import type { K8sObject } from './policy.ts';

type Model = new (data: never) => { validate(): void };

const models: Record<string, Model> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Pod': Pod,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'apps/v1/Deployment': Deployment,
  'apps/v1/StatefulSet': StatefulSet,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/Ingress': Ingress,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

/** Returns the schema problems of one object; an apiVersion/kind without a known schema is a problem too. */
export function schemaProblems(obj: K8sObject): string[] {
  const Model = models[`${obj.apiVersion}/${obj.kind}`];
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
