// `rollback`: shows the release's history, returns to its last good revision (or the one --to
// names) with `helm rollback` and helm's wait, then reads the workloads and says what runs now.
import { hasService } from '../app/declaration.ts';
import { confirm } from '../core/cli.ts';
import { componentStatus } from '../release/component-status.ts';
import { ExitCode, InputError, PrerequisiteError, UserError } from '../core/errors.ts';
import { formatCommand } from '../core/exec.ts';
import { expectedImages } from '../images/tag.ts';
import { diagnose, requireReady } from '../release/readiness.ts';
import { lastGoodRevision } from '../release/decide.ts';
import type { Session } from '../core/session.ts';
import type { HistoryEntry, HistoryRow, ReleaseInfo } from '../tools/helm.ts';

export type RollbackOptions = {
  /** The raw --to value, checked before any process runs. */
  to?: string;
  yes: boolean;
  timeout: string;
};

/** --to: a revision number, a whole number from 1 (helm reads 0 as "the previous one"). */
export function parseRevision(raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) {
    throw new InputError(`--to ${JSON.stringify(raw)} is not a revision number`, 'Give a revision from the history, a whole number from 1, e.g. --to 2 (helm history lists them).');
  }
  return Number(raw);
}

export type RollbackVerdict = { action: 'rollback'; revision: number; reason: string } | { action: 'none'; reason: string };

/**
 * Pure: where to go. --to must name a revision in the history; without it, the newest revision
 * other than the current one that was ever deployed (the one setup itself would return to).
 */
export function planRollback(history: HistoryEntry[], current: Pick<ReleaseInfo, 'revision' | 'status'>, to?: number): RollbackVerdict {
  const known = history.map((h) => h.revision);
  if (to !== undefined) {
    if (!known.includes(to)) {
      throw new InputError(`release has no revision ${to}`, `Choose one of the revisions listed above (${known.join(', ') || 'none'}).`);
    }
    if (to === current.revision && current.status === 'deployed') return { action: 'none', reason: `revision ${to} is the one deployed` };
    return { action: 'rollback', revision: to, reason: `--to ${to}` };
  }
  const good = lastGoodRevision(history, current.revision);
  if (!good) {
    throw new UserError(`release has no earlier revision that was deployed (current: ${current.revision}, ${current.status})`, 'Nothing to roll back to: fix the cause and rerun setup, or name one with --to N.', ExitCode.missingPrerequisite);
  }
  return { action: 'rollback', revision: good.revision, reason: `the last good revision before ${current.revision}` };
}

/** helm's RFC 3339 time as "2026-11-24 10:00:05" in local time; as given when it is not one. */
function shortTime(iso: string): string {
  const d = new Date(iso);
  if (!iso || Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Pure: the history as a table, the current revision and the target marked. */
export function renderHistory(history: HistoryRow[], current: number, target?: number): string[] {
  const rows = [['', 'REVISION', 'UPDATED', 'STATUS', 'CHART', 'DESCRIPTION']];
  for (const h of history) {
    const mark = h.revision === target ? '→' : h.revision === current ? '*' : '';
    rows.push([mark, String(h.revision), shortTime(h.updated), h.status, h.chart, h.description]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  ')}`.trimEnd());
}

export async function runRollback(sn: Session, opts: RollbackOptions): Promise<number> {
  const { ui, tools: t, context, scope } = sn;
  const { release, namespace } = scope;
  const to = opts.to === undefined ? undefined : parseRevision(opts.to);
  ui.info(`taskflow rollback: release ${release}, namespace ${namespace}, context ${context}${sn.dryRun ? ' (dry run: nothing will change)' : ''}`);

  return ui.finishOnError(async () => {
    const { info, history, helm } = await ui.step(`release ${release}`, async () => {
      const [contexts, helm] = await Promise.all([t.kubectl.contexts(), t.helm.version()]);
      if (!contexts.includes(context)) throw new PrerequisiteError(`kube context ${context} does not exist, so there is no release to roll back`, 'Run setup first.');
      if (!(await t.kubectl.ready(context))) throw new PrerequisiteError(`the cluster behind context ${context} does not answer`, 'Start it with setup first.');
      const info = await t.release.status(scope);
      if (!info) throw new PrerequisiteError(`release ${release} is not installed in namespace ${namespace}`, 'Run setup first.');
      const history = await t.release.history(scope);
      return { status: 'skipped', detail: `revision ${info.revision}, ${info.status}; ${history.length} revision${history.length === 1 ? '' : 's'} in the history`, value: { info, history, helm } };
    });

    let verdict: RollbackVerdict;
    try {
      verdict = planRollback(history, info, to);
    } catch (err) {
      // The refusal points at the history, so it is shown first.
      for (const line of renderHistory(history, info.revision)) ui.info(line);
      throw err;
    }
    for (const line of renderHistory(history, info.revision, verdict.action === 'rollback' ? verdict.revision : undefined)) ui.info(line);

    if (verdict.action === 'none') {
      ui.info(`Nothing to do: ${verdict.reason}.`);
      ui.finish({ from: info.revision, history, changed: false });
      return 0;
    }

    const command = formatCommand(t.release.bin, t.release.rollbackArgs(scope, verdict.revision, helm, opts.timeout));
    if (!opts.yes && !sn.dryRun) {
      const question = `Roll release ${release} back from revision ${info.revision} to revision ${verdict.revision}?`;
      if (!process.stdin.isTTY) throw new InputError(`rolling back to revision ${verdict.revision} changes what runs and needs confirmation`, 'Add --yes to confirm (or --dry-run to see the command).');
      if (!(await confirm(question))) {
        ui.info('Not rolled back.');
        ui.finish({ from: info.revision, to: verdict.revision, changed: false });
        return 0;
      }
    }

    await ui.step(`rollback to revision ${verdict.revision}`, async () => {
      try {
        await t.release.rollback(scope, verdict.revision, helm, opts.timeout);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        // helm's wait failed: the pods that would not come up say why, while they still exist.
        const why = await diagnose(t.kubectl, context, namespace, release);
        throw new UserError(`${err.message}\n${why}`, `History: helm history ${release} -n ${namespace} --kube-context ${context}`);
      }
      return { status: 'done', detail: sn.dryRun ? `would run: ${command}` : `${verdict.reason}; helm waited for the workloads` };
    });

    if (sn.dryRun) {
      ui.finish({ from: info.revision, to: verdict.revision, command, changed: false });
      return 0;
    }

    const after = await ui.step('status', async () => {
      const [now, objects] = await Promise.all([t.release.status(scope), t.kubectl.releaseObjects(context, namespace, release)]);
      const ready = await requireReady(sn, Promise.resolve(objects));
      const expected = expectedImages(sn.config);
      const components = Object.entries(sn.config.app.components).map(([name, c]) => componentStatus(name, hasService(c), release, objects, expected[name]));
      return { status: 'done', detail: `revision ${now?.revision ?? '?'} ${now?.status ?? 'unknown'}; ${ready}`, value: { revision: now?.revision, status: now?.status, components } };
    });
    for (const c of after.components) {
      ui.info(`  ${c.name}: ${c.ready}/${c.desired} ready${c.image ? `, ${c.image}` : ''}${c.stale ? ' (not what the source builds now)' : ''}`);
    }
    if (after.components.some((c) => c.stale)) ui.info('  The next setup deploys the current source again; fix it first, or keep to this revision until then.');
    ui.finish({ from: info.revision, to: verdict.revision, command, changed: true, ...after });
    return 0;
  });
}
