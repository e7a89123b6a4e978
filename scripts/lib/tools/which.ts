// Finds a program on PATH without starting a process (so it works before any tool is known to exist).
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Returns the path of an executable named `name` on PATH, or undefined. */
export function whichSync(name: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of pathEnv.split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      if (existsSync(candidate)) return candidate;
    }
  }
  return undefined;
}
