// `status`: one read-only screen of what runs: the cluster, the release, each declared component
// (replicas, restarts, endpoints, image against the one the current source gives), the access
// URLs and whether a port-forward is running. Observe, then a pure summary, then one render.
import { hasService } from '../app/declaration.ts';
import { entryPort, loadBalancerPorts } from '../app/components.ts';
import type { AccessInfo, ClusterState } from '../cluster/drivers.ts';
import { componentStatus, type ComponentStatus } from '../release/component-status.ts';
import type { Config } from '../app/config.ts';
import { DockerDaemonDownError, ExitCode, UserError } from '../core/errors.ts';
import { expectedImages } from '../images/tag.ts';
import { portForwardPidFile, runningInstance } from '../core/pidfile.ts';
import type { Session } from '../core/session.ts';
import type { ReleaseInfo } from '../tools/helm.ts';
import { delay } from '../core/wait.ts';
import type { KubeObject } from '../tools/kubectl.ts';

/** What was read, before any judgement; every field optional past the point where a read was impossible. */
export type StatusObservation = {
  cluster: { state: ClusterState; detail: string };
  contextExists: boolean;
  release?: ReleaseInfo;
  objects: KubeObject[];
  access?: AccessInfo;
  portForwardPid?: number;
};

export type StatusReport = {
  ok: boolean;
  cluster: { driver: string; name: string; context: string; state: ClusterState; detail: string; contextExists: boolean; running: boolean };
  release: { name: string; namespace: string; revision: number; status: string; chart: string } | null;
  components: ComponentStatus[];
  access: { portForward: { url: string; running: boolean; pid?: number }; ingress?: { url: string; steps: string[] }; loadBalancers: AccessInfo['loadBalancers'] } | null;
  /** Why the state could not be read in full (no cluster, no release); empty when it could. */
  missing: string[];
};

const tagOf = (ref: string | undefined) => (ref ? ref.slice(ref.lastIndexOf(':') + 1) : '');

/** Pure: the report from what was read and the configuration's declared components. */
export function summarize(obs: StatusObservation, config: Config, expected: Record<string, string>, clusterContext: string): StatusReport {
  const s = config.settings;
  const running = (obs.cluster.state === 'running' || obs.cluster.state === 'misconfigured') && obs.contextExists;
  const missing: string[] = [];
  if (obs.cluster.state !== 'running' && obs.cluster.state !== 'misconfigured') missing.push(`the ${s.TASKFLOW_DRIVER} cluster ${s.TASKFLOW_CLUSTER_NAME} is ${obs.cluster.state}`);
  else if (!obs.contextExists) missing.push(`kube context ${clusterContext} does not exist`);
  else if (!obs.release) missing.push(`release ${s.TASKFLOW_RELEASE} is not installed in namespace ${s.TASKFLOW_NAMESPACE}`);
  const components = Object.entries(config.app.components).map(([name, c]) => {
    const want = expected[name];
    if (obs.release) return componentStatus(name, hasService(c), s.TASKFLOW_RELEASE, obs.objects, want);
    return { name, deployed: false, desired: 0, ready: 0, restarts: 0, endpoints: hasService(c) ? 0 : null, ...(want ? { expectedImage: want } : {}), stale: false };
  });
  const hasIngress = obs.objects.some((o) => o.kind === 'Ingress');
  return {
    ok: missing.length === 0,
    cluster: { driver: s.TASKFLOW_DRIVER, name: s.TASKFLOW_CLUSTER_NAME, context: clusterContext, state: obs.cluster.state, detail: obs.cluster.detail, contextExists: obs.contextExists, running },
    release: obs.release
      ? { name: s.TASKFLOW_RELEASE, namespace: s.TASKFLOW_NAMESPACE, revision: obs.release.revision, status: obs.release.status, chart: `${obs.release.chartName || 'taskflow'}-${obs.release.chartVersion}` }
      : null,
    components,
    // URLs only where something answers behind them: a release, and for the ingress an Ingress object.
    access:
      obs.release && obs.access
        ? {
            portForward: { url: obs.access.portForward, running: obs.portForwardPid !== undefined, ...(obs.portForwardPid !== undefined ? { pid: obs.portForwardPid } : {}) },
            ...(obs.access.ingress && hasIngress ? { ingress: obs.access.ingress } : {}),
            loadBalancers: obs.access.loadBalancers,
          }
        : null,
    missing,
  };
}

