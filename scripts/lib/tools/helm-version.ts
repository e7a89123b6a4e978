// helm's version, asked of each helm binary once. `helm version` is a process of its own (about
// 30 ms of CPU, some 5% of validate --static), and its answer belongs to the binary file: it is
// kept in .cache/helm-versions/ under the file's identity (real path, size, times, inode), so a helm
// upgraded or replaced in place is asked again. Only a program file named helm is trusted this
// way: a shim (asdf's is a script, mise's a link to mise itself) or any script in between may run
// another helm from one directory to the next, so it is asked every time, as is a helm not found.
import { createHash } from 'node:crypto';
import { accessSync, closeSync, constants, openSync, readFileSync, readSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { basename, delimiter, join } from 'node:path';
import { keepFile, keptDir } from '../core/kept-file.ts';
import { parseHelmVersion, type Helm, type HelmVersion } from './helm.ts';

type Env = Record<string, string | undefined>;

/** The version of the helm `helm` runs: the answer kept in `dir` for its binary, else `helm version`. */
export async function helmVersion(helm: Helm, o: { env?: Env; dir?: string } = {}): Promise<HelmVersion> {
  const id = binaryIdentity(helm.bin, o.env ?? process.env);
  const kept = id ? join(o.dir ?? keptDir('helm-versions'), id) : undefined;
  if (kept) {
    try {
      const v = parseHelmVersion(readFileSync(kept, 'utf8'));
      if (v) return v;
    } catch {
      // Not kept yet: ask below.
    }
  }
  const v = await helm.version();
  if (kept) keepFile(kept, (path) => writeFileSync(path, v.raw));
  return v;
}

/** A hash of the helm program file `bin` names, or undefined when it is not a program file named helm. */
function binaryIdentity(bin: string, env: Env): string | undefined {
  const found = programPath(bin, env);
  if (!found) return undefined;
  try {
    const real = realpathSync(found);
    if (!/^helm(\.exe)?$/i.test(basename(real))) return undefined;
    const head = Buffer.alloc(2);
    const fd = openSync(real, 'r');
    try {
      readSync(fd, head, 0, 2, 0);
    } finally {
      closeSync(fd);
    }
    if (head.toString('latin1') === '#!') return undefined;
    const s = statSync(real);
    return createHash('sha256').update(JSON.stringify([real, s.size, s.mtimeMs, s.ctimeMs, s.ino])).digest('hex').slice(0, 32);
  } catch {
    return undefined;
  }
}

/** Where the program runs from: a path as given, a name as the OS finds it on PATH (the first executable file). */
function programPath(bin: string, env: Env): string | undefined {
  if (/[\\/]/.test(bin)) return bin;
  const names = process.platform === 'win32' ? [`${bin}.exe`, bin] : [bin];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    for (const name of dir ? names : []) {
      const path = join(dir, name);
      try {
        if (statSync(path).isFile()) {
          accessSync(path, constants.X_OK);
          return path;
        }
      } catch {
        // Not here, or not executable: the OS looks further too.
      }
    }
  }
  return undefined;
}
