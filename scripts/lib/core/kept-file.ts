// Files a command keeps in .cache/ so later starts skip work (compiled validators, joined modules):
// where they go, and how each is written whole.
import { mkdirSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { projectRoot } from '../paths.ts';

/** The folder of one kind of kept file, under the project's .cache/. */
export function keptDir(name: string): string {
  return join(projectRoot, '.cache', name);
}

/**
 * Has `write` write the file under a name of its own, then renames it into place: a rename
 * replaces a file whole, so two commands starting at once each find a whole file or none. Failing
 * is fine, and leaves nothing behind: the command has what it needed, and a later one tries again.
 */
export function keepFile(file: string, write: (path: string) => void): boolean {
  const partial = `${file}.${process.pid}`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    write(partial);
    renameSync(partial, file);
    return true;
  } catch {
    try {
      unlinkSync(partial);
    } catch {
      // Nothing was written.
    }
    return false;
  }
}
