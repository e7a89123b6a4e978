// One interface for the local clusters, one implementation per driver (minikube, kind,
// Docker Desktop). Each reads state before acting, so setup and cleanup can decide first.
import type { Config, Driver } from '../app/config.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrerequisiteError, UserError } from '../core/errors.ts';
import type { Kubectl } from '../tools/kubectl.ts';
import type { Docker } from '../tools/docker.ts';
import type { Kind } from '../tools/kind.ts';
import type { Minikube } from '../tools/minikube.ts';
import type { Tools } from '../tools/index.ts';

/**
 * `broken`: the cluster is known (a minikube profile) but its node is gone, so it cannot be started
 * as it is; `misconfigured`: it runs, but kubeconfig no longer points at it.
 */
export type ClusterState = 'running' | 'stopped' | 'missing' | 'degraded' | 'broken' | 'misconfigured';

export type AccessInfo = {
  /** URL through `port-forward`, which works on every driver. */
  portForward: string;
  /** URL through the ingress, where the driver serves one, with what the user must do first. */
  ingress?: { url: string; steps: string[] };
  /** Per LoadBalancer component: the URL it answers at where the driver gives one, and what to do first. */
  loadBalancers: { component: string; url?: string; steps: string[] }[];
};

/** Service ports of the LoadBalancer components, by component. */
export type LoadBalancerPorts = Record<string, number>;

/**
 * Pure: where a browser reaches the app on a driver, from the settings alone. Only the hint text
 * needs a process (minikube's node IP, `ip`); the URLs do not. port-forward works everywhere;
 * minikube serves the ingress through its addon and gives a LoadBalancer an address while
 * `minikube tunnel` runs; Docker Desktop publishes a LoadBalancer on localhost; kind gives none.
 */
export function accessOf(driver: Driver, cluster: string, host: string, port: number, lb: LoadBalancerPorts = {}, ip = '<minikube ip>'): AccessInfo {
  const portForward = `http://localhost:${port}`;
  switch (driver) {
    case 'minikube':
      return {
        portForward,
        // minikube gives a LoadBalancer an address only while `minikube tunnel` runs (minikube docs, "Accessing apps: LoadBalancer access").
        loadBalancers: Object.entries(lb).map(([component, p]) => ({ component, url: `http://127.0.0.1:${p}`, steps: [`run \`minikube tunnel -p ${cluster}\` in another terminal (it may ask for sudo)`] })),
        ingress: {
          url: `http://${host}`,
          steps: [
            `add "${ip} ${host}" to your hosts file (/etc/hosts, or C:\\Windows\\System32\\drivers\\etc\\hosts)`,
            `with minikube's docker driver on macOS or Windows, run \`minikube tunnel -p ${cluster}\` and use 127.0.0.1 instead`,
          ],
        },
      };
    case 'kind':
      // kind has no LoadBalancer implementation of its own (kind docs, "LoadBalancer"): the Service stays <pending>.
      return { portForward, loadBalancers: Object.keys(lb).map((component) => ({ component, steps: ['kind gives a LoadBalancer no address by itself: run cloud-provider-kind (kubernetes-sigs/cloud-provider-kind), or use port-forward'] })) };
    case 'docker-desktop':
      // Docker Desktop's vpnkit publishes a LoadBalancer Service's port on localhost.
      return { portForward, loadBalancers: Object.entries(lb).map(([component, p]) => ({ component, url: `http://localhost:${p}`, steps: [] })) };
  }
}

/** The URLs a browser reaches the app at, first to last: port-forward, the ingress, each LoadBalancer with an address. */
export function accessOrigins(access: AccessInfo): string[] {
  return [...new Set([access.portForward, ...(access.ingress ? [access.ingress.url] : []), ...access.loadBalancers.flatMap((lb) => (lb.url ? [lb.url] : []))])];
}

/**
 * Where setup builds images so the cluster can run them, read once the cluster runs.
 * `daemon`: straight into the cluster's own Docker daemon (minikube's docker runtime, through
 *   `minikube docker-env`), so the build is the delivery and "in the cluster" means "in that
 *   daemon"; `host`: on the host's Docker, then loadImage (kind, minikube on containerd or cri-o,
 *   multi-node minikube) or nothing more (Docker Desktop shares the host's images);
 * `undecided`: the cluster does not run yet (a dry run before the first start), so it cannot be asked.
 */
export type ImageRoute =
  | { via: 'daemon'; env: Record<string, string>; where: string; why: string }
  | { via: 'host'; why: string }
  | { via: 'undecided'; why: string };

