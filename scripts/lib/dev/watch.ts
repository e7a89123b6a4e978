// Watches each component's build context (and its Dockerfile and ignore file) for edits, and says
// of each whether Docker would even see it: a path the build's .dockerignore excludes is reported
// as ignored, with the same rules contentTag hashes by.
//
// How, by platform:
// - macOS and Windows: fs.watch with `recursive`, which their kernels do natively (FSEvents,
//   ReadDirectoryChangesW): one handle per context, whatever its size.
// - Linux: Node 20 does support `recursive` there, but builds it from one inotify watch per FILE,
//   node_modules and .next included (a Next.js app's context holds tens of thousands, past many
//   systems' fs.inotify.max_user_watches). So one non-recursive fs.watch per directory instead,
//   skipping directories the ignore file excludes, and adding those created later.
// - Polling, when watching fails (no inotify watches left, a file system without change events
//   such as /mnt/c under WSL) or when asked (--poll): each content tag is recomputed every
//   interval, and a tag that moved counts as an edit.
import { existsSync, readdirSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';
import { contentTag, type ImageSource } from '../images/tag.ts';
import { ignoreFileOf, ignoreRules, isIgnored, type Rule } from '../images/ignore.ts';

export type WatchMode = 'native' | 'per-directory' | 'polling';

/** One edit seen: its component, its path (relative to the context, or the Dockerfile's name), and whether the build ignores it. */
export type Edit = { component: string; path: string; ignored: boolean; at: number };

export type WatcherOptions = {
  sources: ImageSource[];
  onEdit: (edit: Edit) => void;
  /** Poll the content tags every this many ms instead of watching. */
  pollMs?: number;
  /** Told once when watching fails and polling takes over. */
  onFallback?: (why: string) => void;
  platform?: NodeJS.Platform;
};

const FALLBACK_POLL_MS = 1000;

/** Forward-slash path of `abs` relative to `dir`; undefined when outside it. */
function inside(dir: string, abs: string): string | undefined {
  const rel = relative(dir, abs);
  return rel.startsWith('..') || isAbsolute(rel) ? undefined : rel.split(sep).join('/');
}

/** Whether a directory below the context can be skipped: ignored, and no `!rule` could bring back something under it. */
function pruned(rules: Rule[], rel: string): boolean {
  return isIgnored(rules, rel) && !rules.some((r) => r.negate);
}

/** Watches one component: its context, and the Dockerfile and ignore file wherever they are. */
class ComponentWatch {
  private rules: Rule[];
  private readonly handles = new Map<string, FSWatcher>();
  /** Paths that change the tag or the rules whatever the rules say: the Dockerfile and the ignore files. */
  private readonly always: Set<string>;

  constructor(
    private readonly src: ImageSource,
    private readonly emit: (path: string, ignored: boolean) => void,
    private readonly fail: (err: Error) => void,
  ) {
    this.rules = ignoreRules(src);
    this.always = new Set([src.dockerfile, `${src.dockerfile}.dockerignore`, join(src.contextDir, '.dockerignore')]);
  }

  startNative(): void {
    this.open(this.src.contextDir, '', { recursive: true }, (name) => this.seen(join(this.src.contextDir, name)));
    this.watchDockerfile();
  }

  startPerDirectory(): void {
    this.watchDir('');
    this.watchDockerfile();
  }

  close(): void {
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
  }

  /** The Dockerfile's folder, for the Dockerfile and the ignore file beside it (often outside the context). */
  private watchDockerfile(): void {
    const names = new Set([basename(this.src.dockerfile), `${basename(this.src.dockerfile)}.dockerignore`]);
    const dir = dirname(this.src.dockerfile);
    this.open(dir, `dockerfile:${dir}`, {}, (name) => {
      if (names.has(name)) this.seen(join(dir, name));
    });
  }

  private watchDir(rel: string): void {
    if (this.handles.has(rel)) return;
    const abs = rel ? join(this.src.contextDir, rel) : this.src.contextDir;
    if (!this.open(abs, rel, {}, (name) => this.dirEvent(rel, name))) return;
    let entries: string[] = [];
    try {
      entries = readdirSync(abs, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return; // gone again already; its parent's event says so
    }
    for (const name of entries) {
      const child = rel ? `${rel}/${name}` : name;
      if (!pruned(this.rules, child)) this.watchDir(child);
    }
  }

  private dirEvent(rel: string, name: string): void {
    const child = rel ? `${rel}/${name}` : name;
    const abs = join(this.src.contextDir, child);
    let isDir = false;
    try {
      isDir = statSync(abs).isDirectory();
    } catch {
      // Removed: so are the watches below it.
      for (const [key, h] of this.handles) {
        if (key === child || key.startsWith(`${child}/`)) {
          h.close();
          this.handles.delete(key);
        }
      }
    }
    if (isDir && !pruned(this.rules, child)) this.watchDir(child);
    this.seen(abs);
  }

  private seen(abs: string): void {
    if (this.always.has(abs)) {
      // The ignore file may have changed, and with it what the context holds.
      this.rules = ignoreRules(this.src);
      this.emit(inside(this.src.contextDir, abs) ?? basename(abs), false);
      return;
    }
    const rel = inside(this.src.contextDir, abs);
    if (rel === undefined || rel === '') return;
    this.emit(rel, isIgnored(this.rules, rel));
  }

  /** Opens one fs.watch handle; false when the path is gone. Any other failure ends watching (polling takes over). */
  private open(abs: string, key: string, opts: { recursive?: boolean }, onName: (name: string) => void): boolean {
    let h: FSWatcher;
    try {
      h = watch(abs, { recursive: opts.recursive === true }, (_event, name) => {
        // No name (some platforms, an overflowing queue): the edit could be anywhere, so it counts.
        if (name === null) this.emit('(unknown path)', false);
        else onName(name.toString());
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      this.fail(err as Error);
      return false;
    }
    h.on('error', (err) => {
      // A watched folder that was removed ends its own watch; anything else ends watching.
      if (existsSync(abs)) this.fail(err);
      h.close();
      this.handles.delete(key);
    });
    this.handles.set(key, h);
    return true;
  }
}

/** Watches every component's build inputs until close(); see the top of the file for how. */
export class ContextWatcher {
  private watches: ComponentWatch[] = [];
  private timer?: NodeJS.Timeout;
  private closed = false;
  mode: WatchMode = 'per-directory';

  constructor(private readonly o: WatcherOptions) {}

  start(): WatchMode {
    if (this.o.pollMs !== undefined) return this.poll(this.o.pollMs);
    const native = (this.o.platform ?? process.platform) === 'darwin' || (this.o.platform ?? process.platform) === 'win32';
    this.mode = native ? 'native' : 'per-directory';
    // A failure while the watches are opened is seen here at once; one later ends them from its event.
    let starting = true;
    let failure: Error | undefined;
    for (const src of this.o.sources) {
      const w = new ComponentWatch(
        src,
        (path, ignored) => this.o.onEdit({ component: src.component, path, ignored, at: Date.now() }),
        (err) => (starting ? (failure ??= err) : this.fallBack(err)),
      );
      this.watches.push(w);
      if (native) w.startNative();
      else w.startPerDirectory();
      if (failure) break;
    }
    starting = false;
    if (failure) this.fallBack(failure);
    return this.mode;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches) w.close();
    this.watches = [];
    if (this.timer) clearInterval(this.timer);
  }

  private fallBack(err: Error): void {
    if (this.closed || this.mode === 'polling') return;
    for (const w of this.watches) w.close();
    this.watches = [];
    const code = (err as NodeJS.ErrnoException).code;
    this.o.onFallback?.(`${code === 'ENOSPC' ? 'no inotify watches left (raise fs.inotify.max_user_watches)' : err.message}; polling the content tags every ${FALLBACK_POLL_MS / 1000}s instead`);
    this.poll(FALLBACK_POLL_MS);
  }

  private poll(intervalMs: number): WatchMode {
    this.mode = 'polling';
    const tags = new Map(this.o.sources.map((src) => [src.component, contentTag(src)]));
    this.timer = setInterval(() => {
      for (const src of this.o.sources) {
        let tag: string;
        try {
          tag = contentTag(src);
        } catch {
          continue; // a file removed mid-walk: the next tick sees the result
        }
        if (tag === tags.get(src.component)) continue;
        tags.set(src.component, tag);
        this.o.onEdit({ component: src.component, path: '(content tag changed)', ignored: false, at: Date.now() });
      }
    }, intervalMs);
    return this.mode;
  }
}

/** The ignore file a component's build reads, relative to the project root, for messages. */
export function ignoreFileShown(root: string, src: ImageSource): string {
  const file = ignoreFileOf(src);
  return file ? relative(root, file).split(sep).join('/') : 'no .dockerignore';
}
