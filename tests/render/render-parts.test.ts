// The pure parts of render, without any process: the --out directory plan, the masking of values
// and Secrets, and the access URLs each driver gives without asking its cluster.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDocument } from 'yaml';
import { accessOf, accessOrigins, DockerDesktopCluster, KindCluster, MinikubeCluster } from '../../scripts/lib/cluster/drivers.ts';
import { manifestFileName, planManifestDir } from '../../scripts/lib/render/out-dir.ts';
import { MASK, maskedReleaseValues, maskSecretDocument } from '../../scripts/lib/core/masked.ts';
import type { Docker } from '../../scripts/lib/tools/docker.ts';
import type { Kind } from '../../scripts/lib/tools/kind.ts';
import type { Minikube } from '../../scripts/lib/tools/minikube.ts';

const OutDir = suite('render --out directory plan');

OutDir('a missing directory is created; an empty one is used as it is', () => {
  assert.equal(planManifestDir({ kind: 'missing' }, ['a.yaml'], 'out'), { ok: true, create: true, remove: [] });
  assert.equal(planManifestDir({ kind: 'directory', entries: [] }, ['a.yaml'], 'out'), { ok: true, create: false, remove: [] });
});

OutDir('a directory an earlier render wrote loses only the files of that render this one does not write', () => {
  const state = { kind: 'directory' as const, entries: ['deployment-a.yaml', 'service-a.yaml', 'service-b.yaml', 'kustomization.yaml'], written: ['deployment-a.yaml', 'service-a.yaml', 'service-b.yaml', 'gone-already.yaml'] };
  assert.equal(planManifestDir(state, ['deployment-a.yaml', 'service-a.yaml'], 'out'), { ok: true, create: false, remove: ['service-b.yaml'] });
});

OutDir('a list naming paths outside the directory, or files render never writes, removes none of them', () => {
  const state = { kind: 'directory' as const, entries: ['x.yaml'], written: ['../x.yaml', 'sub/x.yaml', 'notes.txt', '.hidden.yaml'] };
  assert.equal(planManifestDir(state, [], 'out'), { ok: true, create: false, remove: [] });
});

OutDir('a non-empty directory render did not write, or a file, is refused', () => {
  const refused = planManifestDir({ kind: 'directory', entries: ['README.md', '.git'] }, ['a.yaml'], 'gitops');
  assert.is(refused.ok, false);
  if (!refused.ok) assert.match(refused.problem, /--out gitops holds files render did not write \(README\.md, \.git\)/);
  assert.is(planManifestDir({ kind: 'not-a-directory' }, ['a.yaml'], 'f').ok, false);
});

OutDir('an object is written to <kind in lower case>-<name>.yaml', () => {
  assert.is(manifestFileName('HorizontalPodAutoscaler', 'taskflow-backend'), 'horizontalpodautoscaler-taskflow-backend.yaml');
});

const Masking = suite('masking of values and Secrets');

Masking('release values: every secret under secrets, the database password and an external URL are masked; an empty one and a Secret name are not', () => {
  const values = {
    components: { web: { env: { LOG_LEVEL: 'info' } } },
    secrets: { existingSecret: 'mine', betterAuthSecret: 'x'.repeat(40), openaiApiKey: '', extra: { API_TOKEN: 'tok-123456' } },
    postgresql: { auth: { username: 'taskflow', password: 'pw-123456' } },
    externalDatabase: { url: 'postgresql://u:p@db/x' },
  };
  assert.equal(maskedReleaseValues(values), {
    components: { web: { env: { LOG_LEVEL: 'info' } } },
    secrets: { existingSecret: 'mine', betterAuthSecret: MASK, openaiApiKey: '', extra: { API_TOKEN: MASK } },
    postgresql: { auth: { username: 'taskflow', password: MASK } },
    externalDatabase: { url: MASK },
  });
  assert.is(values.secrets.betterAuthSecret, 'x'.repeat(40), 'the values given are left as they were');
});

Masking('a Secret keeps its keys, each value masked (an empty one stays empty), as valid YAML; other kinds are left alone', () => {
  const doc = parseDocument('apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ndata:\n  A: "c2VjcmV0"\n  EMPTY: ""\nstringData:\n  B: plain\n');
  assert.equal(maskSecretDocument(doc), ['A', 'EMPTY', 'B']);
  assert.equal(parseDocument(doc.toString()).toJS(), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { A: MASK, EMPTY: '' }, stringData: { B: MASK } });
  const cm = parseDocument('kind: ConfigMap\ndata:\n  A: b\n');
  assert.is(maskSecretDocument(cm), undefined);
  assert.is(cm.toString(), 'kind: ConfigMap\ndata:\n  A: b\n');
});

const Access = suite('access URLs without a process');

const noProcess = new Proxy({}, { get: () => () => Promise.reject(new Error('a process was started')) });

Access('the URLs planned from the settings are those each driver\'s access() gives, so the origins render passes are setup’s', async () => {
  const lb = { web: 3000 };
  const minikube = { ip: async () => '192.168.49.2' } as unknown as Minikube;
  const drivers = [
    new MinikubeCluster(minikube, 'taskflow', noProcess as Docker),
    new KindCluster(noProcess as Kind, noProcess as Docker, 'taskflow'),
    new DockerDesktopCluster(noProcess as Docker, () => Promise.reject(new Error('a process was started'))),
  ];
  for (const d of drivers) {
    const planned = accessOf(d.driver, 'taskflow', 'taskflow.local', 3000, lb);
    const live = await d.access('taskflow.local', 3000, lb);
    assert.equal(accessOrigins(planned), accessOrigins(live), d.driver);
  }
  // On minikube only the hosts-file hint differs: the node's IP is a placeholder.
  const planned = accessOf('minikube', 'taskflow', 'taskflow.local', 3000, lb);
  assert.match(planned?.ingress?.steps[0] ?? '', /<minikube ip> taskflow\.local/);
  assert.equal(accessOrigins(planned!), ['http://localhost:3000', 'http://taskflow.local', 'http://127.0.0.1:3000']);
});

OutDir.run();
Masking.run();
Access.run();
