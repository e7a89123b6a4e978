// Typed wrapper of the minikube CLI. Formats follow minikube's JSON outputs:
// `minikube status -o json` (cmd/minikube/cmd/status.go): one {"Name","Host","Kubelet","APIServer",
// "Kubeconfig","Worker"} object, or an array of them for a multi-node profile, or `null` with exit 0
// when the profile exists but its host is gone or Docker is down (since v1.35, kubernetes/minikube#22466);
// the exit code is a bit field (1 host, 2 cluster, 4 kubeconfig not right) and 85 means no such profile.
// `minikube addons list -o json` ({"ingress": {"Profile","Status": "enabled"|"disabled"}, ...}).
// `minikube docker-env --shell none` (cmd/minikube/cmd/docker-env.go, pkg/minikube/shell/shell.go):
// KEY=VALUE lines, no quoting, no usage hint; the same command Skaffold reads
// (pkg/skaffold/docker/client.go getMinikubeDockerEnv).
import type { Exec } from '../core/exec.ts';
import { parseVersion, requireVersion, type Version } from './versions.ts';

/** `broken`: the profile exists but its host is gone; `misconfigured`: running, but kubeconfig is stale. */
export type MinikubeState = 'running' | 'stopped' | 'missing' | 'degraded' | 'broken' | 'misconfigured';

type NodeStatus = { Name?: string; Host?: string; Kubelet?: string; APIServer?: string; Kubeconfig?: string; Worker?: boolean };

/** Pure: the profile's state from what `minikube status -o json` printed and its exit code. */
export function parseStatus(stdout: string, stderr: string, exitCode: number): { state: MinikubeState; detail: string } {
  if (exitCode === 85 || /not found/i.test(stdout + stderr)) return { state: 'missing', detail: 'profile not found' };
  let parsed: NodeStatus | NodeStatus[] | null;
  try {
    parsed = JSON.parse(stdout) as typeof parsed;
  } catch {
    return { state: 'degraded', detail: (stderr || stdout).trim().slice(0, 200) };
  }
  if (parsed === null) return { state: 'broken', detail: 'the profile exists but minikube reports no node for it (its container is gone)' };
  const nodes = Array.isArray(parsed) ? parsed : [parsed];
  const control = nodes.find((n) => !n.Worker) ?? nodes[0];
  if (!control) return { state: 'broken', detail: 'the profile has no nodes' };
  const workers = nodes.filter((n) => n !== control);
  const detail = `host ${control.Host}, kubelet ${control.Kubelet}, apiserver ${control.APIServer}${workers.length ? `, ${workers.filter((w) => w.Host === 'Running').length}/${workers.length} workers running` : ''}`;
  if (control.Host === 'Nonexistent') return { state: 'broken', detail: `${detail}: the profile exists but its host is gone` };
  if (nodes.every((n) => n.Host === 'Stopped')) return { state: 'stopped', detail };
  const up = control.Host === 'Running' && control.Kubelet === 'Running' && control.APIServer === 'Running' && workers.every((w) => w.Host === 'Running' && w.Kubelet === 'Running');
  if (up && control.Kubeconfig === 'Misconfigured') return { state: 'misconfigured', detail: `${detail}, kubeconfig misconfigured` };
  if (up) return { state: 'running', detail };
  return { state: 'degraded', detail };
}

/**
 * What `minikube docker-env --shell none` answered. It is also the runtime read: minikube refuses
 * it for any runtime but docker, with the same check that decides whether a Docker daemon runs in
 * the node (`co.Config.KubernetesConfig.ContainerRuntime != "docker"` in docker-env.go).
 * `env`: the node's Docker daemon, reachable with these variables;
 * `other-runtime`: containerd or cri-o: "The docker-env command is only compatible with the
 *   "docker" runtime, but this cluster was configured to use the "containerd" runtime.",
 *   MK_USAGE, exit 14 (pkg/minikube/reason/reason.go `Usage`, exitcodes.go `ExProgramUsage`);
 * `multi-node`: "The docker-env command is incompatible with multi-node clusters", exit 81
 *   (`EnvMultiConflict`, `ExGuestConflict`): each node has its own daemon;
 * `not-running`: mustload.Running stops first: exit 83 (host not running) or 85 (no such profile);
 * `failed`: anything else (the `none` driver, exit 51; a node whose dockerd would not restart).
 */
export type DockerEnvAnswer =
  | { kind: 'env'; env: Record<string, string> }
  | { kind: 'other-runtime'; runtime: string; message: string }
  | { kind: 'multi-node'; message: string }
  | { kind: 'not-running'; message: string }
  | { kind: 'failed'; exitCode: number; message: string };

