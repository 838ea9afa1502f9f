import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { readFashionMnist } from './embedded';
import {
  decodeJpeg, randomResizedCrop, readImageFolder, resizeCenterCrop, resizeRegion, writeImageFolder, writeTinyImageNet,
} from './image-folder';

/** Writes a real JPEG (jpeg-js encoder): a horizontal gradient in red, a flat 90 in green, 200 in blue. */
function writeJpeg(file: string, width: number, height: number): void {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const i = (y * width + x) * 4;
    data[i] = Math.round((255 * x) / (width - 1));
    data[i + 1] = 90;
    data[i + 2] = 200;
    data[i + 3] = 255;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, jpeg.encode({ data, width, height }, 95).data);
}

function folder(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'imagenet-'));
  writeJpeg(path.join(root, 'train', 'n02', 'b.JPEG'), 300, 200);
  writeJpeg(path.join(root, 'train', 'n02', 'a.JPEG'), 320, 240);
  writeJpeg(path.join(root, 'train', 'n01', 'x.JPEG'), 260, 260);
  fs.writeFileSync(path.join(root, 'train', 'n01', 'notes.txt'), 'not an image');
  writeJpeg(path.join(root, 'val', 'n01', 'v.JPEG'), 400, 300);
  return root;
}

describe('ImageNet folder', () => {
  it('labels classes by sorted folder name and lists only JPEGs', () => {
    const f = readImageFolder(folder(), 'train');
    expect(f.classes).toEqual(['n01', 'n02']);
    expect(f.items.map((i) => [path.basename(i.file), i.label])).toEqual([['x.JPEG', 0], ['a.JPEG', 1], ['b.JPEG', 1]]);
  });

  it('decodes real JPEGs to RGB and resizes/crops them as the val transform does', () => {
    const root = folder();
    const img = decodeJpeg(readImageFolder(root, 'val').items[0].file);
    expect([img.width, img.height, img.data.length]).toEqual([400, 300, 400 * 300 * 3]);
    expect(Math.abs(img.data[1] - 90)).toBeLessThan(4); // green channel survives JPEG within a few levels
    const val = resizeCenterCrop(img);
    expect([val.width, val.height]).toEqual([224, 224]);
    // Shorter side 300 → 256 (scale 0.853); the centre crop spans x in [69.8, 330.2] of 400 → red ≈ 45..210.
    expect(Math.abs(val.data[0] - (255 * 70) / 399)).toBeLessThan(6);
    expect(Math.abs(val.data[(224 - 1) * 3] - (255 * 330) / 399)).toBeLessThan(6);
  });

  it('random resized crops are 224×224, differ between draws, and flip about half the time', () => {
    const img = decodeJpeg(readImageFolder(folder(), 'train').items[1].file);
    let s = 1;
    const rand = () => ((s = (s * 16807) % 2147483647) / 2147483647);
    const crops = Array.from({ length: 40 }, () => randomResizedCrop(img, rand));
    expect(crops.every((c) => c.width === 224 && c.height === 224)).toBe(true);
    // Red rises left to right unless flipped.
    const flipped = crops.filter((c) => c.data[0] > c.data[223 * 3]).length;
    expect(flipped).toBeGreaterThan(8);
    expect(flipped).toBeLessThan(32);
  });

  it('resizeRegion is exact on a constant image and names broken files and folders', () => {
    const flat = { width: 3, height: 2, data: new Uint8Array(18).fill(77) };
    expect(Array.from(resizeRegion(flat, 0, 0, 3, 2, 5, 4).data).every((v) => v === 77)).toBe(true);
    const root = folder();
    const bad = path.join(root, 'train', 'n01', 'broken.JPEG');
    fs.writeFileSync(bad, 'nope');
    expect(() => decodeJpeg(bad)).toThrow(/broken\.JPEG: not a readable JPEG/);
    expect(() => readImageFolder(path.join(root, 'missing'), 'train')).toThrow(/no train\/ folder/);
  });
});

describe('writeTinyImageNet', () => {
  it('writes 4 training and 2 validation JPEGs of each of 3 classes, in the layout readImageFolder takes', () => {
    const dir = writeTinyImageNet(fs.mkdtempSync(path.join(os.tmpdir(), 'tiny-imagenet-')));
    const count = (split: string) => fs.readdirSync(path.join(dir, 'imagenet', split))
      .map((c) => fs.readdirSync(path.join(dir, 'imagenet', split, c)).length);
    expect([count('train'), count('val')]).toEqual([[4, 4, 4], [2, 2, 2]]);
    expect(fs.readdirSync(dir).filter((name) => name.startsWith('imagenet'))).toEqual(['imagenet']); // no temp folder
  });

  it('leaves a folder that has one as it is (processes share it), writing nothing', () => {
    const dir = writeTinyImageNet(fs.mkdtempSync(path.join(os.tmpdir(), 'tiny-imagenet-')));
    const marker = path.join(dir, 'imagenet', 'train', 'c000', 'mine.txt');
    fs.writeFileSync(marker, 'kept');
    const before = fs.readdirSync(dir).sort();
    expect(writeTinyImageNet(dir)).toBe(dir);
    expect(fs.readFileSync(marker, 'utf8')).toBe('kept');
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });
});

describe('writeImageFolder', () => {
  it('writes real Fashion-MNIST images as a folder that reads back with the same labels and pixels (within JPEG error)', () => {
    const set = readFashionMnist('test', fs.mkdtempSync(path.join(os.tmpdir(), 'fm-')));
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wif-'));
    expect(writeImageFolder(set, root, 'val', { perClass: 2, classes: 3 })).toBe(6);
    const f = readImageFolder(root, 'val');
    expect(f.classes).toEqual(['c000', 'c001', 'c002']);
    expect(f.items.map((i) => i.label)).toEqual([0, 0, 1, 1, 2, 2]);
    const first = f.items[0];
    const index = Number(path.basename(first.file, '.JPEG'));
    expect(set.labels[index]).toBe(0);
    const img = decodeJpeg(first.file);
    expect([img.width, img.height]).toEqual([set.width, set.height]);
    let err = 0;
    for (let p = 0; p < set.width * set.height; p++) err += Math.abs(img.data[3 * p + 1] - set.images[index * set.width * set.height + p]);
    expect(err / (set.width * set.height)).toBeLessThan(4); // mean absolute error in grey levels
  });
});
