/** Images in memory: uint8 pixels, NHWC, one label per image. */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  classes: number;
}

/** Concatenates sets of the same geometry. */
export function concatImageSets(sets: ImageSet[]): ImageSet {
  if (sets.length === 0) throw new Error('concatImageSets: no sets');
  const [first] = sets;
  const count = sets.reduce((n, s) => n + s.count, 0);
  const px = first.height * first.width * first.channels;
  const images = new Uint8Array(count * px);
  const labels = new Uint8Array(count);
  let at = 0;
  for (const s of sets) {
    if (s.height !== first.height || s.width !== first.width || s.channels !== first.channels) {
      throw new Error('concatImageSets: image sizes differ');
    }
    images.set(s.images, at * px);
    labels.set(s.labels, at);
    at += s.count;
  }
  return { ...first, images, labels, count };
}
