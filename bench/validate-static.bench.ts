// Wall time of `validate --static` next to a bare `helm template` of the same chart and profile.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureHelm } from '../scripts/lib/tools/helm-binary.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const RUNS = 5;

function time(cmd: string, args: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { cwd: root, stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}`);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out.sort((a, b) => a - b);
}

const helm = await ensureHelm(root);
const chart = join(root, 'helm', 'taskflow');
const rows = [
  ['helm template (dev)', time(helm, ['template', 'taskflow', chart, '-f', join(chart, 'values-dev.yaml')])],
  ['helm template (dev) + (prod)', time(process.execPath, ['-e', `
    const { execFileSync } = require('node:child_process');
    for (const p of ['dev', 'prod']) execFileSync(${JSON.stringify(helm)}, ['template', 'taskflow', ${JSON.stringify(chart)}, '-f', ${JSON.stringify(chart)} + '/values-' + p + '.yaml']);
  `])],
  ['validate --static (3 lints, dev + prod)', time(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'validate.ts'), '--static'])],
] as const;
console.log(`| command | median ms | min ms | max ms | runs |\n|---|---|---|---|---|`);
for (const [name, t] of rows) {
  console.log(`| ${name} | ${t[Math.floor(t.length / 2)]?.toFixed(0)} | ${t[0]?.toFixed(0)} | ${t.at(-1)?.toFixed(0)} | ${RUNS} |`);
}
