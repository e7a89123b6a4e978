// The persistence drill against a stand-in cluster and API: it must wait for the database pod it
// deleted to be replaced, not read the task back from a pod that is still on its way out.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { persistenceDrill } from '../../scripts/lib/validate/drills.ts';
import type { Session } from '../../scripts/lib/core/session.ts';
import type { KubeObject } from '../../scripts/lib/tools/kubectl.ts';

const Drill = suite('persistence drill');

const labels = { 'app.kubernetes.io/instance': 'taskflow', 'app.kubernetes.io/component': 'postgresql' };
const sts: KubeObject = { kind: 'StatefulSet', metadata: { name: 'taskflow-postgresql', labels }, status: { replicas: 1, readyReplicas: 1 } };
const pod = (uid: string, ready: boolean): KubeObject => ({
  kind: 'Pod',
  metadata: { name: 'taskflow-postgresql-0', uid, labels },
  status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

Drill('reads the task back only once the deleted database pod is replaced and ready', async () => {
  const events: string[] = [];
  // After the delete the old pod is still listed (and still counted ready), then its replacement
  // appears not ready, then ready: what a StatefulSet shows while it recreates a pod.
  const afterDelete = [[sts, pod('old', true)], [sts, pod('new', false)], [sts, pod('new', true)]];
  let deleted = false;
  const sn = {
    context: 'taskflow',
    scope: { namespace: 'taskflow', release: 'taskflow' },
    tools: {
      kubectl: {
        releaseObjects: async () => {
          const objs = deleted ? (afterDelete.shift() ?? [sts, pod('new', true)]) : [sts, pod('old', true)];
          events.push(`pods: ${objs.filter((o) => o.kind === 'Pod').map((o) => `${o.metadata.uid} ${(o.status?.conditions as { status: string }[])[0]?.status}`).join()}`);
          return objs;
        },
        deletePod: async (_c: string, _ns: string, name: string) => {
          events.push(`delete ${name}`);
          deleted = true;
        },
      },
    },
  } as unknown as Session;
  const tasks: { title: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      events.push(`${req.method} ${req.url}`);
      const send = (status: number, json: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      if (req.url === '/api/v1/auth/signup') return send(201, { access_token: 't' });
      if (req.method === 'POST' && req.url === '/api/v1/tasks') return send(201, tasks[tasks.push(JSON.parse(body) as { title: string }) - 1]);
      if (req.method === 'GET' && req.url === '/api/v1/tasks') return send(200, tasks);
      send(404, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const outcome = await persistenceDrill({ sn, url, objects: [sts, pod('old', true)], log: () => undefined });
    assert.equal(outcome, { ok: true, details: ['taskflow-postgresql-0 restarted and the task was read back'] });
    const after = events.slice(events.indexOf('delete taskflow-postgresql-0') + 1);
    assert.equal(after, ['pods: old True', 'pods: new False', 'pods: new True', 'GET /api/v1/tasks']);
  } finally {
    server.close();
  }
});

Drill.run();