function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/** Pure: the screen, line by line. */
export function renderStatus(r: StatusReport): string[] {
  const c = r.cluster;
  const lines = [`cluster    ${c.driver} ${c.name}: ${c.state}${c.detail ? ` (${c.detail})` : ''}; context ${c.context}${c.contextExists ? '' : ' (missing)'}`];
  lines.push(r.release ? `release    ${r.release.name} in ${r.release.namespace}: revision ${r.release.revision}, ${r.release.status}, chart ${r.release.chart}` : `release    none`);
  lines.push('');
  const rows = [['COMPONENT', 'READY', 'RESTARTS', 'ENDPOINTS', 'IMAGE TAG', 'SOURCE TAG', '']];
  for (const x of r.components) {
    rows.push([
      x.name,
      x.deployed ? `${x.ready}/${x.desired}` : '-',
      x.deployed ? `${x.restarts}${x.waiting ? ` ${x.waiting}` : ''}` : '-',
      x.endpoints === null ? 'n/a' : x.deployed ? String(x.endpoints) : '-',
      x.image ? tagOf(x.image) : '-',
      x.expectedImage ? tagOf(x.expectedImage) : '-',
      x.stale ? 'stale' : '',
    ]);
  }
  lines.push(...table(rows));
  lines.push('');
  if (r.access) {
    const pf = r.access.portForward;
    lines.push(`access     ${pf.url} through port-forward: ${pf.running ? `running (pid ${pf.pid})` : 'not running (start it: npx tsx scripts/port-forward.ts --detach)'}`);
    if (r.access.ingress) {
      lines.push(`           ${r.access.ingress.url} through the ingress, once you:`);
      for (const step of r.access.ingress.steps) lines.push(`             ${step}`);
    }
    for (const lb of r.access.loadBalancers) {
      lines.push(`           ${lb.component} (LoadBalancer): ${lb.url ?? 'no address on this driver'}`);
      for (const step of lb.steps) lines.push(`             ${step}`);
    }
  } else lines.push('access     none (nothing is deployed)');
  if (r.components.some((x) => x.stale)) lines.push(`           stale: the source gives another image than the one running; rerun setup to deploy it`);
  for (const m of r.missing) lines.push(`✖ ${m} — run setup first`);
  return lines;
}

/** Reads everything the screen shows; read-only, and reads that do not depend on each other run at once. */
export async function observeStatus(sn: Session): Promise<StatusObservation> {
  const { cluster, tools: t, context, scope } = sn;
  const s = sn.config.settings;
  const [clusterState, contexts] = await Promise.all([
    cluster.observe().catch((err: Error) => {
      // Docker down is said as such (start Docker), not as a missing cluster.
      if (err instanceof DockerDaemonDownError) throw err;
      return { state: 'missing' as const, detail: err.message.split('\n')[0] ?? '' };
    }),
    t.kubectl.contexts(),
  ]);
  const obs: StatusObservation = { cluster: clusterState, contextExists: contexts.includes(context), objects: [] };
  if ((clusterState.state !== 'running' && clusterState.state !== 'misconfigured') || !obs.contextExists) return obs;
  const [release, objects, access, pid] = await Promise.all([
    t.release.status(scope),
    t.kubectl.releaseObjects(context, scope.namespace, scope.release),
    cluster.access(s.TASKFLOW_INGRESS_HOST, entryPort(sn.config), loadBalancerPorts(sn.config.app, s.TASKFLOW_DRIVER)),
    // Read-only: a stale PID file is left for port-forward and cleanup to remove.
    runningInstance(portForwardPidFile(sn.root), { keepStale: true }),
  ]);
  return { ...obs, ...(release ? { release } : {}), objects, access, ...(pid !== undefined ? { portForwardPid: pid } : {}) };
}

export type StatusOptions = {
  json: boolean;
  watch: boolean;
  /** Between redraws under --watch. */
  intervalMs?: number;
  /** Where the screen goes (stdout). */
  write?: (text: string) => void;
};

/** One read and one screen; the exit code says whether there was a cluster and a release to read. */
async function once(sn: Session, opts: StatusOptions): Promise<number> {
  // Hashed on every read, so a source edited while --watch runs shows as stale at the next redraw.
  const report = summarize(await observeStatus(sn), sn.config, expectedImages(sn.config), sn.context);
  const write = opts.write ?? ((text: string) => process.stdout.write(text));
  if (opts.json) write(`${JSON.stringify(report, null, opts.watch ? undefined : 2)}\n`);
  else {
    const s = sn.config.settings;
    const title = `taskflow status: ${s.TASKFLOW_DRIVER}, namespace ${s.TASKFLOW_NAMESPACE}${opts.watch ? ` (every ${(opts.intervalMs ?? 2000) / 1000}s, Ctrl+C to stop; ${new Date().toLocaleTimeString()})` : ''}`;
    // On a terminal, --watch redraws in place: cursor home, clear the screen.
    const clear = opts.watch && process.stdout.isTTY ? '\x1b[H\x1b[2J' : '';
    write(`${clear}${[title, '', ...renderStatus(report)].join('\n')}\n`);
  }
  return report.ok ? ExitCode.ok : ExitCode.missingPrerequisite;
}

/** Prints the status once, or under --watch every 2 s until Ctrl+C (runMain then exits 130). */
export async function runStatus(sn: Session, opts: StatusOptions): Promise<number> {
  if (!opts.watch) return once(sn, opts);
  for (;;) {
    // A read that fails while watching (the cluster going down) is shown, and the next tick tries again.
    await once(sn, opts).catch((err: unknown) => {
      if (!(err instanceof UserError)) throw err;
      process.stderr.write(`✖ ${err.message.split('\n')[0]}\n`);
    });
    await delay(opts.intervalMs ?? 2000);
  }
}
