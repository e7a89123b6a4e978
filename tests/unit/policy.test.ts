// Each policy check finds the violation it exists for, on a small hand-made object.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { checkPolicies, type K8sObject } from '../../scripts/lib/validate/policy.ts';

function deployment(patch: (d: any) => void = () => {}): K8sObject {
  const d: any = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web' },
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 1000, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'web',
              image: 'web:1',
              ports: [{ name: 'http', containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/', port: 'http' } },
              livenessProbe: { httpGet: { path: '/', port: 'http' } },
              resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '64Mi' } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
            },
          ],
        },
      },
    },
  };
  patch(d);
  return d;
}
const service = (targetPort: string | number, selector = { app: 'web' }): K8sObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web' },
  spec: { selector, ports: [{ name: 'http', port: 80, targetPort }] },
});
const checksOf = (objs: K8sObject[]) => checkPolicies(objs).map((f) => `${f.check}: ${f.message}`);

const Policy = suite('policy checks');

Policy('a compliant deployment and service pass every check', () => {
  assert.equal(checksOf([deployment(), service('http')]), []);
});

Policy('a container that may escalate, keeps capabilities or runs as root fails pod security', () => {
  const found = checksOf([
    deployment((d) => {
      const c = d.spec.template.spec.containers[0];
      c.securityContext = { readOnlyRootFilesystem: true };
      d.spec.template.spec.securityContext = { runAsUser: 0 };
    }),
  ]).filter((m) => m.startsWith('pod security'));
  assert.ok(found.some((m) => m.includes('allowPrivilegeEscalation')));
  assert.ok(found.some((m) => m.includes('drop ALL')));
  assert.ok(found.some((m) => m.includes('runAsNonRoot')));
  assert.ok(found.some((m) => m.includes('runs as user 0')));
  assert.ok(found.some((m) => m.includes('seccomp')));
});

Policy('a writable root filesystem and a hostPath volume fail pod security', () => {
  const found = checksOf([
    deployment((d) => {
      d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false;
      d.spec.template.spec.volumes = [{ name: 'docker', hostPath: { path: '/var/run/docker.sock' } }];
    }),
  ]);
  assert.ok(found.some((m) => m.includes('readOnlyRootFilesystem')));
  assert.ok(found.some((m) => m.includes('hostPath')));
});

Policy('a deployment without a readiness probe is reported', () => {
  assert.equal(checksOf([deployment((d) => delete d.spec.template.spec.containers[0].readinessProbe)]), ['probes: container web has no readinessProbe']);
});

Policy('a container that listens on no port (a worker) may have no probes, one with a port may not', () => {
  const withoutProbes = (ports: unknown) =>
    deployment((d) => {
      const c = d.spec.template.spec.containers[0];
      delete c.readinessProbe;
      delete c.livenessProbe;
      c.ports = ports;
    });
  assert.equal(checksOf([withoutProbes(undefined)]), []);
  assert.equal(checksOf([withoutProbes([])]), []);
  assert.equal(checksOf([withoutProbes([{ name: 'http', containerPort: 8080 }])]), ['probes: container web has no readinessProbe or livenessProbe']);
});

Policy('a container without a memory limit is reported', () => {
  assert.equal(checksOf([deployment((d) => delete d.spec.template.spec.containers[0].resources.limits)]), ['requests and limits: container web has no limits.memory']);
});

Policy('secret-looking ConfigMap keys, credential URLs and literal secret env values are reported', () => {
  const cm: K8sObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { API_TOKEN: 'x', DB: 'postgresql://u:pw@h/db', LOG_LEVEL: 'info' } };
  const found = checksOf([cm, deployment((d) => (d.spec.template.spec.containers[0].env = [{ name: 'JWT_SECRET', value: 'abc' }, { name: 'MODE', value: 'fast' }]))]);
  assert.equal(found, [
    'no secrets in plain config: key API_TOKEN looks like a secret; keep it in a Secret',
    'no secrets in plain config: key DB holds a URL with credentials; keep it in a Secret',
    'no secrets in plain config: container web sets JWT_SECRET as a literal value; use a secretKeyRef',
  ]);
});

Policy('a selector that misses its own pod labels is reported', () => {
  assert.equal(checksOf([deployment((d) => (d.spec.selector.matchLabels = { app: 'api' }))]), ['selectors match pod labels: selector {"app":"api"} does not match its pod labels']);
});

Policy('a Service that selects nothing, or targets a port nobody exposes, is reported', () => {
  assert.equal(checksOf([deployment(), service('http', { app: 'nothing' })]), ['selectors match pod labels: selector {"app":"nothing"} matches no pod of this release']);
  assert.equal(checksOf([deployment(), service(9090)]), ['services target container ports: port http targets 9090, which no selected container exposes']);
  assert.equal(checksOf([deployment(), service(8080)]), []);
});

Policy('an Ingress that routes to a missing Service or port is reported', () => {
  const ingress = (name: string, port: object): K8sObject => ({
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'i' },
    spec: { rules: [{ http: { paths: [{ path: '/', backend: { service: { name, port } } }] } }] },
  });
  assert.equal(checksOf([deployment(), service('http'), ingress('web', { name: 'http' })]), []);
  assert.equal(checksOf([deployment(), service('http'), ingress('api', { name: 'http' })]), ['ingress backends exist: path / routes to service api, which does not exist']);
  assert.equal(checksOf([deployment(), service('http'), ingress('web', { number: 8080 })]), ['ingress backends exist: path / routes to web port 8080, which that service does not have']);
});

Policy.run();
