// `render`: the manifests setup would install, with no cluster and no side effects. The values are
// setup's own (installValues: the declaration, the settings, the content tags setup would build,
// the access URLs the driver gives), rendered by the real `helm template`; every Secret value is
// masked, and any secret value found anywhere else too.
import { relative, resolve } from 'node:path';
import { parseAllDocuments, Scalar, visit } from 'yaml';
import { plannedAccess } from '../app/components.ts';
import { generatedSecrets, planEnvFile } from '../app/env-file.ts';
import { InputError, UserError } from '../core/errors.ts';
import { expectedImageRefs } from '../images/tag.ts';
import { manifestFileName, observeManifestDir, planManifestDir, writeManifestDir } from './out-dir.ts';
import { maskedReleaseValues, maskSecretDocument } from '../core/masked.ts';
import { accessOrigins } from '../cluster/drivers.ts';
import { chartDir, type Values } from '../app/values.ts';
import { installValues } from '../release/apply.ts';
import { mask } from '../core/secrets.ts';
import type { Session } from '../core/session.ts';
import { checkHelmVersion, toYaml } from '../tools/helm.ts';

export type RenderOptions = {
  /** Write one file per object into this directory instead of printing them. */
  out?: string;
  /** Where the manifests (or, with `out`, the count of files written) go: stdout. */
  write?: (text: string) => void;
};

/** One rendered object, masked, as it is printed or written. */
export type RenderedObject = {
  kind: string;
  name: string;
  /** Its YAML, helm's `# Source:` line included. */
  text: string;
  /** A Secret's keys (its values are masked). */
  secretKeys?: string[];
};

/**
 * Splits `helm template` output into objects, masks each Secret's values, then masks every
 * registered secret value (env/.env, the app's secret settings) wherever else it appears, naming
 * the objects it was found in: a secret must never leave the Secret.
 */
export function maskedObjects(helmOutput: string): { objects: RenderedObject[]; leaks: string[] } {
  const objects: RenderedObject[] = [];
  const leaks: string[] = [];
  for (const doc of parseAllDocuments(helmOutput)) {
    if (doc.errors.length) throw new UserError(`helm template printed YAML that does not parse: ${doc.errors[0]?.message}`, 'A template writes invalid YAML: run helm template on the chart to see where.');
    const obj = doc.toJS() as { kind?: string; metadata?: { name?: string } } | null;
    if (!obj || typeof obj !== 'object') continue;
    const kind = String(obj.kind ?? '');
    const name = String(obj.metadata?.name ?? '');
    if (!kind || !name) throw new UserError(`helm template printed an object without a kind or a name:\n${mask(doc.toString()).slice(0, 400)}`);
    const secretKeys = maskSecretDocument(doc);
    // Masked value by value, quoted: a bare *** in the text would read as a YAML alias.
    let leaked = false;
    visit(doc, {
      Scalar(_, node) {
        if (typeof node.value !== 'string') return;
        const masked = mask(node.value);
        if (masked === node.value) return;
        node.value = masked;
        node.type = Scalar.QUOTE_DOUBLE;
        leaked = true;
      },
    });
    // Each object's text starts at its `# Source:` line; the `---` between them is the printer's.
    doc.directives.docStart = null;
    const text = doc.toString();
    // What is left is comments: masked as text.
    const masked = mask(text);
    if (leaked || masked !== text) leaks.push(`${kind}/${name}`);
    objects.push({ kind, name, text: masked, ...(secretKeys ? { secretKeys } : {}) });
  }
  return { objects, leaks };
}

function countKinds(objects: RenderedObject[]): string {
  const counts = new Map<string, number>();
  for (const o of objects) counts.set(o.kind, (counts.get(o.kind) ?? 0) + 1);
  return [...counts].map(([k, n]) => (n > 1 ? `${n} ${k}` : k)).join(', ');
}

/** The secrets setup generates into env/.env on its first run that it holds no value for yet. */
function secretsNotYetGenerated(sn: Session): string[] {
  const c = sn.config;
  const present = { BETTER_AUTH_SECRET: c.settings.BETTER_AUTH_SECRET, POSTGRES_PASSWORD: c.settings.POSTGRES_PASSWORD, ...c.appValues };
  return planEnvFile(c.envFileExists, present, generatedSecrets(c)).fill;
}

/**
 * The chart's own Secret keys it draws at random when the values give none (templates/_secrets.tpl
 * taskflow.secretData): on upgrade it keeps the live value (lookup), but helm template has no
 * cluster to look in, so each render draws a new one.
 */
function drawnByChart(values: Values, secretKeys: string[]): string[] {
  const secrets = (values.secrets ?? {}) as Record<string, unknown>;
  const pg = (values.postgresql ?? {}) as { auth?: { password?: unknown } };
  const given: Record<string, boolean> = {
    BETTER_AUTH_SECRET: Boolean(secrets.betterAuthSecret),
    POSTGRES_PASSWORD: Boolean(pg.auth?.password),
    MCP_SHARED_SECRET: Boolean(secrets.mcpSharedSecret),
  };
  return Object.keys(given).filter((k) => secretKeys.includes(k) && !given[k]);
}

