// A profile's values file carries operational settings only: the chart's own profile files and
// values.yaml hold no app's variables, and a profile file that sets one is refused, naming the key
// and where it belongs.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { appKeysIn, profileProblems } from '../../scripts/lib/app/profile-file.ts';
import { readValuesFile, type Values } from '../../scripts/lib/app/values.ts';
import { loadConfig } from '../../scripts/lib/app/config.ts';
import { InputError } from '../../scripts/lib/core/errors.ts';
import { root } from '../lib/chart.ts';

const Profile = suite('profile files hold operational settings only');
const chart = join(root, 'helm', 'taskflow');

Profile("the chart's profile files set no app key on any component", () => {
  for (const profile of ['dev', 'prod']) assert.equal(profileProblems(root, profile), [], profile);
});

Profile("values.yaml's components carry no app's variables or service URLs, so a component named like one inherits none", () => {
  const components = readValuesFile(join(chart, 'values.yaml')).components as Record<string, Values>;
  for (const [name, c] of Object.entries(components)) {
    assert.equal(c.env, {}, `${name}.env`);
    assert.equal(c.serviceUrls, {}, `${name}.serviceUrls`);
  }
});

Profile('each app key a profile sets on a component is named; operational keys are not', () => {
  const keys = appKeysIn({
    components: {
      backend: { replicaCount: 2, resources: { limits: { cpu: '1' } }, image: { pullPolicy: 'Never' }, env: { LOG_LEVEL: 'debug' }, probes: { readinessPath: '/x', readiness: { periodSeconds: 5 } } },
      web: { serviceUrls: { API: 'backend' }, secretEnv: ['X'], ingressPaths: ['/'], enabled: true },
    },
    autoscaling: { enabled: true },
  });
  assert.equal(keys, ['components.backend.env', 'components.backend.probes.readinessPath', 'components.web.enabled', 'components.web.serviceUrls', 'components.web.secretEnv', 'components.web.ingressPaths']);
});

Profile('a profile file with an app variable stops every command at the configuration (exit 2), naming the file, the key and the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'profile-'));
  try {
    mkdirSync(join(dir, 'helm', 'taskflow'), { recursive: true });
    mkdirSync(join(dir, 'env'));
    writeFileSync(join(dir, 'helm', 'taskflow', 'values-dev.yaml'), 'components:\n  backend:\n    env:\n      LOG_LEVEL: debug\n');
    const app = { name: 'x', components: {}, settings: {}, file: 'app.yaml' };
    assert.throws(
      () => loadConfig({ root: dir, env: {}, app }),
      (err: unknown) => err instanceof InputError && /helm\/taskflow\/values-dev\.yaml components\.backend\.env: describes the app/.test(err.message) && /profiles\.dev\.env/.test(err.message),
    );
    // Another profile's file is not read.
    loadConfig({ root: dir, env: { TASKFLOW_PROFILE: 'prod' }, app });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Profile.run();
