/**
 * Direct-loop NHWC convolution and its two gradients: an independent reference for the kernels.
 * Padding is given as the top/left amounts tfjs computes; out-of-range taps are zero.
 */
export interface ConvGeom {
  n: number; h: number; w: number; ci: number; co: number; kh: number; kw: number;
  sh: number; sw: number; ho: number; wo: number; top: number; left: number;
}

const xi = (g: ConvGeom, n: number, y: number, x: number, c: number) => ((n * g.h + y) * g.w + x) * g.ci + c;
const wi = (g: ConvGeom, a: number, b: number, c: number, o: number) => ((a * g.kw + b) * g.ci + c) * g.co + o;
const yi = (g: ConvGeom, n: number, i: number, j: number, o: number) => ((n * g.ho + i) * g.wo + j) * g.co + o;

function forEachTap(g: ConvGeom, f: (n: number, i: number, j: number, a: number, b: number, y: number, x: number) => void) {
  for (let n = 0; n < g.n; n++)
    for (let i = 0; i < g.ho; i++)
      for (let j = 0; j < g.wo; j++)
        for (let a = 0; a < g.kh; a++)
          for (let b = 0; b < g.kw; b++) {
            const y = i * g.sh + a - g.top;
            const x = j * g.sw + b - g.left;
            if (y >= 0 && y < g.h && x >= 0 && x < g.w) f(n, i, j, a, b, y, x);
          }
}

export function naiveConv(g: ConvGeom, x: Float32Array, w: Float32Array): Float64Array {
  const out = new Float64Array(g.n * g.ho * g.wo * g.co);
  forEachTap(g, (n, i, j, a, b, y, xx) => {
    for (let c = 0; c < g.ci; c++)
      for (let o = 0; o < g.co; o++) out[yi(g, n, i, j, o)] += x[xi(g, n, y, xx, c)] * w[wi(g, a, b, c, o)];
  });
  return out;
}

export function naiveConvFilterGrad(g: ConvGeom, x: Float32Array, dy: Float32Array): Float64Array {
  const dw = new Float64Array(g.kh * g.kw * g.ci * g.co);
  forEachTap(g, (n, i, j, a, b, y, xx) => {
    for (let c = 0; c < g.ci; c++)
      for (let o = 0; o < g.co; o++) dw[wi(g, a, b, c, o)] += x[xi(g, n, y, xx, c)] * dy[yi(g, n, i, j, o)];
  });
  return dw;
}

export function naiveConvInputGrad(g: ConvGeom, w: Float32Array, dy: Float32Array): Float64Array {
  const dx = new Float64Array(g.n * g.h * g.w * g.ci);
  forEachTap(g, (n, i, j, a, b, y, xx) => {
    for (let c = 0; c < g.ci; c++)
      for (let o = 0; o < g.co; o++) dx[xi(g, n, y, xx, c)] += w[wi(g, a, b, c, o)] * dy[yi(g, n, i, j, o)];
  });
  return dx;
}

/** max|a−b| / max|b|: one number per comparison, robust to entries near zero. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / (scale || 1);
}

/** Seeded test inputs: the same generator the loader uses. */
export { mulberry32 as seededRandom } from '../data/rng';

export function randomArray(rand: () => number, length: number): Float32Array {
  const a = new Float32Array(length);
  for (let i = 0; i < length; i++) a[i] = rand() * 2 - 1;
  return a;
}
