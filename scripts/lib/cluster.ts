// One interface for the local clusters, one implementation per driver (minikube, kind,
// Docker Desktop). Each reads state before acting, so setup and cleanup can decide first.
import type { Driver } from './config.ts';
import { PrerequisiteError } from './errors.ts';
import type { Docker } from './tools/docker.ts';
import type { Kind } from './tools/kind.ts';
import type { Minikube } from './tools/minikube.ts';

export type ClusterState = 'running' | 'stopped' | 'missing' | 'degraded';

export type AccessInfo = {
  /** URL through `port-forward`, which works on every driver. */
  portForward: string;
  /** URL through the ingress, where the driver serves one, with what the user must do first. */
  ingress?: { url: string; steps: string[] };
};

export interface ClusterDriver {
  readonly driver: Driver;
  /** The kube context this cluster writes to kubeconfig. */
  readonly context: string;
  /** CLIs preflight must find for this driver besides docker, kubectl and helm. */
  readonly tools: ('minikube' | 'kind')[];
  observe(): Promise<{ state: ClusterState; detail: string }>;
  /** Starts (or creates) the cluster; called only when observe() says it is not running. */
  start(cpus: number, memoryMb: number): Promise<void>;
  stop(): Promise<void>;
  remove(): Promise<void>;
  /** Addon name → enabled, or undefined where the driver has no addon system. */
  addons(): Promise<Record<string, boolean> | undefined>;
  enableAddon(name: string): Promise<void>;
  /** True when the cluster's runtime already holds this image. */
  hasImage(image: string): Promise<boolean>;
  /** True when a local `docker build` is already visible to the cluster (nothing to load). */
  readonly sharesDockerImages: boolean;
  loadImage(image: string, logFile?: string): Promise<void>;
  access(ingressHost: string, frontendPort: number): Promise<AccessInfo>;
}

export class MinikubeCluster implements ClusterDriver {
  readonly driver = 'minikube' as const;
  readonly tools = ['minikube' as const];
  readonly sharesDockerImages = false;
  private images?: Promise<Set<string>>;

  constructor(
    private readonly minikube: Minikube,
    readonly profile: string,
  ) {}

  get context(): string {
    return this.profile;
  }

  observe() {
    return this.minikube.status(this.profile);
  }

  start(cpus: number, memoryMb: number) {
    this.images = undefined;
    return this.minikube.start(this.profile, cpus, memoryMb);
  }

  stop() {
    return this.minikube.stop(this.profile);
  }

  remove() {
    return this.minikube.delete(this.profile);
  }

  addons() {
    return this.minikube.addons(this.profile);
  }

  enableAddon(name: string) {
    return this.minikube.enableAddon(this.profile, name);
  }

  async hasImage(image: string): Promise<boolean> {
    // Both images are looked up at once; one `minikube image ls` answers both.
    this.images ??= this.minikube.images(this.profile);
    return (await this.images).has(image);
  }

  async loadImage(image: string, logFile?: string): Promise<void> {
    await this.minikube.loadImage(this.profile, image, logFile);
    this.images = undefined;
  }

  async access(host: string, port: number): Promise<AccessInfo> {
    const ip = await this.minikube.ip(this.profile).catch(() => '<minikube ip>');
    return {
      portForward: `http://localhost:${port}`,
      ingress: {
        url: `http://${host}`,
        steps: [
          `add "${ip} ${host}" to your hosts file (/etc/hosts, or C:\\Windows\\System32\\drivers\\etc\\hosts)`,
          `with minikube's docker driver on macOS or Windows, run \`minikube tunnel -p ${this.profile}\` and use 127.0.0.1 instead`,
        ],
      },
    };
  }
}

export class KindCluster implements ClusterDriver {
  readonly driver = 'kind' as const;
  readonly tools = ['kind' as const];
  readonly sharesDockerImages = false;

  constructor(
    private readonly kind: Kind,
    private readonly docker: Docker,
    readonly name: string,
  ) {}

  get context(): string {
    return `kind-${this.name}`;
  }

  async observe() {
    const clusters = await this.kind.clusters();
    if (!clusters.includes(this.name)) return { state: 'missing' as const, detail: 'no kind cluster of that name' };
    // A kind node is a container; a stopped Docker Desktop leaves it stopped.
    const running = await this.docker.execIn(`${this.name}-control-plane`, ['true']);
    return running ? { state: 'running' as const, detail: 'control plane up' } : { state: 'stopped' as const, detail: 'control-plane container not running' };
  }

  async start(): Promise<void> {
    const clusters = await this.kind.clusters();
    if (clusters.includes(this.name)) {
      throw new PrerequisiteError(`kind cluster ${this.name} exists but its node is not running`, `Start its container: docker start ${this.name}-control-plane, then rerun.`);
    }
    await this.kind.create(this.name);
  }

  async stop(): Promise<void> {
    /* kind clusters have no stop; cleanup --purge deletes them */
  }

  remove() {
    return this.kind.delete(this.name);
  }

  async addons() {
    return undefined;
  }

  async enableAddon(): Promise<void> {
    /* no addon system */
  }

  hasImage(image: string) {
    return this.docker.execIn(`${this.name}-control-plane`, ['crictl', 'inspecti', `docker.io/library/${image}`]);
  }

  loadImage(image: string, logFile?: string) {
    return this.kind.loadImage(this.name, image, logFile);
  }

  async access(_host: string, port: number): Promise<AccessInfo> {
    return { portForward: `http://localhost:${port}` };
  }
}

export class DockerDesktopCluster implements ClusterDriver {
  readonly driver = 'docker-desktop' as const;
  readonly context = 'docker-desktop';
  readonly tools: ('minikube' | 'kind')[] = [];
  readonly sharesDockerImages = true;

  constructor(
    private readonly docker: Docker,
    private readonly isReady: () => Promise<boolean>,
  ) {}

  async observe() {
    return (await this.isReady())
      ? { state: 'running' as const, detail: 'Kubernetes in Docker Desktop answers' }
      : { state: 'stopped' as const, detail: 'Kubernetes in Docker Desktop does not answer' };
  }

  async start(): Promise<void> {
    throw new PrerequisiteError(
      "Docker Desktop's Kubernetes is not running",
      'Enable it in Docker Desktop → Settings → Kubernetes → Enable Kubernetes, wait until it is green, and rerun.',
    );
  }

  async stop(): Promise<void> {
    /* Docker Desktop owns its cluster */
  }

  async remove(): Promise<void> {
    /* Docker Desktop owns its cluster */
  }

  async addons() {
    return undefined;
  }

  async enableAddon(): Promise<void> {
    /* no addon system */
  }

  hasImage(image: string) {
    return this.docker.hasImage(image);
  }

  async loadImage(): Promise<void> {
    /* the cluster uses Docker's own image store */
  }

  async access(_host: string, port: number): Promise<AccessInfo> {
    return { portForward: `http://localhost:${port}` };
  }
}
