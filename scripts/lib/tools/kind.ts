// Typed wrapper of the kind CLI: `kind version` ("kind v0.23.0 go1.22.2 linux/amd64"),
// `kind get clusters` (one name per line; "No kind clusters found." on stderr when none).
import type { Exec } from '../core/exec.ts';
import { parseVersion, requireVersion, type Version } from './versions.ts';

export class Kind {
  constructor(
    private readonly exec: Exec,
    readonly bin = 'kind',
  ) {}

  async version(): Promise<Version> {
    const out = await this.exec.run(this.bin, ['version'], { nothrow: true });
    return requireVersion('kind', parseVersion(out.stdout), out.stdout + out.stderr);
  }

  async clusters(): Promise<string[]> {
    const out = await this.exec.run(this.bin, ['get', 'clusters']);
    return out.stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  }

  async create(name: string): Promise<void> {
    await this.exec.run(this.bin, ['create', 'cluster', '--name', name, '--wait', '120s'], { mutating: true });
  }

  async delete(name: string): Promise<void> {
    await this.exec.run(this.bin, ['delete', 'cluster', '--name', name], { mutating: true });
  }

  /** `kind load docker-image`; the result is returned, since one failure has a known way round. */
  async loadImage(name: string, image: string, logFile?: string): Promise<{ ok: boolean; output: string }> {
    const out = await this.exec.run(this.bin, ['load', 'docker-image', image, '--name', name], { mutating: true, logFile, nothrow: true });
    return { ok: out.exitCode === 0, output: `${out.stdout}${out.stderr}` };
  }

  /** `kind load image-archive`: loads a `docker save` tarball onto the nodes. */
  async loadArchive(name: string, archive: string, logFile?: string): Promise<void> {
    await this.exec.run(this.bin, ['load', 'image-archive', archive, '--name', name], { mutating: true, logFile });
  }
}
