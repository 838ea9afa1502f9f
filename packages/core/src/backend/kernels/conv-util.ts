import type { TensorInfo } from '@tensorflow/tfjs';
import type { KernelComposer } from './compose';

/**
 * A stride-1 NHWC Conv2D whose input is padded by `padH` = [before, after] rows and `padW` columns.
 * Negative amounts crop instead; positive ones go to the convolution as explicit padding (no copy).
 */
export function convWithPads(
  c: KernelComposer,
  x: TensorInfo,
  filter: TensorInfo,
  padH: [number, number],
  padW: [number, number],
  dilations: [number, number] = [1, 1],
): TensorInfo {
  const begin = [0, Math.max(0, -padH[0]), Math.max(0, -padW[0]), 0];
  const size = [
    x.shape[0],
    x.shape[1] - begin[1] - Math.max(0, -padH[1]),
    x.shape[2] - begin[2] - Math.max(0, -padW[1]),
    x.shape[3],
  ];
  const cropped = size[1] === x.shape[1] && size[2] === x.shape[2] ? x : c.slice(x, begin, size);
  const pad = [
    [0, 0],
    [Math.max(0, padH[0]), Math.max(0, padH[1])],
    [Math.max(0, padW[0]), Math.max(0, padW[1])],
    [0, 0],
  ];
  return c.run('Conv2D', { x: cropped, filter }, {
    strides: [1, 1],
    pad: pad as any,
    dataFormat: 'NHWC',
    dilations,
    dimRoundingMode: undefined as any,
  });
}