export interface ClusterDriver {
  readonly driver: Driver;
  /** The kube context this cluster writes to kubeconfig. */
  readonly context: string;
  /** CLIs preflight must find for this driver besides docker, kubectl and helm. */
  readonly tools: ('minikube' | 'kind')[];
  observe(): Promise<{ state: ClusterState; detail: string }>;
  /** Points the kube context at the cluster again (for `misconfigured`). */
  repairContext(): Promise<void>;
  /** Starts (or creates) the cluster; called only when observe() says it is not running. */
  start(cpus: number, memoryMb: number): Promise<void>;
  stop(): Promise<void>;
  remove(): Promise<void>;
  /** Whether the driver has an addon system (minikube), so setup can say what it would enable. */
  readonly hasAddons: boolean;
  /** Addon name → enabled, or undefined where the driver has no addon system. */
  addons(): Promise<Record<string, boolean> | undefined>;
  enableAddon(name: string): Promise<void>;
  /** True when the cluster's runtime already holds this image. */
  hasImage(image: string): Promise<boolean>;
  /** True when a local `docker build` is already visible to the cluster (nothing to load). */
  readonly sharesDockerImages: boolean;
  /** Puts a locally built image into the cluster's runtime, and checks it arrived. */
  loadImage(image: string, logFile?: string): Promise<void>;
  /** Where images are built for this cluster (one read on minikube, none elsewhere). */
  imageRoute(): Promise<ImageRoute>;
  /** Where a browser reaches the app: accessOf's URLs, with hints a process may fill in (minikube's node IP). */
  access(ingressHost: string, entryPort: number, loadBalancers?: LoadBalancerPorts): Promise<AccessInfo>;
}

export class MinikubeCluster implements ClusterDriver {
  readonly driver = 'minikube' as const;
  readonly tools = ['minikube' as const];
  readonly sharesDockerImages = false;
  readonly hasAddons = true;
  private images?: Promise<Set<string>>;

  constructor(
    private readonly minikube: Minikube,
    readonly profile: string,
    private readonly docker: Docker,
  ) {}

  get context(): string {
    return this.profile;
  }

  /**
   * A profile whose node minikube cannot read (`null` since v1.35, "Nonexistent" before) is broken
   * only if Docker answers: with the daemon down, `docker container inspect` fails the same way
   * (kubernetes/minikube#22466; #19453 shows its "Cannot connect to the Docker daemon" words), and
   * deleting the profile would throw away a cluster that only needs Docker started. So Docker is
   * asked (its answer is cached; preflight reads it anyway) and its DockerDaemonDownError goes up.
   */
  async observe() {
    const st = await this.minikube.status(this.profile);
    if (st.state === 'broken') await this.docker.info();
    return st;
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

  repairContext() {
    return this.minikube.updateContext(this.profile);
  }

  /**
   * With the docker runtime (minikube's default), images are built by the node's own Docker daemon,
   * as Skaffold does (pkg/skaffold/docker/client.go): the build context goes over, the image never
   * does, and there is no `minikube image load` to exit 0 on a failed load (kubernetes/minikube#22466
   * for its exit codes, #21393 for the load). `minikube docker-env` is the read that decides: it
   * answers only for the docker runtime on a single-node profile, with the same check minikube uses,
   * and it costs no round of its own, since setup asks it beside `minikube status`. Containerd,
   * cri-o and multi-node profiles keep the host build and `minikube image load`.
   */
  async imageRoute(): Promise<ImageRoute> {
    const a = await this.minikube.dockerEnv(this.profile);
    switch (a.kind) {
      case 'env':
        return { via: 'daemon', env: a.env, where: `minikube's Docker daemon (${a.env.DOCKER_HOST})`, why: 'docker runtime: built in the node by minikube docker-env' };
      case 'other-runtime':
        return { via: 'host', why: `${a.runtime} runtime has no Docker daemon to build in: built on the host and loaded with minikube image load` };
      case 'multi-node':
        return { via: 'host', why: 'multi-node profile (each node has its own daemon): built on the host and loaded with minikube image load' };
      case 'not-running':
        return { via: 'undecided', why: `decided by minikube docker-env once ${this.profile} runs: its Docker daemon on the docker runtime, else the host and minikube image load` };
      case 'failed':
        return { via: 'host', why: `minikube docker-env failed (exit ${a.exitCode}: ${a.message.split('\n')[0]}): built on the host and loaded with minikube image load` };
    }
  }

  /**
   * `minikube image load` exits 0 when the load inside the node failed (pkg/minikube/machine/
   * cache_images.go logs it and returns nil; kubernetes/minikube#21393, #23471), and helm would then
   * wait its whole timeout on ErrImageNeverPull. So the image is looked up again afterwards.
   */
  async loadImage(image: string, logFile?: string): Promise<void> {
    this.images = undefined;
    await this.minikube.loadImage(this.profile, image, logFile);
    if (this.minikube.dryRun) return;
    if (!(await this.minikube.images(this.profile)).has(image)) {
      throw new UserError(
        `minikube image load ${image} exited 0, but the image is not in the cluster (minikube does not report a failed load)`,
        `Check the node's disk (minikube ssh -p ${this.profile} -- df -h), then rerun setup. minikube's own account: minikube image load ${image} -p ${this.profile} --alsologtostderr -v=3`,
      );
    }
  }

  async access(host: string, port: number, lb: LoadBalancerPorts = {}): Promise<AccessInfo> {
    const ip = await this.minikube.ip(this.profile).catch(() => '<minikube ip>');
    return accessOf('minikube', this.profile, host, port, lb, ip);
  }
}

export class KindCluster implements ClusterDriver {
  readonly driver = 'kind' as const;
  readonly hasAddons = false;
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

