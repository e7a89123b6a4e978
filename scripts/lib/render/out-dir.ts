// `render --out DIR`: one file per object, DIR/<kind>-<name>.yaml, for GitOps (Argo CD, Flux) or
// `kubectl apply -f DIR`. A hidden list of the files render wrote (DIR/.taskflow-render) lets the
// next render remove the files of objects that are gone, and only those: a file of yours beside
// them (a kustomization.yaml) stays, and a non-empty directory render did not write is refused, so
// a mistyped --out never mixes into, or deletes from, someone else's files.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The list of files render wrote; hidden, so neither kubectl apply -f nor Argo CD reads it as a manifest. */
export const WRITTEN_LIST = '.taskflow-render';

/** A name render writes; anything else in the list (a path, `..`) is never removed. */
const RENDERED_NAME = /^[a-z0-9][a-z0-9.-]*\.yaml$/;

/** The file of one object: its kind in lower case, then its name ("deployment-taskflow-web.yaml"). */
export function manifestFileName(kind: string, name: string): string {
  return `${kind.toLowerCase()}-${name}.yaml`;
}

export type ManifestDirState =
  | { kind: 'missing' }
  | { kind: 'not-a-directory' }
  /** `written`: the list of a previous render, when there is one. */
  | { kind: 'directory'; entries: string[]; written?: string[] };

export type ManifestDirPlan = { ok: true; create: boolean; remove: string[] } | { ok: false; problem: string; hint: string };

/** Reads what is at DIR, changing nothing. */
export function observeManifestDir(dir: string): ManifestDirState {
  if (!existsSync(dir)) return { kind: 'missing' };
  if (!statSync(dir).isDirectory()) return { kind: 'not-a-directory' };
  const entries = readdirSync(dir).filter((e) => e !== WRITTEN_LIST);
  const list = join(dir, WRITTEN_LIST);
  if (!existsSync(list)) return { kind: 'directory', entries };
  const written = readFileSync(list, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  return { kind: 'directory', entries, written };
}

/**
 * Pure: what writing `files` into the directory takes. A new or empty directory is used as it is;
 * one a previous render wrote loses the files of that render that this one does not write (stale
 * objects), nothing else; any other non-empty directory, or a file, is refused.
 */
export function planManifestDir(state: ManifestDirState, files: string[], label: string): ManifestDirPlan {
  if (state.kind === 'missing') return { ok: true, create: true, remove: [] };
  if (state.kind === 'not-a-directory') return { ok: false, problem: `--out ${label} is a file, not a directory`, hint: 'Name a new or empty directory.' };
  if (!state.written) {
    if (state.entries.length === 0) return { ok: true, create: false, remove: [] };
    const shown = state.entries.slice(0, 5).join(', ') + (state.entries.length > 5 ? `, … (${state.entries.length} in all)` : '');
    return {
      ok: false,
      problem: `--out ${label} holds files render did not write (${shown})`,
      hint: `Name a new or empty directory: render removes the files of objects that no longer exist, so it only writes where it knows every file it wrote (the list is ${WRITTEN_LIST}).`,
    };
  }
  const keep = new Set(files);
  const present = new Set(state.entries);
  const remove = state.written.filter((f) => RENDERED_NAME.test(f) && !keep.has(f) && present.has(f));
  return { ok: true, create: false, remove };
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

const listText = (files: string[]) => `# Files \`render --out\` wrote here. The next render removes those it no longer writes; other files are left alone.\n${[...files].sort().join('\n')}\n`;

/**
 * Applies the plan: the list first names every file this render and the previous one wrote, so a
 * run cut short leaves nothing unlisted; then the files, the stale ones removed, the list last.
 */
export function writeManifestDir(dir: string, files: { name: string; text: string }[], plan: Extract<ManifestDirPlan, { ok: true }>, previous: string[] = []): void {
  mkdirSync(dir, { recursive: true });
  const names = files.map((f) => f.name);
  writeAtomically(join(dir, WRITTEN_LIST), listText([...new Set([...previous.filter((f) => RENDERED_NAME.test(f)), ...names])]));
  for (const f of files) writeAtomically(join(dir, f.name), f.text);
  for (const stale of plan.remove) rmSync(join(dir, stale), { force: true });
  writeAtomically(join(dir, WRITTEN_LIST), listText(names));
}
