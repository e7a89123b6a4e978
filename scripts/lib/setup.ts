// `setup`: preflight → configuration → cluster → addons → namespace → images → release → report.
// Each step observes first, decides with a pure function, acts only when needed, and says what it found.
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { loadConfig, type Config, type SettingKey } from './config.ts';
import { applyEnvFile, planEnvFile } from './env-file.ts';
import { DockerDesktopCluster, KindCluster, MinikubeCluster, type ClusterDriver } from './cluster.ts';
import { InputError, PrerequisiteError, UserError } from './errors.ts';
import { Exec, registerSecret } from './exec.ts';
import { contentTag, decideImage, type ImageSource } from './images.ts';
import { chartFullname as releaseFullname } from './names.ts';
import { chartHash, decideRelease, diagnose, mergeValues, readValuesFile, releaseValues, scaledValues, toYaml, type Values } from './release.ts';
import { Docker } from './tools/docker.ts';
import { checkHelmVersion, Helm, HelmRelease } from './tools/helm.ts';
import { Kind } from './tools/kind.ts';
import { Kubectl } from './tools/kubectl.ts';
import { Minikube } from './tools/minikube.ts';
import { installHints, formatVersion } from './tools/versions.ts';
import { Ui } from './ui.ts';

export type SetupOptions = {
  root: string;
  dryRun: boolean;
  verbose: boolean;
  json: boolean;
  skipBuild: boolean;
  yes: boolean;
  timeout: string;
  flags: Partial<Record<SettingKey, { value: string; flag: string }>>;
};

export type Tools = { exec: Exec; docker: Docker; kubectl: Kubectl; helm: Helm; release: HelmRelease; minikube: Minikube; kind: Kind };

export function makeTools(exec: Exec, helmBin = 'helm'): Tools {
  return {
    exec,
    docker: new Docker(exec),
    kubectl: new Kubectl(exec),
    helm: new Helm(exec, helmBin),
    release: new HelmRelease(exec, helmBin),
    minikube: new Minikube(exec),
    kind: new Kind(exec),
  };
}

export function makeCluster(config: Config, t: Tools): ClusterDriver {
  const s = config.settings;
  switch (s.TASKFLOW_DRIVER) {
    case 'minikube':
      return new MinikubeCluster(t.minikube, s.TASKFLOW_CLUSTER_NAME);
    case 'kind':
      return new KindCluster(t.kind, t.docker, s.TASKFLOW_CLUSTER_NAME);
    case 'docker-desktop':
      return new DockerDesktopCluster(t.docker, () => t.kubectl.ready('docker-desktop'));
  }
}

/** Runs a version check and turns "not found" into the tool's install hint. */
async function tool<T>(name: string, check: () => Promise<T>): Promise<T> {
  try {
    return await check();
  } catch (err) {
    if (err instanceof PrerequisiteError && /not found on PATH/.test(err.message)) {
      throw new PrerequisiteError(`${name} was not found on PATH`, installHints[name] ?? `Install ${name} and rerun.`);
    }
    throw err;
  }
}

/** Preflight: every tool present and recent enough, Docker answering, resources enough. Read-only. */
export async function preflight(config: Config, t: Tools, cluster: ClusterDriver): Promise<{ helmMajor: number; summary: string }> {
  const s = config.settings;
  const dockerInfo = await tool('docker', () => t.docker.info());
  const helmV = await tool('helm', () => t.helm.version());
  checkHelmVersion(helmV);
  const kubectlV = await tool('kubectl', () => t.kubectl.clientVersion());
  const parts = [`docker ${formatVersion(dockerInfo.server)}`, `helm ${helmV.raw}`, `kubectl ${formatVersion(kubectlV)}`];
  for (const name of cluster.tools) {
    const v = await tool(name, () => (name === 'minikube' ? t.minikube.version() : t.kind.version()));
    parts.push(`${name} ${formatVersion(v)}`);
  }
  if (s.TASKFLOW_DRIVER === 'minikube') {
    const haveCpus = dockerInfo.cpus || cpus().length;
    const haveMb = Math.floor((dockerInfo.memoryBytes || totalmem()) / 1024 / 1024);
    const problems: string[] = [];
    if (s.TASKFLOW_CPUS > haveCpus) problems.push(`TASKFLOW_CPUS=${s.TASKFLOW_CPUS} but Docker has ${haveCpus} CPUs`);
    if (s.TASKFLOW_MEMORY_MB > haveMb) problems.push(`TASKFLOW_MEMORY_MB=${s.TASKFLOW_MEMORY_MB} but Docker has ${haveMb} MiB`);
    if (problems.length) {
      throw new PrerequisiteError(`not enough resources for the cluster: ${problems.join('; ')}`, 'Lower TASKFLOW_CPUS / TASKFLOW_MEMORY_MB in env/.env, or give Docker more in its settings.');
    }
  }
  return { helmMajor: helmV.major, summary: parts.join(', ') };
}

