import * as fs from 'fs';
import * as path from 'path';
import * as jpeg from 'jpeg-js';
import { DatasetFormatError } from './errors';
import type { ImageSet } from './image-set';
import { readFashionMnist } from './embedded';

/**
 * ImageNet in its usual folder layout, `<root>/<split>/<wnid>/*.JPEG`: classes are the sorted folder names
 * (label = index), as torchvision's ImageFolder orders them. Images are decoded on demand with jpeg-js.
 */
export interface ImageFolder {
  root: string;
  classes: string[];
  items: Array<{ file: string; label: number }>;
}

const IMAGE = /\.(jpe?g)$/i;

export function readImageFolder(root: string, split: 'train' | 'val'): ImageFolder {
  const dir = path.join(root, split);
  if (!fs.existsSync(dir)) throw new DatasetFormatError(dir, `no ${split}/ folder; expected ${split}/<wnid>/*.JPEG under ${root}`);
  const classes = fs.readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  if (classes.length === 0) throw new DatasetFormatError(dir, 'holds no class folders');
  const items: ImageFolder['items'] = [];
  classes.forEach((c, label) => {
    for (const f of fs.readdirSync(path.join(dir, c)).filter((n) => IMAGE.test(n)).sort()) items.push({ file: path.join(dir, c, f), label });
  });
  if (items.length === 0) throw new DatasetFormatError(dir, 'holds no .JPEG images');
  return { root, classes, items };
}

/**
 * Writes images of a set as an ImageNet-style folder, `<root>/<split>/<class>/<index>.JPEG` (class folders
 * `c000`, `c001`, …, so the sorted order is the label order), at most `perClass` per class and only the
 * classes below `classes`. Grayscale sets are written as RGB. Returns the number of files written.
 */
