// The helm command lines the toolkit builds (scripts/lib/tools/helm.ts), checked against each helm of
// the version matrix: every flag is in that command's own `--help`, the real binary takes each whole
// command line (it gets as far as looking for the cluster, of which there is none here), the
// version-dependent flags are the ones that version has, and the fake helm fails on a bad flag with
// the real one's words.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Exec, type ExecResult, type RunOptions } from '../../scripts/lib/core/exec.ts';
import { Helm, HelmRelease, parseHelmVersion, type HelmVersion } from '../../scripts/lib/tools/helm.ts';
import { chartDir, devValues, root } from '../lib/chart.ts';
import { freshState } from '../lib/fake-machine.ts';
import { matrix, provision, type ToolSet } from '../lib/tool-versions.ts';

type Call = { args: string[]; input?: string };

/** Runs nothing: records each command line (and its stdin) and answers as helm would. */
class RecordingExec extends Exec {
  readonly calls: Call[] = [];
  constructor(private readonly version: string) {
    super();
  }
  override async run(_cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<ExecResult> {
    this.calls.push({ args: [...args], input: opts.input });
    const answers: Record<string, string> = { version: this.version, get: '{"components":{"backend":{"replicaCount":1}}}', history: '[]', status: '{"version":1,"info":{"status":"deployed"}}' };
    return { stdout: answers[args[0] ?? ''] ?? '', stderr: '', exitCode: 0 };
  }
}

const scope = { release: 'taskflow', namespace: 'taskflow', context: 'taskflow' };

/** Every helm command line the toolkit builds for this version, one of each kind. */
async function toolkitCalls(v: HelmVersion): Promise<Call[]> {
  const exec = new RecordingExec(v.raw);
  const helm = new Helm(exec, 'helm');
  const release = new HelmRelease(exec, 'helm');
  await helm.version();
  await helm.lint(chartDir, [devValues], ['components.backend.replicaCount=2']);
  await helm.template(chartDir, { release: 'taskflow', namespace: 'taskflow', valuesFiles: [devValues], set: ['components.backend.replicaCount=2'], stdinValues: 'components:\n  frontend:\n    replicaCount: 2\n' });
  await release.status(scope);
  await release.history(scope);
  await release.values(scope);
  await release.upgrade({ ...scope, chart: chartDir, valuesFiles: [devValues], stdinValues: 'components:\n  frontend:\n    replicaCount: 2\n', timeout: '10m', helm: v });
  await release.setValues({ ...scope, chart: chartDir, set: ['components.backend.replicaCount=2'], timeout: '5m', helm: v });
  await release.rollback(scope, 1, v, '10m');
  await release.uninstall(scope, '5m');
  return exec.calls;
}

const commandOf = (args: string[]) => (args[0] === 'get' ? args.slice(0, 2) : args.slice(0, 1));
const flagsIn = (args: string[]) => args.filter((a) => a.startsWith('-') && a !== '-').map((a) => a.split('=')[0]!);

const tmp = mkdtempSync(join(tmpdir(), 'taskflow-helm-flags-'));
// No kubeconfig, and helm's own directories in the scratch folder: nothing here can reach a cluster.
const isolated = { ...process.env, KUBECONFIG: join(tmp, 'no-kubeconfig'), HELM_CACHE_HOME: join(tmp, 'cache'), HELM_CONFIG_HOME: join(tmp, 'config'), HELM_DATA_HOME: join(tmp, 'data') };

function real(t: ToolSet, args: string[], input?: string) {
  const r = spawnSync(t.helm, args, { input, encoding: 'utf8', env: isolated });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** The long and short flag names in `helm <command> --help` (the command's own and the global ones). */
const helpCache = new Map<string, { text: string; flags: Set<string> }>();
function help(t: ToolSet, command: string[]): { text: string; flags: Set<string> } {
  const key = `${t.helm} ${command.join(' ')}`;
  let h = helpCache.get(key);
  if (!h) {
    const text = real(t, [...command, '--help']).stdout;
    const flags = new Set<string>();
    for (const m of text.matchAll(/^\s+(?:(-\w), )?(--[a-z0-9-]+)/gm)) {
      if (m[1]) flags.add(m[1]);
      flags.add(m[2]!);
    }
    h = { text, flags };
    helpCache.set(key, h);
  }
  return h;
}

/** The first line helm's error or warning output leads with, without client-go's log lines. */
const firstMessage = (stderr: string) => stderr.split('\n').find((l) => /^(Error|Flag) |^level=WARN /.test(l)) ?? stderr.trim();

/** A state on which the fake helm reaches its flag handling: a running cluster, its namespace. */
async function fakeState(t: ToolSet): Promise<string> {
  const s = await freshState();
  s.helm.version = t.spec.helm;
  s.helm.real = t.helm;
  s.kube.contexts.taskflow = 'kind:taskflow';
  s.kind.clusters.taskflow = { running: true, images: [] };
  s.kube.namespaces.taskflow = { taskflow: { phase: 'Active', polls: 0 } };
  const path = join(mkdtempSync(join(tmp, 'fake-')), 'state.json');
  writeFileSync(path, JSON.stringify(s));
  return path;
}

function fake(state: string, args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'tests', 'fakes', 'helm'), ...args], { encoding: 'utf8', env: { ...process.env, FAKE_CLI_STATE: state } });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const tools = await Promise.all(matrix.map((spec) => provision(spec)));
const Flags = suite('helm flags on each version');

for (const t of tools) {
  const v = parseHelmVersion(t.spec.helm)!;
  const calls = await toolkitCalls(v);
  const upgrade = calls.find((c) => c.args[0] === 'upgrade' && c.args[1] === '--install')!.args;
  const setValues = calls.find((c) => c.args[0] === 'upgrade' && c.args[1] !== '--install')!.args;

  Flags(`helm ${t.spec.helm}: every flag the toolkit passes is listed in that command's --help`, () => {
    const missing = calls.flatMap((c) => {
      const { flags } = help(t, commandOf(c.args));
      return flagsIn(c.args).filter((f) => !flags.has(f)).map((f) => `helm ${commandOf(c.args).join(' ')}: ${f}`);
    });
    assert.equal(missing, []);
  });

  Flags(`helm ${t.spec.helm}: takes every command line the toolkit builds, up to looking for the cluster`, () => {
    for (const c of calls) {
      const r = real(t, c.args, c.input);
      const shown = `helm ${c.args.join(' ')}\n${r.stderr}`;
      assert.not.match(r.stderr, /unknown (flag|shorthand)|invalid argument|flag needs an argument|accepts \d+ arg/, shown);
      if (c.args[0] === 'version') assert.is(r.stdout.trim(), t.spec.helm);
      else if (c.args[0] === 'lint' || c.args[0] === 'template') assert.is(r.code, 0, shown);
      else {
        assert.is(r.code, 1, shown);
        assert.match(firstMessage(r.stderr), /kubernetes cluster unreachable: context "taskflow" does not exist/i, shown);
      }
    }
  });

  if (v.major >= 4) {
    Flags(`helm ${t.spec.helm}: --wait takes a strategy, and the toolkit asks for watcher`, () => {
      assert.match(help(t, ['upgrade']).text, /--wait WaitStrategy\[=watcher\] .*'watcher'/);
      assert.ok(upgrade.includes('--wait=watcher'), upgrade.join(' '));
      assert.ok(setValues.includes('--wait=watcher'), setValues.join(' '));
    });
    Flags(`helm ${t.spec.helm}: lists --rollback-on-failure (Helm 3's --atomic), which the toolkit leaves off: it rolls back itself`, () => {
      const { flags } = help(t, ['upgrade']);
      assert.ok(flags.has('--rollback-on-failure'));
      assert.not.ok(flags.has('--atomic'));
      assert.not.ok(upgrade.includes('--rollback-on-failure') || upgrade.includes('--atomic'), upgrade.join(' '));
    });
  } else {
    Flags(`helm ${t.spec.helm}: --wait is a switch, and the toolkit passes it bare`, () => {
      assert.match(help(t, ['upgrade']).text, /^\s+--wait\s{2,}if set, will wait/m);
      assert.ok(upgrade.includes('--wait'), upgrade.join(' '));
      assert.not.ok(calls.some((c) => c.args.includes('--wait=watcher')));
    });
    Flags(`helm ${t.spec.helm}: lists --atomic and not --rollback-on-failure, and the toolkit passes neither`, () => {
      const { flags } = help(t, ['upgrade']);
      assert.ok(flags.has('--atomic'));
      assert.not.ok(flags.has('--rollback-on-failure'));
      assert.not.ok(upgrade.includes('--rollback-on-failure') || upgrade.includes('--atomic'), upgrade.join(' '));
    });
  }

  if (v.major === 3 && v.minor < 14) {
    Flags(`helm ${t.spec.helm}: has no --reset-then-reuse-values, so scale sends the release's values back on stdin`, () => {
      assert.not.ok(help(t, ['upgrade']).flags.has('--reset-then-reuse-values'));
      assert.not.ok(setValues.includes('--reset-then-reuse-values'), setValues.join(' '));
      assert.ok(setValues.includes('--values') && setValues.includes('-'), setValues.join(' '));
      assert.ok(calls.some((c) => c.args[0] === 'get' && c.args[1] === 'values'));
    });
  } else {
    Flags(`helm ${t.spec.helm}: has --reset-then-reuse-values, and scale uses it`, () => {
      assert.ok(help(t, ['upgrade']).flags.has('--reset-then-reuse-values'));
      assert.ok(setValues.includes('--reset-then-reuse-values'), setValues.join(' '));
    });
  }

  // Each flag alone that the real helm refuses or warns about, on an upgrade that would otherwise reach the cluster.
  const odd: string[][] = [['--wait=bogus']];
  if (v.major < 4) odd.push(['--wait=watcher'], ['--rollback-on-failure']);
  if (v.major === 3 && v.minor < 14) odd.push(['--reset-then-reuse-values']);
  if (v.major >= 4) odd.push(['--atomic'], ['--wait=true'], ['--wait=false']);
  Flags(`helm ${t.spec.helm}: the fake helm answers ${odd.map((b) => b.join(' ')).join(', ')} with the real one's first line`, async () => {
    const state = await fakeState(t);
    for (const flag of odd) {
      const args = ['upgrade', 'taskflow', chartDir, '--namespace', 'taskflow', '--kube-context', 'taskflow', '--timeout', '5m', ...flag];
      const want = firstMessage(real(t, args).stderr);
      const got = firstMessage(fake(state, args).stderr);
      assert.is(got, want, flag.join(' '));
    }
  });
}

Flags.after(() => rmSync(tmp, { recursive: true, force: true }));
Flags.run();
