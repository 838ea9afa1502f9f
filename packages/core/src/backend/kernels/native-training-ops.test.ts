import { execFileSync } from 'child_process';
import { describe, expect, it } from 'vitest';
import { seededRandom, randomArray } from '../../test-util/naive-conv';
import { NATIVE_ADDON, nativeConv } from './native-conv';

// native-addon.test.ts fails where the addon should exist but does not; here it is used where it loads.
const lib = nativeConv(1);

const ROWS = 1001; // odd, so two threads get unequal shares
const CHANNELS = 7; // the ops below that take no channel count
const EPS = 1e-5;

/** The batch norm of `x` ([ROWS, C]) and its gradients for `dy`, in float64 by the textbook formulas. */
function referenceBatchNorm(x: Float32Array, gamma: number[], beta: number[], dy: Float32Array) {
  const n = ROWS, CHANNELS = gamma.length;
  const y = new Float64Array(x.length), dx = new Float64Array(x.length);
  const mean: number[] = [], variance: number[] = [], dgamma: number[] = [], dbeta: number[] = [];
  for (let c = 0; c < CHANNELS; c++) {
    let m = 0;
    for (let r = 0; r < n; r++) m += x[r * CHANNELS + c] / n;
    let v = 0;
    for (let r = 0; r < n; r++) v += (x[r * CHANNELS + c] - m) ** 2 / n;
    const rs = 1 / Math.sqrt(v + EPS);
    let sumDy = 0, sumDyXhat = 0;
    for (let r = 0; r < n; r++) {
      const i = r * CHANNELS + c, xhat = (x[i] - m) * rs;
      y[i] = gamma[c] * xhat + beta[c];
      sumDy += dy[i];
      sumDyXhat += dy[i] * xhat;
    }
    for (let r = 0; r < n; r++) {
      const i = r * CHANNELS + c, xhat = (x[i] - m) * rs;
      dx[i] = (gamma[c] * rs / n) * (n * dy[i] - sumDy - xhat * sumDyXhat);
    }
    mean.push(m); variance.push(v); dgamma.push(sumDyXhat); dbeta.push(sumDy);
  }
  return { y, dx, mean, variance, dgamma, dbeta };
}

const maxRelativeError = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let worst = 0, scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]));
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
  return worst;
};