/** The kube context to deploy into: the cluster's own, or one named explicitly. */
export async function checkContext(config: Config, t: Tools, cluster: ClusterDriver): Promise<string> {
  const explicit = config.settings.TASKFLOW_KUBE_CONTEXT;
  const wanted = explicit || cluster.context;
  const contexts = await t.kubectl.contexts();
  if (!contexts.includes(wanted)) {
    const current = await t.kubectl.currentContext();
    throw new PrerequisiteError(
      `kube context "${wanted}" is not in your kubeconfig${current ? ` (the current context is "${current}", which setup will not touch)` : ''}`,
      explicit
        ? `Check TASKFLOW_KUBE_CONTEXT / --context: kubectl config get-contexts lists ${contexts.join(', ') || 'none'}.`
        : cluster.driver === 'minikube'
          ? `Run: minikube update-context -p ${config.settings.TASKFLOW_CLUSTER_NAME}, then rerun setup.`
          : `The ${cluster.driver} cluster did not write its context; recreate it or name one with --context.`,
    );
  }
  return wanted;
}

export function imageSources(config: Config): ImageSource[] {
  const s = config.settings;
  const mirrors = (keys: string[]) => Object.fromEntries(keys.filter((k) => s[k as SettingKey]).map((k) => [k, String(s[k as SettingKey])]));
  return [
    { component: 'backend', contextDir: resolve(config.root, s.TASKFLOW_BACKEND_DIR), dockerfile: join(config.root, 'docker', 'backend.Dockerfile'), buildArgs: mirrors(['PIP_INDEX_URL']) },
    { component: 'frontend', contextDir: resolve(config.root, s.TASKFLOW_FRONTEND_DIR), dockerfile: join(config.root, 'docker', 'frontend.Dockerfile'), buildArgs: mirrors(['NPM_CONFIG_REGISTRY']) },
  ];
}

export function imageRepository(config: Config, component: string): string {
  const reg = config.settings.TASKFLOW_IMAGE_REGISTRY;
  return reg ? `${reg}/taskflow-${component}` : `taskflow-${component}`;
}