/** Pure: reads docker-env's answer from its output and exit code. */
export function parseDockerEnv(stdout: string, stderr: string, exitCode: number): DockerEnvAnswer {
  const message = (stderr.trim() || stdout.trim()).split('\n').filter((l) => l.trim()).slice(-3).join('\n').slice(0, 400);
  if (exitCode === 0) {
    const env: Record<string, string> = {};
    for (const line of stdout.split(/\r?\n/)) {
      if (!line.trim() || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      if (eq <= 0 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(line.slice(0, eq))) return { kind: 'failed', exitCode, message: `unexpected line in minikube docker-env output: ${line.slice(0, 120)}` };
      env[line.slice(0, eq)] = line.slice(eq + 1);
    }
    if (!env.DOCKER_HOST) return { kind: 'failed', exitCode, message: 'minikube docker-env printed no DOCKER_HOST' };
    return { kind: 'env', env };
  }
  const runtime = /only compatible with the "docker" runtime, but this cluster was configured to use the "([^"]+)" runtime/.exec(stderr + stdout);
  if (runtime) return { kind: 'other-runtime', runtime: runtime[1] as string, message };
  if (/incompatible with multi-node clusters/.test(stderr + stdout)) return { kind: 'multi-node', message };
  if (exitCode === 83 || exitCode === 85) return { kind: 'not-running', message };
  return { kind: 'failed', exitCode, message };
}

/**
 * Pure: a line of `minikube image ls` back to the name it was loaded as. The runtime qualifies a bare
 * NAME:TAG: docker and containerd as docker.io/library/NAME:TAG (docker.io/USER/NAME:TAG with a
 * user), cri-o as localhost/NAME:TAG, since `minikube image load` goes through `podman load` there
 * (kubernetes/minikube#10541 and PR #10542; minikube pkg/minikube/cruntime docker.go and cri.go).
 */
export function listedImageName(line: string): string {
  return line.trim().replace(/^(docker\.io\/(library\/)?|localhost\/)/, '');
}

export class Minikube {
  constructor(
    private readonly exec: Exec,
    readonly bin = 'minikube',
  ) {}

  /** Under --dry-run, mutating calls are printed only, so what they would change cannot be checked. */
  get dryRun(): boolean {
    return this.exec.settings.dryRun;
  }

  async version(): Promise<Version> {
    const out = await this.exec.run(this.bin, ['version', '--output', 'json'], { nothrow: true });
    let raw = out.stdout;
    try {
      raw = (JSON.parse(out.stdout) as { minikubeVersion?: string }).minikubeVersion ?? out.stdout;
    } catch {
      /* older minikube prints text: "minikube version: v1.31.0" */
    }
    return requireVersion('minikube', parseVersion(raw), raw);
  }

  async status(profile: string): Promise<{ state: MinikubeState; detail: string }> {
    const out = await this.exec.run(this.bin, ['status', '--profile', profile, '--output', 'json'], { nothrow: true });
    return parseStatus(out.stdout, out.stderr, out.exitCode);
  }

  /** Points the profile's kube context at the cluster again (the fix minikube itself advises). */
  async updateContext(profile: string): Promise<void> {
    await this.exec.run(this.bin, ['update-context', '--profile', profile], { mutating: true });
  }

  async start(profile: string, cpus: number, memoryMb: number): Promise<void> {
    await this.exec.run(this.bin, ['start', '--profile', profile, '--cpus', String(cpus), '--memory', `${memoryMb}mb`], { mutating: true });
  }

  async stop(profile: string): Promise<void> {
    await this.exec.run(this.bin, ['stop', '--profile', profile], { mutating: true });
  }

  async delete(profile: string): Promise<void> {
    await this.exec.run(this.bin, ['delete', '--profile', profile], { mutating: true });
  }

  async addons(profile: string): Promise<Record<string, boolean>> {
    const out = await this.exec.run(this.bin, ['addons', 'list', '--profile', profile, '--output', 'json']);
    const data = JSON.parse(out.stdout) as Record<string, { Status?: string }>;
    return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.Status === 'enabled']));
  }

  async enableAddon(profile: string, addon: string): Promise<void> {
    await this.exec.run(this.bin, ['addons', 'enable', addon, '--profile', profile], { mutating: true });
  }

  /** Images in the node's runtime, as "name:tag": the prefix each runtime adds to a bare name removed (listedImageName). */
  async images(profile: string): Promise<Set<string>> {
    const out = await this.exec.run(this.bin, ['image', 'ls', '--profile', profile]);
    return new Set(out.stdout.split('\n').map(listedImageName).filter(Boolean));
  }

  async loadImage(profile: string, image: string, logFile?: string): Promise<void> {
    await this.exec.run(this.bin, ['image', 'load', image, '--profile', profile], { mutating: true, logFile });
  }

  /** The node's Docker daemon as environment variables, or why minikube will not give it. */
  async dockerEnv(profile: string): Promise<DockerEnvAnswer> {
    const out = await this.exec.run(this.bin, ['docker-env', '--shell', 'none', '--profile', profile], { nothrow: true });
    return parseDockerEnv(out.stdout, out.stderr, out.exitCode);
  }

  async ip(profile: string): Promise<string> {
    return (await this.exec.run(this.bin, ['ip', '--profile', profile])).stdout.trim();
  }
}
