// The kubectl command lines the toolkit builds (scripts/lib/tools/kubectl.ts and the port-forward
// tunnels), checked against each kubectl of the version matrix, 1.27.1 (the oldest supported)
// first: every flag is in that command's `--help` or `kubectl options`, and the real binary takes
// each whole command line (it gets as far as looking for the context, of which there is none here).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Exec, type ExecResult, type RunOptions } from '../../scripts/lib/core/exec.ts';
import { Kubectl, podWatchArgs } from '../../scripts/lib/tools/kubectl.ts';
import { portForwardArgs } from '../../scripts/lib/tunnels/tunnels.ts';
import { matrix, provision, type ToolSet } from '../lib/tool-versions.ts';

/** Runs nothing: records each command line and answers with JSON every reader accepts. */
class RecordingExec extends Exec {
  readonly calls: string[][] = [];
  override async run(_cmd: string, args: readonly string[], _opts: RunOptions = {}): Promise<ExecResult> {
    this.calls.push([...args]);
    const stdout = args[0] === 'version' ? '{"clientVersion":{"gitVersion":"v1.27.1"}}' : '{"items":[]}';
    return { stdout, stderr: '', exitCode: 0 };
  }
}

/** Every kubectl command line the toolkit builds, one of each kind. */
async function toolkitCalls(): Promise<string[][]> {
  const exec = new RecordingExec();
  const k = new Kubectl(exec);
  const [ctx, ns] = ['taskflow', 'taskflow'];
  await k.clientVersion();
  await k.contexts();
  await k.currentContext();
  await k.ready(ctx);
  await k.namespace(ctx, ns);
  await k.createNamespace(ctx, ns);
  await k.deleteNamespace(ctx, ns);
  await k.pods(ctx, ns, 'app.kubernetes.io/instance=taskflow');
  await k.events(ctx, ns, 'taskflow-backend-0');
  await k.logs(ctx, ns, 'taskflow-backend-0');
  await k.logs(ctx, ns, 'taskflow-backend-0', 20, true);
  await k.deployment(ctx, ns, 'taskflow-backend');
  await k.endpointCount(ctx, ns, 'taskflow-backend');
  await k.metricsApiAvailable(ctx);
  await k.releaseObjects(ctx, ns, 'taskflow');
  await k.deletePod(ctx, ns, 'taskflow-backend-0');
  await k.secretData(ctx, ns, 'taskflow');
  const tunnel = { component: 'backend' as const, service: 'taskflow-backend', localPort: 8000, remotePort: 8000, healthPath: '/health' };
  // Long-running ones, which go through exec.start: the pod watch `logs` follows pods with.
  return [...exec.calls, portForwardArgs(ctx, ns, tunnel), podWatchArgs(ctx, ns, 'app.kubernetes.io/instance=taskflow')];
}

/** The command words of a call, without the global --context/--namespace in front: ["create", "namespace"]. */
function commandOf(args: string[]): string[] {
  const rest = [...args];
  while (rest[0] === '--context' || rest[0] === '--namespace') rest.splice(0, 2);
  return rest[0] === 'create' || rest[0] === 'config' ? rest.slice(0, 2) : rest.slice(0, 1);
}
const flagsIn = (args: string[]) => args.filter((a) => a.startsWith('-')).map((a) => a.split('=')[0]!);

const tmp = mkdtempSync(join(tmpdir(), 'taskflow-kubectl-flags-'));
const isolated = { ...process.env, KUBECONFIG: join(tmp, 'no-kubeconfig') };

function real(t: ToolSet, args: string[]) {
  const r = spawnSync(t.kubectl, args, { encoding: 'utf8', env: isolated, timeout: 30_000 });
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

/** Flag names in kubectl's help, which lists each as "    -n, --namespace='':". */
function flagsOf(text: string): Set<string> {
  const flags = new Set<string>();
  for (const m of text.matchAll(/^\s+(?:(-\w), )?(--[a-z0-9-]+)[=:]/gm)) {
    if (m[1]) flags.add(m[1]);
    flags.add(m[2]!);
  }
  return flags;
}

const tools = await Promise.all(matrix.map((spec) => provision(spec)));
const calls = await toolkitCalls();
const Flags = suite('kubectl flags on each version');

for (const t of tools) {
  Flags(`kubectl ${t.spec.kubectl}: every flag the toolkit passes is in that command's --help or kubectl options`, () => {
    const global = flagsOf(real(t, ['options']).stdout);
    assert.ok(global.has('--context') && global.has('--namespace'), 'kubectl options lists no --context');
    const missing = calls.flatMap((args) => {
      const own = flagsOf(real(t, [...commandOf(args), '--help']).stdout);
      return flagsIn(args).filter((f) => !own.has(f) && !global.has(f)).map((f) => `kubectl ${commandOf(args).join(' ')}: ${f}`);
    });
    assert.equal(missing, []);
  });

  Flags(`kubectl ${t.spec.kubectl}: takes every command line the toolkit builds, up to looking for the context`, () => {
    for (const args of calls) {
      const r = real(t, args);
      const shown = `kubectl ${args.join(' ')}\n${r.stderr}`;
      assert.not.match(r.stderr, /unknown (flag|shorthand)|invalid argument|flag needs an argument|unknown command/, shown);
      const command = commandOf(args).join(' ');
      if (command === 'version') assert.is((JSON.parse(r.stdout) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion, t.spec.kubectl);
      else if (command === 'config get-contexts') assert.is(r.code, 0, shown);
      else if (command === 'config current-context') assert.match(r.stderr, /current-context is not set/, shown);
      else {
        assert.is.not(r.code, 0, shown);
        assert.match(r.stderr, /context "taskflow" does not exist|context was not found for specified context: taskflow/, shown);
      }
    }
  });
}

Flags.after(() => rmSync(tmp, { recursive: true, force: true }));
Flags.run();
