// Checks app/frontend/package-lock.json: next pinned exactly, every platform's SWC binary locked, only registry tarballs.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const NEXT_VERSION = '16.4.5';
const REGISTRY = 'https://registry.npmjs.org';
// The platforms a developer or CI may run `npm ci` on; each needs its SWC package in the lock.
const PLATFORMS = [
  'darwin-arm64',
  'darwin-x64',
  'linux-x64-gnu',
  'linux-x64-musl',
  'linux-arm64-gnu',
  'linux-arm64-musl',
  'win32-x64-msvc',
  'win32-arm64-msvc',
];

type LockEntry = {
  name?: string;
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};
type Lock = { lockfileVersion: number; packages: Record<string, LockEntry> };

const dir = new URL('../../app/frontend/', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { dependencies: Record<string, string> };
const lock = JSON.parse(readFileSync(new URL('package-lock.json', dir), 'utf8')) as Lock;
const lockPath = fileURLToPath(new URL('package-lock.json', dir));

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

lockfile('pins next to exactly the supported version in package.json and in the lock', () => {
  assert.is(pkg.dependencies.next, NEXT_VERSION);
  assert.is(lock.packages['']?.dependencies?.next, NEXT_VERSION);
  assert.is(lock.packages['node_modules/next']?.version, NEXT_VERSION);
});

lockfile('pins react and react-dom to one exact, matching version', () => {
  const react = pkg.dependencies.react;
  assert.match(react ?? '', /^\d+\.\d+\.\d+$/);
  assert.is(pkg.dependencies['react-dom'], react);
  assert.is(lock.packages['node_modules/react']?.version, react);
  assert.is(lock.packages['node_modules/react-dom']?.version, react);
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

lockfile('covers the SWC binary of every platform a developer or CI may use', () => {
  const missing = PLATFORMS.filter((p) => !lock.packages[`node_modules/@next/swc-${p}`]?.integrity);
  assert.equal(missing, [], `platforms without a locked @next/swc package: ${missing.join(', ')}`);
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
