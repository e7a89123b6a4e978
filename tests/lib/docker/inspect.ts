// What an image records about itself: its config (`docker image inspect`) and its layers (`docker history`).
import { docker } from './run.ts';

export async function inspectImage<T = unknown>(image: string): Promise<T> {
  const out = JSON.parse(await docker(['image', 'inspect', image])) as T[];
  if (!out[0]) throw new Error(`no image ${image}`);
  return out[0];
}

/** `docker history --no-trunc` lines: size in bytes and the instruction that made each layer. */
export async function history(image: string): Promise<{ id: string; bytes: number; createdBy: string }[]> {
  const out = await docker(['history', '--no-trunc', '--human=false', '--format', '{{.ID}}\t{{.Size}}\t{{.CreatedBy}}', image]);
  return out.split('\n').filter(Boolean).map((line) => {
    const [id = '', size = '0', ...rest] = line.split('\t');
    return { id, bytes: Number(size) || 0, createdBy: rest.join('\t') };
  });
}

/** Bytes of the layers an image adds on top of its base (layers not in the base's rootfs). */
export async function ownLayerBytes(image: string, base: string): Promise<number> {
  // history lists newest first, metadata steps included; the base's own entries are the oldest
  // ones, so everything above that many entries is the image's own.
  const imgHist = await history(image);
  const baseHist = await history(base);
  return imgHist.slice(0, imgHist.length - baseHist.length).reduce((n, h) => n + h.bytes, 0);
}

/** All an image records of how it was made: its history's instructions and its config, as one text to search. */
export async function recordedIn(image: string): Promise<string> {
  return [(await history(image)).map((h) => h.createdBy).join('\n'), await docker(['image', 'inspect', image])].join('\n');
}
