// The build context Docker would send: .dockerignore rules compiled as Docker reads them, and the files they leave.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** One .dockerignore rule, compiled. */
export type Rule = { negate: boolean; re: RegExp };

/**
 * Compiles .dockerignore patterns the way Docker reads them: Go filepath.Match globs relative to
 * the context root, `**` for any number of directories, `!` re-including, the last match winning.
 * A pattern matching a directory excludes everything below it.
 */
export function compileDockerignore(text: string): Rule[] {
  const rules: Rule[] = [];
  for (let line of text.split(/\r?\n/)) {
    line = line.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    let pat = (negate ? line.slice(1) : line).trim().replace(/^\/+/, '').replace(/\/+$/, '');
    pat = pat.split('/').filter((s) => s !== '.').join('/');
    if (!pat) continue;
    let re = '';
    for (let i = 0; i < pat.length; i++) {
      const c = pat[i] as string;
      if (c === '*' && pat[i + 1] === '*') {
        // "**/" matches zero or more directories; a trailing "**" matches everything.
        if (pat[i + 2] === '/') {
          re += '(?:.*/)?';
          i += 2;
        } else {
          re += '.*';
          i += 1;
        }
      } else if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else if (c === '[') {
        const end = pat.indexOf(']', i);
        if (end < 0) re += '\\[';
        else {
          re += `[${pat.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
          i = end;
        }
      } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
    }
    rules.push({ negate, re: new RegExp(`^${re}(?:/.*)?$`) });
  }
  return rules;
}

export function isIgnored(rules: Rule[], path: string): boolean {
  let ignored = false;
  for (const r of rules) if (r.re.test(path)) ignored = !r.negate;
  return ignored;
}

/** The files Docker would send as the build context, as sorted forward-slash relative paths. */
export function contextFiles(contextDir: string, rules: Rule[]): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const rel = relative(contextDir, abs).split(sep).join('/');
      const st = statSync(abs);
      if (st.isDirectory()) {
        // An ignored directory may still hold re-included files ("!dir/keep"), so only prune
        // when no negation rule could match below it.
        if (isIgnored(rules, rel) && !rules.some((r) => r.negate)) continue;
        walk(abs);
      } else if (!isIgnored(rules, rel)) out.push(rel);
    }
  };
  walk(contextDir);
  return out;
}

/** Where a build's files are: its context directory and its Dockerfile. */
export type BuildFiles = { contextDir: string; dockerfile: string };

/**
 * The ignore file Docker reads for this build, as BuildKit picks it: `<Dockerfile>.dockerignore`
 * beside the Dockerfile when there is one, else `.dockerignore` at the context root, else none.
 */
export function ignoreFileOf(src: BuildFiles): string | undefined {
  const beside = `${src.dockerfile}.dockerignore`;
  const atRoot = join(src.contextDir, '.dockerignore');
  return existsSync(beside) ? beside : existsSync(atRoot) ? atRoot : undefined;
}

/** The compiled rules of the ignore file Docker reads for this build (none: everything is sent). */
export function ignoreRules(src: BuildFiles): Rule[] {
  const file = ignoreFileOf(src);
  return compileDockerignore(file ? readFileSync(file, 'utf8') : '');
}