describe.skipIf(!lib)('native training ops, called directly', () => {
  // The loops walk periods of whole rows (64 floats): 7 channels leave a tail of rows, 64 and 100 take a row each.
  it.each([7, 1, 4, 64, 100])('batch norm forward and backward of %i channels on two OpenMP threads match float64 ' +
    'formulas (mean 1000 ≫ spread)', (CHANNELS) => {
    const rand = seededRandom(5);
    // A large mean over a small spread: the case where a one-pass variance or an uncentred affine loses digits.
    const x = randomArray(rand, ROWS * CHANNELS).map((v, i) => 1000 + (i % CHANNELS) + v);
    const dy = randomArray(rand, ROWS * CHANNELS);
    const gamma = Array.from({ length: CHANNELS }, (_, c) => [0.5, 1, 1.5, 2, -1, 0.25, 3][c % 7] + c / 100);
    const beta = Array.from({ length: CHANNELS }, (_, c) => [0, 0.1, -0.2, 0.3, 1, -1, 2][c % 7] - c / 50);
    // A child process: OpenMP sizes its pool when the addon loads, and tests run with one thread.
    const script = `
      const lib = require(${JSON.stringify(NATIVE_ADDON)});
      const [x, dy, gamma, beta] = JSON.parse(require('fs').readFileSync(0, 'utf8')).map((a) => Float32Array.from(a));
      const C = gamma.length, y = new Float32Array(x.length), dx = new Float32Array(x.length);
      const [mean, variance, dgamma, dbeta] = [0, 0, 0, 0].map(() => new Float32Array(C));
      lib.batchNormForward(x, gamma, beta, ${EPS}, y, mean, variance);
      lib.batchNormBackward(dy, x, mean, variance, gamma, ${EPS}, dx, dgamma, dbeta);
      process.stdout.write(JSON.stringify([y, dx, mean, variance, dgamma, dbeta].map((a) => Array.from(a))));`;
    const out = execFileSync(process.execPath, ['-e', script], {
      input: JSON.stringify([x, dy, gamma, beta].map((a) => Array.from(a))),
      env: { ...process.env, OMP_NUM_THREADS: '2' }, encoding: 'utf8', maxBuffer: 1 << 26,
    });
    const [y, dx, mean, variance, dgamma, dbeta] = JSON.parse(out) as number[][];
    const want = referenceBatchNorm(x, gamma, beta, dy);
    expect(maxRelativeError(mean, want.mean)).toBeLessThan(1e-7);
    expect(maxRelativeError(variance, want.variance)).toBeLessThan(1e-4);
    expect(maxRelativeError(y, want.y)).toBeLessThan(1e-4);
    expect(maxRelativeError(dx, want.dx)).toBeLessThan(1e-4);
    // ∂γ sums dy·(x − m) with m rounded to float32 near 1000-1100 (±3e-5): 1.2e-4 at 100 channels, as before the
    // periodic loops (measured with both).
    expect(maxRelativeError(dgamma, want.dgamma)).toBeLessThan(2e-4);
    expect(maxRelativeError(dbeta, want.dbeta)).toBeLessThan(1e-5);
  });

  it('movingAverages: m − (m − batch)·(1 − momentum) for mean and variance, rounded as float32 tf ops round it', () => {
    const f = Math.fround;
    const rand = seededRandom(17);
    const [movingMean, movingVariance, mean, variance] = [0, 1, 2, 3].map(() => randomArray(rand, 37));
    const [newMean, newVariance] = [new Float32Array(37), new Float32Array(37)];
    lib!.movingAverages(movingMean, movingVariance, mean, variance, 0.9, newMean, newVariance);
    const keep = f(1 - 0.9); // tf.mul(x, 1 - momentum) holds the scalar in float32
    const want = (m: Float32Array, b: Float32Array) => Array.from(m, (v, i) => f(v - f(f(v - b[i]) * keep)));
    expect(Array.from(newMean)).toEqual(want(movingMean, mean));
    expect(Array.from(newVariance)).toEqual(want(movingVariance, variance));
  });

  it('names the array whose length does not fit, with a code, and writes nothing', () => {
    const x = new Float32Array(12).fill(1), gamma = new Float32Array(3).fill(1), beta = new Float32Array(3);
    const y = new Float32Array(11).fill(7), mean = new Float32Array(3), variance = new Float32Array(3);
    let error: (Error & { code?: string }) | undefined;
    try {
      lib!.batchNormForward(x, gamma, beta, EPS, y, mean, variance);
    } catch (e) {
      error = e as Error & { code?: string };
    }
    expect(error).toBeInstanceOf(RangeError);
    expect(error!.code).toBe('ERR_NATIVE_OP_ARGS');
    expect(error!.message).toBe('y has 11 elements, the shape needs 12');
    expect(y.every((v) => v === 7)).toBe(true);
    expect(() => lib!.reluGrad(new Float32Array(4), new Float32Array(5), new Float32Array(5)))
      .toThrow('dy has 4 elements, the shape needs 5');
    expect(() => lib!.maxPoolGrad(Int32Array.from([1, 4, 4, 2, 2, 2, 2, 2, 2, 2, 0, 0]), new Float32Array(32),
      new Float32Array(7), new Float32Array(32))).toThrow('dy has 7 elements, the shape needs 8');
  });

  it.skipIf(!lib)('channelAffine: y = x·a + b per channel, every row, and checks its lengths', () => {
    const rand = seededRandom(11);
    const x = randomArray(rand, ROWS * CHANNELS);
    const a = randomArray(rand, CHANNELS), b = randomArray(rand, CHANNELS);
    const y = new Float32Array(x.length).fill(NaN);
    lib!.channelAffine(x, a, b, y);
    for (let i = 0; i < x.length; i++) expect(y[i]).toBe(Math.fround(Math.fround(x[i] * a[i % CHANNELS]) + b[i % CHANNELS]));
    expect(() => lib!.channelAffine(x, a, new Float32Array(CHANNELS + 1), y)).toThrow(`b has ${CHANNELS + 1} elements`);
    expect(() => lib!.channelAffine(x, a, b, new Float32Array(3))).toThrow('y has 3 elements');
  });

  it.skipIf(!lib)('copyChannels: rows side by side, gathered into one array and split back; lengths checked', () => {
    const widths = [2, 5, 1];
    const total = 8;
    const rand = seededRandom(13);
    const parts = widths.map((w) => randomArray(rand, ROWS * w));
    const whole = new Float32Array(ROWS * total).fill(NaN);
    lib!.copyChannels(parts, whole, true, ROWS);
    // element (row r, channel c) of the whole is part i's (r, c − offset of part i)
    for (let r = 0; r < ROWS; r++) {
      expect(Array.from(whole.subarray(r * total, (r + 1) * total)))
        .toEqual([parts[0][2 * r], parts[0][2 * r + 1], ...parts[1].subarray(5 * r, 5 * r + 5), parts[2][r]]);
    }
    const back = widths.map((w) => new Float32Array(ROWS * w).fill(NaN));
    lib!.copyChannels(back, whole, false, ROWS);
    back.forEach((part, i) => expect(part).toEqual(parts[i]));
    expect(() => lib!.copyChannels(parts, new Float32Array(ROWS * total - 1), true, ROWS))
      .toThrow(`whole has ${ROWS * total - 1} elements, the shape needs ${ROWS * total}`);
    expect(() => lib!.copyChannels([new Float32Array(7)], new Float32Array(7), true, 2))
      .toThrow('a part has 7 elements, not a multiple of 2 rows');
    expect(() => lib!.copyChannels([], new Float32Array(0), true, 1)).toThrow('parts must be a non-empty array');
  });

  it.skipIf(!lib)('gatherChannels: each row at the picked channels, in their order, repeats allowed, −1 for 0; picks checked', () => {
    const x = randomArray(seededRandom(17), ROWS * CHANNELS);
    const picks = Int32Array.from([6, 0, 2, 2, 5]);
    const y = new Float32Array(ROWS * picks.length).fill(NaN);
    lib!.gatherChannels(x, picks, y, ROWS);
    for (const r of [0, 1, 500, ROWS - 1]) {
      const row = x.subarray(r * CHANNELS, (r + 1) * CHANNELS);
      expect(Array.from(y.subarray(r * 5, r * 5 + 5))).toEqual([row[6], row[0], row[2], row[2], row[5]]);
    }
    // −1 gives 0: a selection's gradient, dy back on the kept channels
    const back = new Float32Array(ROWS * 3).fill(NaN);
    lib!.gatherChannels(x, Int32Array.from([-1, 4, -1]), back, ROWS);
    expect(Array.from(back.subarray(3, 6))).toEqual([0, x[CHANNELS + 4], 0]);
    expect(() => lib!.gatherChannels(x, Int32Array.from([0, 7]), new Float32Array(ROWS * 2), ROWS))
      .toThrow('picks[1] = 7 is not a channel of 7');
    expect(() => lib!.gatherChannels(x, Int32Array.from([-2]), new Float32Array(ROWS), ROWS))
      .toThrow('picks[0] = -2 is not a channel of 7');
    expect(() => lib!.gatherChannels(x, picks, new Float32Array(ROWS * 4), ROWS)).toThrow(`y has ${ROWS * 4} elements`);
    expect(() => lib!.gatherChannels(x, [0] as unknown as Int32Array, y, ROWS)).toThrow('picks must be an Int32Array');
  });
});

