import type { ImageSet } from './image-set';

/** Zero-pads every image by `pad` pixels on each side (MNIST's 28×28 → 32×32 for the CIFAR architectures). */
export function padImages(set: ImageSet, pad: number): ImageSet {
  const { height: h, width: w, channels: c } = set;
  const H = h + 2 * pad;
  const W = w + 2 * pad;
  const images = new Uint8Array(set.count * H * W * c);
  for (let i = 0; i < set.count; i++) {
    for (let y = 0; y < h; y++) {
      const src = ((i * h + y) * w) * c;
      const dst = ((i * H + y + pad) * W + pad) * c;
      images.set(set.images.subarray(src, src + w * c), dst);
    }
  }
  return { ...set, images, height: H, width: W };
}
