// Typed wrapper of the docker CLI (client + daemon): versions, image lookups, builds.
import { DockerDaemonDownError, PrerequisiteError } from '../core/errors.ts';
import type { Exec, RunOptions } from '../core/exec.ts';
import { parseVersion, requireVersion, type Version } from './versions.ts';

export type DockerInfo = {
  server: Version;
  cpus: number;
  memoryBytes: number;
  /** Registries the daemon talks to over plain HTTP (insecure-registries, 127.0.0.0/8 by default). */
  insecure: (registryHost: string) => boolean;
};

type RegistryConfig = { InsecureRegistryCIDRs?: string[]; IndexConfigs?: Record<string, { Secure?: boolean }> };

/** Pure: whether the daemon's registry config calls this host insecure, as the daemon decides for a push. */
export function isInsecureRegistry(config: RegistryConfig | undefined, host: string): boolean {
  const index = config?.IndexConfigs?.[host];
  if (index) return index.Secure === false;
  const name = host.replace(/:\d+$/, '');
  const ip = name === 'localhost' ? '127.0.0.1' : name;
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const toInt = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
  return (config?.InsecureRegistryCIDRs ?? []).some((cidr) => {
    const [base, bits] = cidr.split('/');
    if (!base || !/^\d+\.\d+\.\d+\.\d+$/.test(base)) return false;
    const shift = 32 - Number(bits ?? 32);
    return Math.floor(toInt(ip) / 2 ** shift) === Math.floor(toInt(base) / 2 ** shift);
  });
}

export type BuildSpec = {
  image: string;
  dockerfile: string;
  context: string;
  /** Stage to build (--target). */
  target?: string;
  buildArgs: Record<string, string>;
  /** Where the build's output goes (the screen shows a spinner instead). */
  logFile?: string;
};

export class Docker {
  /**
   * `env` points this client at another daemon (minikube's, from `minikube docker-env`): it goes
   * to each docker process as its environment, never through a shell.
   */
  constructor(
    private readonly exec: Exec,
    readonly bin = 'docker',
    readonly env: Record<string, string> = {},
  ) {}

  /** The same CLI talking to the daemon these variables name (DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH, …). */
  withEnv(env: Record<string, string>): Docker {
    return new Docker(this.exec, this.bin, { ...this.env, ...env });
  }

  private run(args: string[], opts: RunOptions = {}) {
    const env = { ...this.env, ...opts.env };
    // DOCKER_HOST is printed with the command, so a verbose or dry run says which daemon it talks to.
    return this.exec.run(this.bin, args, Object.keys(env).length ? { ...opts, env, showEnv: this.env.DOCKER_HOST ? ['DOCKER_HOST'] : [] } : opts);
  }

  /**
   * Client present, daemon reachable and recent enough; the daemon's CPU and memory for preflight.
   * With the daemon down, the client still prints its JSON, with an empty ServerVersion and the
   * reason in ServerErrors (docker/cli#5900), and some releases exit 0 doing so; 28.2.2 exits 1 and
   * puts the reason on stderr. Either way, Docker is installed and only needs starting.
   */
  private infoOnce?: Promise<DockerInfo>;

  info(): Promise<DockerInfo> {
    this.infoOnce ??= this.readInfo();
    return this.infoOnce;
  }

  private async readInfo(): Promise<DockerInfo> {
    const out = await this.run(['info', '--format', '{{json .}}'], { nothrow: true });
    let data: { ServerVersion?: string; ServerErrors?: string[]; NCPU?: number; MemTotal?: number; RegistryConfig?: RegistryConfig } | undefined;
    try {
      data = JSON.parse(out.stdout) as typeof data;
    } catch {
      data = undefined;
    }
    if (out.exitCode !== 0 || !data?.ServerVersion || data.ServerErrors?.length) {
      const why = (data?.ServerErrors?.[0] ?? out.stderr.trim().split('\n').find((l) => l.trim()) ?? '').slice(0, 300);
      if (out.exitCode === 0 && !data) throw new PrerequisiteError('docker info did not answer in JSON', 'Update Docker to 20.10 or newer.');
      throw new DockerDaemonDownError(
        `the Docker daemon is not reachable${why ? `: ${why}` : ''}`,
        'Docker is installed but its daemon is not running: start Docker Desktop, or `sudo systemctl start docker` on Linux, and rerun.',
      );
    }
    const server = requireVersion('docker', parseVersion(data.ServerVersion), data.ServerVersion);
    const registries = data.RegistryConfig;
    return { server, cpus: data.NCPU ?? 0, memoryBytes: data.MemTotal ?? 0, insecure: (host) => isInsecureRegistry(registries, host) };
  }

  async hasImage(image: string): Promise<boolean> {
    const out = await this.run(['image', 'inspect', '--format', '{{.Id}}', image], { nothrow: true });
    return out.exitCode === 0;
  }

  /** Every "repository:tag" the daemon holds, in one call (one round however many images are looked up). */
  async images(): Promise<Set<string>> {
    const out = await this.run(['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}']);
    return new Set(out.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
  }

  async build(spec: BuildSpec): Promise<void> {
    const args = ['build', '--tag', spec.image, '--file', spec.dockerfile, ...(spec.target ? ['--target', spec.target] : [])];
    for (const [k, v] of Object.entries(spec.buildArgs).sort()) args.push('--build-arg', `${k}=${v}`);
    args.push(spec.context);
    await this.run(args, { mutating: true, env: { DOCKER_BUILDKIT: '1' }, logFile: spec.logFile });
  }

  /**
   * True when the registry already has this tag (`docker manifest inspect` asks the registry, pulls
   * nothing). It runs in the client, which does not know the daemon's insecure-registries and skips
   * plain-HTTP endpoints unless given --insecure (docker/cli cli/registry/client/fetcher.go), so a
   * local HTTP registry would look empty and every run would push again: --insecure is passed for
   * exactly the registries the daemon itself pushes to over HTTP.
   */
  async inRegistry(image: string): Promise<boolean> {
    const host = image.split('/')[0] ?? '';
    const insecure = image.includes('/') && (await this.info()).insecure(host);
    const out = await this.run(['manifest', 'inspect', ...(insecure ? ['--insecure'] : []), image], { nothrow: true });
    return out.exitCode === 0;
  }

  /** Writes the image as a tarball (`docker save`), for a cluster that cannot take it from the daemon. */
  async save(image: string, file: string, logFile?: string): Promise<void> {
    await this.run(['save', '--output', file, image], { mutating: true, logFile });
  }

  async push(image: string, logFile?: string): Promise<void> {
    await this.run(['push', image], { mutating: true, logFile });
  }

  async removeImage(image: string): Promise<boolean> {
    const out = await this.run(['image', 'rm', image], { mutating: true, nothrow: true });
    return out.exitCode === 0;
  }

  /** Lists local images of a repository as "repo:tag". */
  async listImages(repository: string): Promise<string[]> {
    const out = await this.run(['image', 'ls', repository, '--format', '{{.Repository}}:{{.Tag}}'], { nothrow: true });
    return out.exitCode === 0 ? out.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
  }

  /** Runs a command in a container (kind's node) and says whether it succeeded. */
  async execIn(container: string, command: string[]): Promise<boolean> {
    const out = await this.run(['exec', container, ...command], { nothrow: true });
    return out.exitCode === 0;
  }
}
