// The chart on each helm of the version matrix (3.12.1, the oldest supported; 3.17.3; 4.1.4):
// `helm lint` and `helm template` with values.yaml alone, values-dev.yaml and values-prod.yaml. Each
// render passes the Kubernetes schemas and the policies, and every version renders the same objects.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Exec } from '../../scripts/lib/core/exec.ts';
import { schemaProblems } from '../../scripts/lib/validate/k8s-schema.ts';
import { checkPolicies, ref } from '../../scripts/lib/validate/policy.ts';
import { Helm } from '../../scripts/lib/tools/helm.ts';
import { chartDir, devValues, prodValues, render } from '../lib/chart.ts';
import { defaultSpec, matrix, provision } from '../lib/tool-versions.ts';

const valueSets: Record<string, string[]> = {
  'values.yaml': [],
  'values-dev.yaml': [devValues],
  'values-prod.yaml': [prodValues],
};
// Fixed secrets: without them the chart generates random ones and no two renders are alike.
const fixedSecrets = ['secrets.betterAuthSecret=0123456789abcdef0123456789abcdef', 'postgresql.auth.password=0123456789abcdef'];

const tools = await Promise.all(matrix.map((spec) => provision(spec)));
const reference = tools.find((t) => t.spec === defaultSpec)!;

const Versions = suite('the chart on each helm version');

for (const t of tools) {
  const helm = new Helm(new Exec(), t.helm);
  for (const [label, files] of Object.entries(valueSets)) {
    Versions(`helm ${t.spec.helm}: lint with ${label} passes without an error or a warning`, async () => {
      const out = await helm.lint(chartDir, files);
      assert.ok(out.ok, out.output);
      assert.match(out.output, /1 chart\(s\) linted, 0 chart\(s\) failed/);
      assert.not.match(out.output, /\[(ERROR|WARNING)\]/, out.output);
    });

    Versions(`helm ${t.spec.helm}: template with ${label} renders objects that pass the schemas and every policy`, async () => {
      const objects = await render({ files, bin: t.helm });
      assert.ok(objects.length >= 8, `only ${objects.length} objects rendered`);
      assert.equal(objects.flatMap((o) => schemaProblems(o).map((p) => `${ref(o)}: ${p}`)), []);
      assert.equal(checkPolicies(objects).map((f) => `${f.check}: ${f.object}: ${f.message}`), []);
    });

    if (t !== reference) {
      Versions(`helm ${t.spec.helm}: template with ${label} renders the same objects as helm ${reference.spec.helm}`, async () => {
        const [ours, theirs] = await Promise.all([render({ files, set: fixedSecrets, bin: t.helm }), render({ files, set: fixedSecrets, bin: reference.helm })]);
        assert.equal(ours, theirs);
      });
    }
  }
}

Versions.run();
