// The values setup sends helm on stdin: helm reads them as YAML 1.1 (sigs.k8s.io/yaml on go-yaml),
// where yes, on, n and off are booleans. The real helm renders them here, so a value that arrives
// as a boolean fails the schema or renders as true/false.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { toYaml } from '../../scripts/lib/tools/helm.ts';
import { dig, find, render } from '../lib/chart.ts';

const Stdin = suite('values on stdin');

for (const word of ['yes', 'on', 'n', 'off', 'Y', 'NO']) {
  Stdin(`a setting whose value is "${word}" reaches the pods as that string`, async () => {
    const objects = await render({ values: toYaml({ components: { backend: { env: { APP_MODULE: word, CORS_ORIGINS: word } } }, ingress: { host: 'taskflow.local' } }) });
    const cm = find(objects, 'ConfigMap', 'demo-taskflow-backend');
    assert.is(dig(cm, 'data.APP_MODULE'), word);
    assert.is(dig(cm, 'data.CORS_ORIGINS'), word);
  });
}

Stdin('numbers and booleans stay what they are', async () => {
  const objects = await render({ values: toYaml({ components: { backend: { replicaCount: 3 } }, ingress: { enabled: false } }) });
  assert.is(dig(find(objects, 'Deployment', 'demo-taskflow-backend'), 'spec.replicas'), 3);
  assert.not.ok(objects.some((o) => o.kind === 'Ingress'));
});

Stdin.run();
