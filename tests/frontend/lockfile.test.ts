// Checks app/frontend/package-lock.json against the files it must agree with: package.json (exact
// pins, in sync), the locked next (its SWC binaries), the machine running the test and the frontend
// image's base (their SWC binaries), and npm's rule for registry URLs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

type LockEntry = {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
type Lock = { lockfileVersion: number; packages: Record<string, LockEntry> };

const dir = new URL('../../app/frontend/', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', dir), 'utf8')) as Lock;
const lockPath = fileURLToPath(new URL('package-lock.json', dir));
const npmrc = readFileSync(new URL('.npmrc', dir), 'utf8');
const dockerfile = readFileSync(new URL('../../docker/frontend.Dockerfile', import.meta.url), 'utf8');

/**
 * The registry the lock must name: the project's .npmrc registry, else npm's default. npm replaces
 * only that default host when a mirror is configured (replace-registry-host=npmjs), so a lock that
 * names any other host would bypass the NPM_CONFIG_REGISTRY mirror the frontend image accepts.
 */
const REGISTRY = (/^\s*registry\s*=\s*(\S+)/m.exec(npmrc)?.[1] ?? 'https://registry.npmjs.org/').replace(/\/+$/, '');

/** The @next/swc-* package npm installs on a platform, named as next names them. */
function swcPackage(os: string, arch: string, libc: 'gnu' | 'musl'): string {
  if (os === 'linux') return `@next/swc-linux-${arch}-${libc}`;
  if (os === 'win32') return `@next/swc-win32-${arch}-msvc`;
  return `@next/swc-${os}-${arch}`;
}

/** The package a lock key installs: the part after the last node_modules/, unless the entry names itself (aliases). */
function packageName(key: string, entry: LockEntry): string {
  return entry.name ?? key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

function installed(): [string, LockEntry][] {
  return Object.entries(lock.packages).filter(([key]) => key !== '');
}

const lockfile = suite('frontend package-lock.json');

lockfile('is a v3 lockfile with a packages map', () => {
  assert.ok(lock.lockfileVersion >= 3, `lockfileVersion ${lock.lockfileVersion} in ${lockPath}`);
  assert.ok(installed().length > 0, 'no packages locked');
});

lockfile('the lock installs what package.json asks for, so npm ci accepts it', () => {
  assert.equal(lock.packages['']?.dependencies, pkg.dependencies);
  assert.equal(lock.packages['']?.devDependencies, pkg.devDependencies);
});

lockfile('pins every direct dependency to one exact version, and locks that version', () => {
  const loose: string[] = [];
  for (const [name, wanted] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    if (!/^\d+\.\d+\.\d+$/.test(wanted)) loose.push(`${name}@${wanted} is a range`);
    else if (lock.packages[`node_modules/${name}`]?.version !== wanted) loose.push(`${name}: lock has ${lock.packages[`node_modules/${name}`]?.version ?? 'nothing'}, package.json ${wanted}`);
  }
  assert.equal(loose, []);
});

lockfile('pins react and react-dom to the same version, as React requires', () => {
  assert.is(pkg.dependencies['react-dom'], pkg.dependencies.react);
});

lockfile("locks every @next/swc-* binary that the locked next lists, with a registry URL and integrity", () => {
  const next = lock.packages['node_modules/next'];
  const swc = Object.keys(next?.optionalDependencies ?? {}).filter((n) => n.startsWith('@next/swc-'));
  assert.ok(swc.length > 0, 'the locked next lists no @next/swc-* optional dependencies');
  for (const name of swc) {
    const entry = lock.packages[`node_modules/${name}`];
    assert.ok(entry, `${name} is missing from the lock`);
    assert.is(entry?.version, next?.version, `${name} version`);
    assert.ok(entry?.resolved, `${name} has no resolved URL`);
    assert.match(entry?.integrity ?? '', /^sha512-/, `${name} integrity`);
  }
});

lockfile('locks the SWC binary npm ci needs on this machine', () => {
  const glibc = (process.report.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime;
  const name = swcPackage(process.platform, process.arch, glibc ? 'gnu' : 'musl');
  assert.ok(lock.packages[`node_modules/${name}`]?.integrity, `${name} is not locked`);
});

lockfile("locks the SWC binary the frontend image's base needs, on x64 and on arm64 (Apple silicon, Graviton)", () => {
  const base = /^ARG BASE_IMAGE=(\S+)/m.exec(dockerfile)?.[1];
  assert.ok(base, 'docker/frontend.Dockerfile has no ARG BASE_IMAGE default');
  const libc = /alpine/.test(base) ? 'musl' : 'gnu';
  const missing = ['x64', 'arm64'].map((arch) => swcPackage('linux', arch, libc)).filter((n) => !lock.packages[`node_modules/${n}`]?.integrity);
  assert.equal(missing, [], `not locked for ${base}: ${missing.join(', ')}`);
});

lockfile('fetches every package as a tarball from the public npm registry, never from a local path', () => {
  const bad: string[] = [];
  for (const [key, entry] of installed()) {
    if (entry.link) {
      bad.push(`${key}: a link to a local folder`);
      continue;
    }
    const name = packageName(key, entry);
    const base = name.slice(name.lastIndexOf('/') + 1);
    const expected = `${REGISTRY}/${name}/-/${base}-${entry.version}.tgz`;
    if (entry.resolved !== expected) bad.push(`${key}: resolved ${entry.resolved ?? '(none)'}, expected ${expected}`);
    if (!/^sha(512|384|256|1)-/.test(entry.integrity ?? '')) bad.push(`${key}: no integrity`);
  }
  assert.equal(bad, [], bad.join('\n'));
});

lockfile.run();
