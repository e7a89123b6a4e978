// Typed wrapper of the minikube CLI. Formats follow minikube's documented JSON outputs:
// `minikube status -o json` ({"Name","Host","Kubelet","APIServer","Kubeconfig"}; exit code is a
// bit field: 1 host, 2 kubelet, 4 apiserver not running; 85 when the profile does not exist) and
// `minikube addons list -o json` ({"ingress": {"Profile","Status": "enabled"|"disabled"}, ...}).
import type { Exec } from '../exec.ts';
import { parseVersion, requireVersion, type Version } from './versions.ts';

export type MinikubeState = 'running' | 'stopped' | 'missing' | 'degraded';

export class Minikube {
  constructor(
    private readonly exec: Exec,
    readonly bin = 'minikube',
  ) {}

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
    if (out.exitCode === 85 || /not found/i.test(out.stdout + out.stderr)) return { state: 'missing', detail: 'profile not found' };
    let s: { Host?: string; Kubelet?: string; APIServer?: string };
    try {
      s = JSON.parse(out.stdout) as typeof s;
    } catch {
      return { state: 'degraded', detail: (out.stderr || out.stdout).trim().slice(0, 200) };
    }
    const detail = `host ${s.Host}, kubelet ${s.Kubelet}, apiserver ${s.APIServer}`;
    if (s.Host === 'Running' && s.Kubelet === 'Running' && s.APIServer === 'Running') return { state: 'running', detail };
    if (s.Host === 'Stopped' || s.Host === 'Nonexistent') return { state: s.Host === 'Stopped' ? 'stopped' : 'missing', detail };
    return { state: 'degraded', detail };
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

  /** Images in the node's runtime, as "name:tag" with registry prefixes (docker.io/library/) removed. */
  async images(profile: string): Promise<Set<string>> {
    const out = await this.exec.run(this.bin, ['image', 'ls', '--profile', profile]);
    return new Set(
      out.stdout
        .split('\n')
        .map((l) => l.trim().replace(/^docker\.io\/(library\/)?/, ''))
        .filter(Boolean),
    );
  }

  async loadImage(profile: string, image: string, logFile?: string): Promise<void> {
    await this.exec.run(this.bin, ['image', 'load', image, '--profile', profile], { mutating: true, logFile });
  }

  async ip(profile: string): Promise<string> {
    return (await this.exec.run(this.bin, ['ip', '--profile', profile])).stdout.trim();
  }
}
