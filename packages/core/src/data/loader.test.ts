import type { ImageSet } from '@rethink-prune/datasets';
import { describe, expect, it } from 'vitest';
import { BatchLoader } from './loader';

/** 2 images of 4×4×2: image k has pixel (r,q,ch) = 10·k + 4·r + q + 100·ch. */
function handMade(): ImageSet {
  const images = new Uint8Array(2 * 4 * 4 * 2);
  for (let k = 0; k < 2; k++) for (let r = 0; r < 4; r++) for (let q = 0; q < 4; q++) for (let ch = 0; ch < 2; ch++) {
    images[((k * 4 + r) * 4 + q) * 2 + ch] = 10 * k + 4 * r + q + 100 * ch;
  }
  return { images, labels: Uint8Array.from([3, 7]), count: 2, height: 4, width: 4, channels: 2, classes: 10 };
}

const INFO = { mean: [0.5, 0.25], std: [0.5, 0.25], augment: { pad: 1, flip: true } };

describe('BatchLoader', () => {
  it('test batches keep order and normalise each channel with its mean and std', () => {
    const loader = new BatchLoader(handMade(), INFO, { batchSize: 2, train: false, seed: 0 });
    const [batch] = [...loader.epoch(0)];
    expect([...batch.y]).toEqual([3, 7]);
    expect(batch.x[0]).toBeCloseTo((0 / 255 - 0.5) / 0.5, 6);
    expect(batch.x[1]).toBeCloseTo((100 / 255 - 0.25) / 0.25, 6);
    expect(batch.x[32 + 2 * 5]).toBeCloseTo((15 / 255 - 0.5) / 0.5, 6); // image 1, pixel (1,1), channel 0
  });

  it('training crops are shifted views of the zero-padded image, flipped or not', () => {
    const set = handMade();
    const loader = new BatchLoader(set, INFO, { batchSize: 1, train: true, seed: 3 });
    const norm = (v: number, ch: number) => (v / 255 - INFO.mean[ch]) / INFO.std[ch];
    let flips = 0;
    for (let epoch = 0; epoch < 12; epoch++) {
      for (const b of loader.epoch(epoch)) {
        const k = b.y[0] === 3 ? 0 : 1;
        // Find the (dy, dx, flip) that explains the batch exactly.
        const fits: string[] = [];
        for (const flip of [false, true]) for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          let ok = true;
          for (let r = 0; r < 4 && ok; r++) for (let q = 0; q < 4 && ok; q++) for (let ch = 0; ch < 2 && ok; ch++) {
            const sr = r + dy;
            const sq = (flip ? 3 - q : q) + dx;
            const want = sr < 0 || sr > 3 || sq < 0 || sq > 3 ? norm(0, ch) : norm(10 * k + 4 * sr + sq + 100 * ch, ch);
            ok = Math.abs(b.x[(r * 4 + q) * 2 + ch] - want) < 1e-6;
          }
          if (ok) fits.push(`${dy},${dx},${flip}`);
        }
        expect(fits.length).toBeGreaterThan(0);
        if (fits.every((f) => f.endsWith('true'))) flips++;
      }
    }
    expect(flips).toBeGreaterThan(3);
    expect(flips).toBeLessThan(21);
  });

  it('is a pure function of (seed, epoch, batch): resuming mid-epoch gives the same batches', () => {
    const set = handMade();
    const a = new BatchLoader(set, INFO, { batchSize: 1, train: true, seed: 5 });
    const b = new BatchLoader(set, INFO, { batchSize: 1, train: true, seed: 5 });
    const full = [...a.epoch(4)];
    const resumed = [...b.epoch(4, 1)];
    expect(Array.from(resumed[0].x)).toEqual(Array.from(full[1].x));
    const other = [...new BatchLoader(set, INFO, { batchSize: 2, train: true, seed: 6 }).epoch(4)];
    expect(Array.from(other[0].x)).not.toEqual(Array.from([...a.epoch(4)].flatMap((x) => Array.from(x.x))));
  });

  it('rejects a batch size of 0 and a normalisation of the wrong channel count', () => {
    expect(() => new BatchLoader(handMade(), INFO, { batchSize: 0, train: true, seed: 0 })).toThrow(/batch size 0/);
    expect(() => new BatchLoader(handMade(), { ...INFO, mean: [0.5], std: [0.5] }, { batchSize: 1, train: true, seed: 0 })).toThrow(/1 channels, images have 2/);
  });
});