export async function runSetup(opts: SetupOptions, helmBin: string): Promise<number> {
  const ui = new Ui({ json: opts.json });
  const exec = new Exec({ dryRun: opts.dryRun, verbose: opts.verbose || opts.dryRun });
  const t = makeTools(exec, helmBin);
  const started = Date.now();

  // Configuration is validated before any process runs: a bad setting changes nothing.
  let config = loadConfig({ root: opts.root, flags: opts.flags });
  const s0 = config.settings;
  for (const dir of [s0.TASKFLOW_BACKEND_DIR, s0.TASKFLOW_FRONTEND_DIR]) {
    if (!existsSync(resolve(opts.root, dir))) {
      throw new InputError(`build context ${dir} does not exist`, 'Set TASKFLOW_BACKEND_DIR / TASKFLOW_FRONTEND_DIR in env/.env to your app\'s directories.');
    }
  }
  const cluster = makeCluster(config, t);
  ui.info(`taskflow setup: ${s0.TASKFLOW_DRIVER}, profile ${s0.TASKFLOW_PROFILE}, namespace ${s0.TASKFLOW_NAMESPACE}${opts.dryRun ? ' (dry run: nothing will change)' : ''}`);

  let helmMajor = 3;
  try {
    await ui.step('preflight', async () => {
      const r = await preflight(config, t, cluster);
      helmMajor = r.helmMajor;
      return { status: 'done', detail: r.summary };
    });

    let s = config.settings;

    let clusterRunning = false;
    await ui.step(`cluster (${s.TASKFLOW_DRIVER} ${s.TASKFLOW_CLUSTER_NAME})`, async () => {
      const obs = await cluster.observe();
      if (obs.state === 'running') {
        clusterRunning = true;
        return { status: 'skipped', detail: `running, reused (${obs.detail})` };
      }
      await cluster.start(s.TASKFLOW_CPUS, s.TASKFLOW_MEMORY_MB);
      clusterRunning = !opts.dryRun;
      const verb = obs.state === 'missing' ? 'created' : 'started';
      return { status: 'done', detail: `${opts.dryRun ? `would be ${verb}` : verb} (was ${obs.state}) with ${s.TASKFLOW_CPUS} CPUs, ${s.TASKFLOW_MEMORY_MB} MiB` };
    });
    if (!clusterRunning) {
      // Dry run with no cluster yet: nothing further can be read from it, so show what a real run would do.
      await dryRunWithoutCluster(ui, config, t, opts);
      return 0;
    }

    let context = '';
    await ui.step('kube context', async () => {
      context = await checkContext(config, t, cluster);
      return { status: 'skipped', detail: `${context} (passed explicitly to every kubectl and helm call)` };
    });

    // Secrets are written only once the cluster and context are known good, so a refused run leaves the file alone.
    await ui.step('configuration', async () => {
      const plan = planEnvFile(config.envFileExists, { BETTER_AUTH_SECRET: config.settings.BETTER_AUTH_SECRET, POSTGRES_PASSWORD: config.settings.POSTGRES_PASSWORD });
      const envLabel = config.envFile.startsWith(opts.root) ? config.envFile.slice(opts.root.length).replace(/^[\\/]/, '') : config.envFile;
      if (!plan.create && plan.fill.length === 0) return { status: 'skipped', detail: `${envLabel} valid, secrets kept` };
      // A Secret left by an earlier install (a lost env file, cleanup --keep-data) holds the values its
      // database volume was created with: take those rather than new ones.
      const live = (await t.kubectl.secretData(context, s.TASKFLOW_NAMESPACE, releaseFullname(s.TASKFLOW_RELEASE))) ?? {};
      for (const v of Object.values(live)) registerSecret(v);
      const adopted = Object.fromEntries(plan.fill.filter((k) => live[k]).map((k) => [k, live[k] as string]));
      const source = plan.fill.map((k) => `${k} (${adopted[k] ? 'taken from the cluster' : 'generated'})`).join(', ');
      if (opts.dryRun) return { status: 'done', detail: `would ${plan.create ? `create ${envLabel} with` : `add to ${envLabel}`} ${source}` };
      applyEnvFile(opts.root, config.envFile, plan, adopted);
      config = loadConfig({ root: opts.root, flags: opts.flags });
      s = config.settings;
      return { status: 'done', detail: `${plan.create ? `created ${envLabel}` : `updated ${envLabel}`}: ${source}; kept for every rerun, never committed` };
    });
    const profileFile = join(opts.root, 'helm', 'taskflow', `values-${s.TASKFLOW_PROFILE}.yaml`);
    const profileValues = readValuesFile(profileFile);
    const hpaOn = Boolean((profileValues.autoscaling as Values | undefined)?.enabled);
    await ui.step('addons', async () => {
      const addons = await cluster.addons();
      if (!addons) return { status: 'skipped', detail: `${s.TASKFLOW_DRIVER} has no addons; use port-forward (an ingress controller is yours to install)` };
      const wanted = ['ingress', ...(hpaOn ? ['metrics-server'] : [])];
      const missing = wanted.filter((a) => !addons[a]);
      for (const a of missing) await cluster.enableAddon(a);
      if (missing.length === 0) return { status: 'skipped', detail: `${wanted.join(', ')} already enabled` };
      return { status: 'done', detail: `enabled ${missing.join(', ')}` };
    });

    await ui.step(`namespace ${s.TASKFLOW_NAMESPACE}`, async () => {
      let state = await t.kubectl.namespace(context, s.TASKFLOW_NAMESPACE);
      if (state === 'active') return { status: 'skipped', detail: 'exists' };
      if (state === 'terminating') {
        ui.info(`  namespace ${s.TASKFLOW_NAMESPACE} is still being deleted (an earlier cleanup); waiting for it to go…`);
        const deadline = Date.now() + 180_000;
        while (state === 'terminating' && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 2000));
          state = await t.kubectl.namespace(context, s.TASKFLOW_NAMESPACE);
        }
        if (state === 'terminating') {
          throw new UserError(`namespace ${s.TASKFLOW_NAMESPACE} is still terminating after 3 minutes`, `See what holds it: kubectl --context ${context} get all,pvc -n ${s.TASKFLOW_NAMESPACE}; then rerun setup.`);
        }
        if (state === 'active') return { status: 'skipped', detail: 'exists' };
      }
      await t.kubectl.createNamespace(context, s.TASKFLOW_NAMESPACE);
      return { status: 'done', detail: opts.dryRun ? 'would be created' : 'created' };
    });

    const images = { backend: { repository: '', tag: '' }, frontend: { repository: '', tag: '' } };
    await ui.step('images', async () => {
      const sources = imageSources(config);
      // With a registry the cluster pulls: images are pushed there instead of loaded into the cluster.
      const registry = s.TASKFLOW_IMAGE_REGISTRY;
      const where = registry ? 'the registry' : 'the cluster';
      const atTarget = (ref: string) => (registry ? t.docker.inRegistry(ref) : cluster.hasImage(ref));
      const deliver = (ref: string, log: string) => (registry ? t.docker.push(ref, log) : cluster.loadImage(ref, log));
      const sharesDocker = !registry && cluster.sharesDockerImages;
      const plans = await Promise.all(
        sources.map(async (src) => {
          const tag = contentTag(src);
          const repository = imageRepository(config, src.component);
          const ref = `${repository}:${tag}`;
          images[src.component as 'backend' | 'frontend'] = { repository, tag };
          const found = await atTarget(ref);
          const inLocalDocker = found ? false : await t.docker.hasImage(ref);
          return { src, ref, verdict: decideImage({ atTarget: found, inLocalDocker }, { skipBuild: opts.skipBuild, clusterSharesDocker: sharesDocker }) };
        }),
      );
      const missing = plans.filter((p) => p.verdict.action === 'skip-build');
      if (missing.length) {
        throw new InputError(`--skip-build, but ${missing.map((p) => p.ref).join(' and ')} ${missing.length > 1 ? 'are' : 'is'} in neither ${where} nor local Docker`, 'Run setup without --skip-build once.');
      }
      const builds = plans.filter((p) => p.verdict.action === 'build');
      const logDir = join(opts.root, '.cache', 'logs');
      if (builds.length) ui.info(`  building ${builds.map((b) => b.ref).join(', ')} (output in .cache/logs/build-*.log)`);
      await Promise.all(
        builds.map((b) =>
          t.docker
            .build({ image: b.ref, dockerfile: b.src.dockerfile, context: b.src.contextDir, buildArgs: b.src.buildArgs, logFile: join(logDir, `build-${b.src.component}.log`) })
            .catch((err: Error) => {
              throw new UserError(`building ${b.ref} failed; the full output is in .cache/logs/build-${b.src.component}.log`, err.message.split('\n').slice(-8).join('\n'));
            }),
        ),
      );
      const deliveries = plans.filter((p) => p.verdict.action === 'deliver' || (p.verdict.action === 'build' && p.verdict.deliver));
      for (const d of deliveries) await deliver(d.ref, join(logDir, `${registry ? 'push' : 'load'}-${d.src.component}.log`));
      const delivered = registry ? 'pushed' : 'loaded';
      const lines = plans.map((p) => {
        const v = p.verdict;
        const what = v.action === 'none' ? `found in ${where}, skipping build` : v.action === 'deliver' ? `built already, ${delivered}` : sharesDocker ? 'built' : `built and ${delivered}`;
        return `${p.src.component} ${p.ref.split(':').pop()}: ${what}`;
      });
      return builds.length || deliveries.length ? { status: 'done', detail: lines.join('; ') } : { status: 'skipped', detail: lines.join('; ') };
    });

    const access = await cluster.access(s.TASKFLOW_INGRESS_HOST, s.TASKFLOW_FRONTEND_PORT);
    const scope = { release: s.TASKFLOW_RELEASE, namespace: s.TASKFLOW_NAMESPACE, context };
    await ui.step(`release ${s.TASKFLOW_RELEASE}`, async () => {
      const chartDir = join(opts.root, 'helm', 'taskflow');
      const overrides = releaseValues({
        settings: s,
        images,
        origins: [access.portForward, ...(access.ingress ? [access.ingress.url] : [])],
        chartHash: chartHash(chartDir),
      });
      const info = await t.release.status(scope);
      const history = info ? await t.release.history(scope) : [];
      const currentValues = info?.status === 'deployed' ? await t.release.values(scope) : undefined;
      // Replica counts and the HPA switch set by `scale` stay as they are: Helm holds them, setup keeps them.
      const stdinValues = mergeValues(overrides, scaledValues(currentValues, s.TASKFLOW_PROFILE));
      // What `helm get values` will return after the upgrade: the profile file, then stdin.
      const desired = mergeValues(profileValues, stdinValues);
      const verdict = decideRelease({ info, history, currentValues }, desired);
      if (verdict.action === 'none') return { status: 'skipped', detail: `unchanged: ${verdict.reason}` };
      if (verdict.action === 'rollback-then-upgrade') {
        ui.info(`  release ${verdict.reason}: rolling back to revision ${verdict.revision} first`);
        await t.release.rollback(scope, verdict.revision, helmMajor, opts.timeout);
      }
      if (verdict.action === 'uninstall-then-install') {
        ui.info(`  release ${verdict.reason}: uninstalling it first`);
        await t.release.uninstall(scope, opts.timeout);
      }
      const r = await t.release.upgrade({ ...scope, chart: chartDir, valuesFiles: [profileFile], stdinValues: toYaml(stdinValues), timeout: opts.timeout, major: helmMajor });
      if (!r.ok) {
        const why = await diagnose(t.kubectl, context, s.TASKFLOW_NAMESPACE, s.TASKFLOW_RELEASE);
        throw new UserError(
          `helm upgrade failed and the release was rolled back:\n${r.output.split('\n').slice(-6).join('\n')}\n${why}`,
          `Fix the cause above and rerun setup. History: helm history ${s.TASKFLOW_RELEASE} -n ${s.TASKFLOW_NAMESPACE} --kube-context ${context}`,
        );
      }
      const did = verdict.action === 'install' || verdict.action === 'uninstall-then-install' ? 'installed' : 'upgraded';
      return { status: 'done', detail: `${opts.dryRun ? `would be ${did}` : did} (${verdict.reason}), all pods ready` };
    });

    ui.info('');
    ui.info(`The app (${s.TASKFLOW_PROFILE}) is ready in ${((Date.now() - started) / 1000).toFixed(1)}s:`);
    ui.info(`  port-forward:  npx tsx scripts/port-forward.ts   then open ${access.portForward}`);
    if (access.ingress) {
      ui.info(`  ingress:       ${access.ingress.url}`);
      for (const step of access.ingress.steps) ui.info(`                 ${step}`);
    }
    ui.info('  next:          make validate · make port-forward · make scale ARGS="--frontend 2" · make cleanup');
    ui.finish({ access, images });
    return 0;
  } catch (err) {
    ui.finish({ error: (err as Error).message.split('\n')[0] });
    throw err;
  }
}

