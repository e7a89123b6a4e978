// The Kubernetes schema check on small hand-made objects, and that a kind's model loads only when needed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { loadedKinds, schemaProblems } from '../../scripts/lib/validate/k8s-schema.ts';
import type { K8sObject } from '../../scripts/lib/validate/policy.ts';

const loaded = (kind: string) => loadedKinds().includes(kind);

const pdb = (spec: Record<string, unknown>): K8sObject => ({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', metadata: { name: 'web' }, spec }) as K8sObject;

const Schema = suite('kubernetes schemas');

Schema('a kind is loaded the first time an object of it is checked, not before', () => {
  assert.not.ok(loaded('policy/v1/PodDisruptionBudget'));
  assert.not.ok(loaded('apps/v1/Deployment'));
  assert.equal(schemaProblems(pdb({ minAvailable: 1, selector: { matchLabels: { app: 'web' } } })), []);
  assert.ok(loaded('policy/v1/PodDisruptionBudget'));
  assert.not.ok(loaded('apps/v1/Deployment'));
});

Schema('a field of the wrong type is reported at its path', () => {
  assert.equal(schemaProblems(pdb({ minAvailable: 1, selector: { matchLabels: 'app=web' } })), ['/spec/selector/matchLabels must be object']);
});

Schema('a kind the chart never renders has no known schema', () => {
  const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'reader' } } as K8sObject;
  assert.equal(schemaProblems(role), ['no schema known for rbac.authorization.k8s.io/v1 Role']);
});

Schema.run();
