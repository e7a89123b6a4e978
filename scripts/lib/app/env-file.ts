// Creates env/.env from .env.example with strong random secrets, or fills in the secrets an
// existing file lacks. Never overwrites a value that is set; writes atomically with mode 0600.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { chartFullname } from '../core/names.ts';
import { registerSecret } from '../core/secrets.ts';
import type { Config } from './config.ts';
import type { Session } from '../core/session.ts';
import type { StepOutcome } from '../core/ui.ts';

/** Secrets setup generates when they are missing, with their length. */
export const GENERATED_SECRETS = { BETTER_AUTH_SECRET: 48, POSTGRES_PASSWORD: 32 } as const;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random letters and digits (URL- and shell-safe), without modulo bias. */
export function randomSecret(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < 248 && out.length < length) out += ALPHABET[b % 62];
    }
  }
  return out;
}

/** Which secrets to generate, with their lengths: the toolkit's own, then those the app declares. */
export type Generated = Record<string, number>;

export type EnvFilePlan = { create: boolean; fill: string[] };

/** Pure: what must change in the env file, given whether it exists and which secrets it holds. */
export function planEnvFile(exists: boolean, present: Record<string, string | undefined>, wanted: Generated = GENERATED_SECRETS): EnvFilePlan {
  const fill = Object.keys(wanted).filter((k) => !present[k]);
  return { create: !exists, fill };
}

/** Sets KEY=value on its existing empty line, or appends it; other lines stay as they were. */
export function fillKeys(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [key, value] of Object.entries(values)) {
    const line = new RegExp(`^(\\s*(?:export\\s+)?${key}\\s*=)\\s*(?:""|'')?\\s*$`, 'm');
    if (line.test(out)) out = out.replace(line, `$1${value}`);
    else out = `${out.replace(/\n*$/, '\n')}${key}=${value}\n`;
  }
  return out;
}

/**
 * Applies the plan: copies the example when the file is missing, fills the missing secrets (taking
 * `adopted` values where the cluster already has them), and returns what it wrote.
 */
export function applyEnvFile(root: string, envFile: string, plan: EnvFilePlan, adopted: Record<string, string | undefined> = {}, wanted: Generated = GENERATED_SECRETS): Record<string, string> {
  const generated: Record<string, string> = {};
  for (const key of plan.fill) {
    // A value the cluster already uses (a kept Secret) wins over a new one: the data volume expects it.
    generated[key] = adopted[key] || randomSecret(wanted[key] ?? 48);
    registerSecret(generated[key]);
  }
  if (!plan.create && plan.fill.length === 0) return generated;
  const base = plan.create ? readFileSync(join(root, 'env', '.env.example'), 'utf8') : readFileSync(envFile, 'utf8');
  const tmp = `${envFile}.tmp-${process.pid}`;
  writeFileSync(tmp, fillKeys(base, generated), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  // Refuse to replace a file another process created meanwhile: the user's file always wins.
  if (plan.create && existsSync(envFile)) {
    writeFileSync(tmp, '');
    throw new UserError(`${envFile} appeared while setup was writing it`, 'Another setup ran at the same time; rerun setup.');
  }
  renameSync(tmp, envFile);
  return generated;
}

/** The secrets generated once into the env file: the toolkit's own and those the app declares with generate:. */
export function generatedSecrets(config: Config): Generated {
  const declared = Object.entries(config.app.settings).filter(([k, d]) => d.secret && d.generate && !(k in GENERATED_SECRETS));
  return { ...GENERATED_SECRETS, ...Object.fromEntries(declared.map(([k, d]) => [k, d.generate as number])) };
}

/**
 * The configuration step: create the env file or fill in its missing secrets, taking the values a
 * Secret left in the cluster holds (a lost env file, cleanup --keep-data) over new ones, since its
 * database volume was created with them. Runs only once the cluster and context are known good,
 * so a refused run leaves the file alone.
 */
export async function ensureEnvFile(sn: Session, opts: { clusterRunning: boolean }): Promise<StepOutcome> {
  const config = sn.config;
  const s = config.settings;
  const wanted = generatedSecrets(config);
  const present = { BETTER_AUTH_SECRET: s.BETTER_AUTH_SECRET, POSTGRES_PASSWORD: s.POSTGRES_PASSWORD, ...config.appValues };
  const plan = planEnvFile(config.envFileExists, present, wanted);
  const envLabel = config.envFile.startsWith(sn.root) ? config.envFile.slice(sn.root.length).replace(/^[\\/]/, '') : config.envFile;
  if (!plan.create && plan.fill.length === 0) return { status: 'skipped', detail: `${envLabel} valid, secrets kept` };
  const live = opts.clusterRunning ? ((await sn.tools.kubectl.secretData(sn.context, s.TASKFLOW_NAMESPACE, chartFullname(s.TASKFLOW_RELEASE))) ?? {}) : {};
  for (const v of Object.values(live)) registerSecret(v);
  const adopted = Object.fromEntries(plan.fill.filter((k) => live[k]).map((k) => [k, live[k] as string]));
  const source = plan.fill.map((k) => `${k} (${adopted[k] ? 'taken from the cluster' : 'generated'})`).join(', ');
  if (sn.dryRun) return { status: 'done', detail: `would ${plan.create ? `create ${envLabel} with` : `add to ${envLabel}`} ${source}` };
  applyEnvFile(sn.root, config.envFile, plan, adopted, wanted);
  sn.reload();
  return { status: 'done', detail: `${plan.create ? `created ${envLabel}` : `updated ${envLabel}`}: ${source}; kept for every rerun, never committed` };
}