/** The rest of the plan when a dry run finds no running cluster to read from. */
async function dryRunWithoutCluster(ui: Ui, config: Config, t: Tools, opts: SetupOptions): Promise<void> {
  const s = config.settings;
  const plan = planEnvFile(config.envFileExists, { BETTER_AUTH_SECRET: s.BETTER_AUTH_SECRET, POSTGRES_PASSWORD: s.POSTGRES_PASSWORD });
  await ui.step('configuration', async () =>
    plan.create || plan.fill.length
      ? { status: 'done', detail: `would ${plan.create ? 'create the env file with' : 'add to the env file'} generated ${plan.fill.join(', ')}` }
      : { status: 'skipped', detail: 'valid, secrets kept' },
  );
  const hpaOn = Boolean((readValuesFile(join(opts.root, 'helm', 'taskflow', `values-${s.TASKFLOW_PROFILE}.yaml`)).autoscaling as Values | undefined)?.enabled);
  if (s.TASKFLOW_DRIVER === 'minikube') {
    await ui.step('addons', async () => ({ status: 'done', detail: `would enable ${['ingress', ...(hpaOn ? ['metrics-server'] : [])].join(', ')}` }));
  }
  await ui.step(`namespace ${s.TASKFLOW_NAMESPACE}`, async () => ({ status: 'done', detail: 'would be created' }));
  await ui.step('images', async () => {
    const lines = await Promise.all(
      imageSources(config).map(async (src) => {
        const ref = `${imageRepository(config, src.component)}:${contentTag(src)}`;
        const built = await t.docker.hasImage(ref);
        return `${ref}: would ${built ? '' : 'build and '}${s.TASKFLOW_IMAGE_REGISTRY ? 'push' : 'load'}`;
      }),
    );
    return { status: 'done', detail: lines.join('; ') };
  });
  await ui.step(`release ${s.TASKFLOW_RELEASE}`, async () => ({ status: 'done', detail: `would be installed with values-${s.TASKFLOW_PROFILE}.yaml and the generated values on stdin` }));
  ui.info('  (the cluster is not running yet, so these steps could not read its state)');
  ui.finish({ dryRun: true });
}