export function writeImageFolder(set: ImageSet, root: string, split: 'train' | 'val',
  opts: { perClass?: number; classes?: number; quality?: number } = {}): number {
  const { width, height, channels } = set;
  const px = width * height * channels;
  const written = new Map<number, number>();
  for (let i = 0; i < set.count; i++) {
    const label = set.labels[i];
    const n = written.get(label) ?? 0;
    if (label >= (opts.classes ?? set.classes) || n >= (opts.perClass ?? Infinity)) continue;
    const rgba = Buffer.alloc(width * height * 4);
    for (let p = 0; p < width * height; p++) {
      for (let c = 0; c < 3; c++) rgba[4 * p + c] = set.images[i * px + p * channels + (channels === 3 ? c : 0)];
      rgba[4 * p + 3] = 255;
    }
    const dir = path.join(root, split, `c${String(label).padStart(3, '0')}`);
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${String(i).padStart(6, '0')}.JPEG`), jpeg.encode({ data: rgba, width, height }, opts.quality ?? 95).data);
    written.set(label, n + 1);
  }
  return [...written.values()].reduce((a, b) => a + b, 0);
}

/** An RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export function decodeJpeg(file: string): RgbImage {
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(fs.readFileSync(file), { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
  } catch (e) {
    throw new DatasetFormatError(file, `not a readable JPEG (${(e as Error).message})`);
  }
  const { width, height, data } = decoded;
  if (data.length === width * height * 3) return { width, height, data };
  // Grayscale JPEGs decode to one channel: replicate it.
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) rgb.fill(data[i], 3 * i, 3 * i + 3);
  return { width, height, data: rgb };
}

/** Bilinear resampling of the region [x, x+w) × [y, y+h) to outW × outH (pixel centres aligned, as PIL). */
export function resizeRegion(img: RgbImage, x: number, y: number, w: number, h: number, outW: number, outH: number): RgbImage {
  const out = new Uint8Array(outW * outH * 3);
  const sx = w / outW;
  const sy = h / outH;
  for (let r = 0; r < outH; r++) {
    const fy = Math.min(Math.max(y + (r + 0.5) * sy - 0.5, 0), img.height - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let q = 0; q < outW; q++) {
      const fx = Math.min(Math.max(x + (q + 0.5) * sx - 0.5, 0), img.width - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const a = img.data[(y0 * img.width + x0) * 3 + c] * (1 - wx) + img.data[(y0 * img.width + x1) * 3 + c] * wx;
        const b = img.data[(y1 * img.width + x0) * 3 + c] * (1 - wx) + img.data[(y1 * img.width + x1) * 3 + c] * wx;
        out[(r * outW + q) * 3 + c] = Math.round(a * (1 - wy) + b * wy);
      }
    }
  }
  return { width: outW, height: outH, data: out };
}

/** Validation transform: resize the shorter side to 256, centre crop 224. */
export function resizeCenterCrop(img: RgbImage, resize = 256, crop = 224): RgbImage {
  const scale = resize / Math.min(img.width, img.height);
  const cropW = crop / scale;
  const cropH = crop / scale;
  return resizeRegion(img, (img.width - cropW) / 2, (img.height - cropH) / 2, cropW, cropH, crop, crop);
}

/**
 * Training transform (torchvision RandomResizedCrop + horizontal flip): a region of 8–100% of the area and
 * aspect ratio 3/4–4/3, resized to `size`; after 10 failed draws, the centre crop of the whole image.
 */
export function randomResizedCrop(img: RgbImage, rand: () => number, size = 224): RgbImage {
  const area = img.width * img.height;
  let region: [number, number, number, number] | undefined;
  for (let attempt = 0; attempt < 10 && !region; attempt++) {
    const target = area * (0.08 + rand() * 0.92);
    const ratio = Math.exp(Math.log(3 / 4) + rand() * (Math.log(4 / 3) - Math.log(3 / 4)));
    const w = Math.round(Math.sqrt(target * ratio));
    const h = Math.round(Math.sqrt(target / ratio));
    if (w > 0 && h > 0 && w <= img.width && h <= img.height) {
      region = [Math.floor(rand() * (img.width - w + 1)), Math.floor(rand() * (img.height - h + 1)), w, h];
    }
  }
  const [x, y, w, h] = region ?? (() => { const s = Math.min(img.width, img.height); return [(img.width - s) / 2, (img.height - s) / 2, s, s]; })();
  const out = resizeRegion(img, x, y, w, h, size, size);
  if (rand() < 0.5) {
    for (let r = 0; r < size; r++) {
      for (let q = 0; q < size / 2; q++) {
        for (let c = 0; c < 3; c++) {
          const a = (r * size + q) * 3 + c;
          const b = (r * size + size - 1 - q) * 3 + c;
          [out.data[a], out.data[b]] = [out.data[b], out.data[a]];
        }
      }
    }
  }
  return out;
}

/**
 * A tiny ImageNet-layout data folder made of real Fashion-MNIST images as JPEGs (`<dir>/imagenet/{train,val}/c00k/`,
 * 4 training and 2 validation images of each of 3 classes): what the methods' ImageNet smoke runs read. Written
 * whole or not at all (beside it, then renamed), and left as it is where `<dir>/imagenet` exists: processes may
 * share one folder.
 */
export function writeTinyImageNet(dataDir: string): string {
  const root = path.join(dataDir, 'imagenet');
  if (fs.existsSync(root)) return dataDir;
  fs.mkdirSync(dataDir, { recursive: true });
  const temp = fs.mkdtempSync(path.join(dataDir, 'imagenet-'));
  writeImageFolder(readFashionMnist('train', dataDir), temp, 'train', { perClass: 4, classes: 3 });
  writeImageFolder(readFashionMnist('test', dataDir), temp, 'val', { perClass: 2, classes: 3 });
  try {
    fs.renameSync(temp, root);
  } catch (e) {
    fs.rmSync(temp, { recursive: true, force: true });
    if (!fs.existsSync(root)) throw e; // not another process that wrote it first
  }
  return dataDir;
}
