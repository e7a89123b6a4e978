// The one start-up every command shares: its output (Ui), its process seam (Exec), the typed
// tools, the validated configuration, the cluster the settings name and the scope (release,
// namespace, kube context) every helm and kubectl call is given.
import { makeCluster, type ClusterDriver } from '../cluster/drivers.ts';
import { loadConfig, type Config } from '../app/config.ts';
import { Exec } from './exec.ts';
import { makeTools, type Tools } from '../tools/index.ts';
import { Ui } from './ui.ts';

/** Setting overrides from flags, with the flag that set each (for error messages). */
export type FlagOverrides = Partial<Record<string, { value: string; flag: string }>>;

export type SessionOptions = {
  root: string;
  flags: FlagOverrides;
  dryRun?: boolean;
  verbose?: boolean;
  json?: boolean;
  /** The helm to run; TASKFLOW_HELM (by default `helm` on PATH) when not given. */
  helmBin?: string;
  /** Replaces the Ui (tests, and commands whose output is not steps). */
  ui?: Ui;
  /** The configuration, when the command has loaded it already (validate records loading it as a check). */
  config?: Config;
};

/** What every helm and kubectl call is pointed at. */
export type Scope = { release: string; namespace: string; context: string };

export type Session = {
  readonly root: string;
  readonly dryRun: boolean;
  readonly verbose: boolean;
  readonly ui: Ui;
  readonly exec: Exec;
  readonly tools: Tools;
  readonly cluster: ClusterDriver;
  /** The validated configuration; `reload()` reads it again after setup writes env/.env. */
  readonly config: Config;
  /** TASKFLOW_KUBE_CONTEXT (--context) when set, else the cluster's own context. */
  readonly context: string;
  readonly scope: Scope;
  reload(): Config;
};

/**
 * Opens a command's session. The configuration is loaded and validated before anything else, so a
 * bad setting stops the command (exit 2) before any process has run.
 */
export async function openSession(opts: SessionOptions): Promise<Session> {
  let config = opts.config ?? loadConfig({ root: opts.root, flags: opts.flags });
  const dryRun = opts.dryRun === true;
  const verbose = opts.verbose === true;
  const ui = opts.ui ?? new Ui({ json: opts.json === true });
  const exec = new Exec({ dryRun, verbose: verbose || dryRun });
  const s = config.settings;
  const tools = makeTools(exec, opts.helmBin ?? s.TASKFLOW_HELM);
  const cluster = makeCluster(config, tools);
  const context = s.TASKFLOW_KUBE_CONTEXT || cluster.context;
  return {
    root: opts.root,
    dryRun,
    verbose,
    ui,
    exec,
    tools,
    cluster,
    get config() {
      return config;
    },
    context,
    scope: { release: s.TASKFLOW_RELEASE, namespace: s.TASKFLOW_NAMESPACE, context },
    reload() {
      // Only the env file changed (setup wrote its secrets): the app declaration read at start stands.
      config = loadConfig({ root: opts.root, flags: opts.flags, app: config.app });
      return config;
    },
  };
}