/** Why the Secret's values (and so the pods' checksum/secret annotation) are not the ones setup installs, if they are not. */
function secretNotes(sn: Session, values: Values, secretKeys: string[]): string[] {
  const config = sn.config;
  const missing = secretsNotYetGenerated(sn);
  const drawn = drawnByChart(values, secretKeys).filter((k) => !missing.includes(k));
  const envLabel = config.envFile.startsWith(sn.root) ? relative(sn.root, config.envFile) : config.envFile;
  const list = (keys: string[]) => `${keys.join(', ')} ${keys.length > 1 ? 'are' : 'is'}`;
  const notes: string[] = [];
  if (missing.length) notes.push(`${list(missing)} not in ${envLabel} yet: setup generates ${missing.length > 1 ? 'them' : 'it'} on its first run`);
  if (drawn.length) notes.push(`${list(drawn)} not set: the chart draws ${drawn.length > 1 ? 'them' : 'one'} at random on each render, where setup keeps the cluster's (set ${drawn.length > 1 ? 'them' : 'it'} in ${envLabel} for a stable render)`);
  return notes.length ? [`note: ${notes.join('; ')}. So the pods' checksum/secret annotation differs from what setup installs.`] : [];
}

/**
 * Renders the release as setup would install it. Reads files and runs `helm version` and `helm
 * template`, nothing else: no cluster, no image build, no env/.env written.
 */
export async function runRender(sn: Session, opts: RenderOptions = {}): Promise<number> {
  const write = opts.write ?? ((text: string) => process.stdout.write(text));
  const { ui } = sn;
  const config = sn.config;
  const s = config.settings;
  const helm = await sn.tools.helm.version();
  checkHelmVersion(helm);

  // What setup would compute: the tags it would build, the URLs the driver serves (without asking
  // the cluster: only hint text depends on it), and from them the values it passes helm.
  const images = expectedImageRefs(config);
  const values = installValues(sn, images, accessOrigins(plannedAccess(config)));
  const text = await sn.tools.helm.template(chartDir(sn.root), {
    release: sn.scope.release,
    namespace: sn.scope.namespace,
    valuesFiles: [values.profileFile],
    stdinValues: toYaml(values.stdinValues),
    shownValues: toYaml(maskedReleaseValues(values.stdinValues)),
    // `kubectl apply` of a test hook would run it, and setup never runs one either.
    skipTests: true,
  });
  const { objects, leaks } = maskedObjects(text);

  const secrets = objects.filter((o) => o.secretKeys);
  for (const note of secretNotes(sn, values.stdinValues, secrets.flatMap((o) => o.secretKeys ?? []))) ui.info(note);
  for (const leak of leaks) ui.info(`warning: a secret value from your settings appears in ${leak}, outside the Secret; it is masked as *** here. Fix: give it to the component through its secrets: list in env/app.yaml, not through env: or a plain setting`);
  const summary = `${objects.length} objects for profile ${s.TASKFLOW_PROFILE} (helm ${helm.raw}): ${countKinds(objects)}; helm test hooks left out`;

  if (opts.out === undefined) {
    write(objects.map((o) => `---\n${o.text}`).join(''));
    for (const o of secrets) ui.info(`Secret ${o.name}: ${o.secretKeys?.join(', ') || 'no keys'} (values masked)`);
    ui.info(`rendered ${summary}`);
    return 0;
  }

  // A masked Secret in a directory meant for `kubectl apply -f` would replace the real values.
  const byFile = new Map<string, RenderedObject>();
  for (const o of objects.filter((x) => !x.secretKeys)) {
    const name = manifestFileName(o.kind, o.name);
    const other = byFile.get(name);
    if (other) throw new UserError(`${other.kind}/${other.name} and ${o.kind}/${o.name} would both be written to ${name}`, 'Give the objects distinct names.');
    byFile.set(name, o);
  }
  const files = [...byFile].map(([name, o]) => ({ name, text: o.text }));
  const dir = resolve(opts.out);
  const state = observeManifestDir(dir);
  const plan = planManifestDir(state, files.map((f) => f.name), opts.out);
  if (!plan.ok) throw new InputError(plan.problem, plan.hint);
  writeManifestDir(dir, files, plan, state.kind === 'directory' ? state.written : []);
  const removed = plan.remove.length ? `; removed ${plan.remove.length} stale (${plan.remove.join(', ')})` : '';
  write(`wrote ${files.length} files to ${opts.out}${removed}\n`);
  for (const o of secrets) {
    ui.info(`Secret ${o.name} (${o.secretKeys?.join(', ') || 'no keys'}) is not written: its values are masked, and applying it would replace the real ones. Create it in the cluster yourself, or let setup install it.`);
  }
  // As helm template prints them, the objects name no namespace: helm install gives them its own.
  ui.info(`to apply them: kubectl -n ${sn.scope.namespace} apply -f ${opts.out} (the objects name no namespace, as helm template prints them)`);
  ui.info(`rendered ${summary}`);
  return 0;
}