  async repairContext(): Promise<void> {
    throw new PrerequisiteError(`the kube context of kind cluster ${this.name} is not usable`, `Run: kind export kubeconfig --name ${this.name}, then rerun.`);
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

  async imageRoute(): Promise<ImageRoute> {
    return { via: 'host', why: 'built on the host and loaded with kind load' };
  }

  hasImage(image: string) {
    return this.docker.execIn(`${this.name}-control-plane`, ['crictl', 'inspecti', `docker.io/library/${image}`]);
  }

  /**
   * `kind load docker-image` fails with "content digest … not found" when Docker keeps images in
   * its containerd image store (kubernetes-sigs/kind#3795): the image then goes through a
   * `docker save` tarball and `kind load image-archive`, which that store does not affect.
   */
  async loadImage(image: string, logFile?: string): Promise<void> {
    const r = await this.kind.loadImage(this.name, image, logFile);
    if (r.ok) return;
    if (!/content digest .* not found/i.test(r.output)) {
      throw new UserError(`kind could not load ${image} into cluster ${this.name}`, r.output.trim().split('\n').slice(-4).join('\n'));
    }
    const dir = mkdtempSync(join(tmpdir(), 'taskflow-image-'));
    try {
      const archive = join(dir, 'image.tar');
      await this.docker.save(image, archive, logFile);
      await this.kind.loadArchive(this.name, archive, logFile);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async access(host: string, port: number, lb: LoadBalancerPorts = {}): Promise<AccessInfo> {
    return accessOf('kind', this.name, host, port, lb);
  }
}

export class DockerDesktopCluster implements ClusterDriver {
  readonly driver = 'docker-desktop' as const;
  readonly hasAddons = false;
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

  async repairContext(): Promise<void> {
    throw new PrerequisiteError('the docker-desktop kube context is not usable', 'Reset it in Docker Desktop (Settings → Kubernetes), then rerun.');
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

  async imageRoute(): Promise<ImageRoute> {
    return { via: 'host', why: "built in Docker's own image store, which the cluster uses" };
  }

  async loadImage(): Promise<void> {
    /* the cluster uses Docker's own image store */
  }

  async access(host: string, port: number, lb: LoadBalancerPorts = {}): Promise<AccessInfo> {
    return accessOf('docker-desktop', 'docker-desktop', host, port, lb);
  }
}

/** The cluster the settings name (TASKFLOW_DRIVER, TASKFLOW_CLUSTER_NAME). */
export function makeCluster(config: Config, t: Tools): ClusterDriver {
  const s = config.settings;
  switch (s.TASKFLOW_DRIVER) {
    case 'minikube':
      return new MinikubeCluster(t.minikube, s.TASKFLOW_CLUSTER_NAME, t.docker);
    case 'kind':
      return new KindCluster(t.kind, t.docker, s.TASKFLOW_CLUSTER_NAME);
    case 'docker-desktop':
      return new DockerDesktopCluster(t.docker, () => t.kubectl.ready('docker-desktop'));
  }
}

/**
 * The kube context to deploy into must be in the kubeconfig: the cluster's own, or the one named
 * explicitly. `contexts` is the list already read, when there is one.
 */
export async function checkContext(config: Config, kubectl: Kubectl, cluster: ClusterDriver, contexts?: string[]): Promise<string> {
  const explicit = config.settings.TASKFLOW_KUBE_CONTEXT;
  const wanted = explicit || cluster.context;
  const known = contexts ?? (await kubectl.contexts());
  if (!known.includes(wanted)) {
    const current = await kubectl.currentContext();
    throw new PrerequisiteError(
      `kube context "${wanted}" is not in your kubeconfig${current ? ` (the current context is "${current}", which setup will not touch)` : ''}`,
      explicit
        ? `Check TASKFLOW_KUBE_CONTEXT / --context: kubectl config get-contexts lists ${known.join(', ') || 'none'}.`
        : cluster.driver === 'minikube'
          ? `Run: minikube update-context -p ${config.settings.TASKFLOW_CLUSTER_NAME}, then rerun setup.`
          : `The ${cluster.driver} cluster did not write its context; recreate it or name one with --context.`,
    );
  }
  return wanted;
}
