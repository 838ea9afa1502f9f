import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setUpTestBackends, TEST_BACKENDS, useBackend } from '../../test-util/backends';

beforeAll(setUpTestBackends);

describe.each(TEST_BACKENDS)('GatherV2 on %s', (backend) => {
  // x[r][c] = 10·r + c: every output names the row and channel it came from.
  const rows = 1031; // odd, past the threads' shares
  const x = () => tf.tensor2d(Array.from({ length: rows * 6 }, (_, i) => 10 * Math.floor(i / 6) + (i % 6)), [rows, 6]);

  // tfjs-node's own GatherV2 (ours is not registered there) takes no negative axis.
  const axes = backend === 'tfjs-node' ? [1] : [1, -1];
  it.each(axes)('picks channels on the last axis (axis %i) in the order given, repeats allowed', async (axis) => {
    await useBackend(backend);
    const y = tf.gather(x(), [5, 0, 2, 2], axis);
    const got = await y.array();
    expect(got[0]).toEqual([5, 0, 2, 2]);
    expect(got[1]).toEqual([15, 10, 12, 12]);
    expect(got[rows - 1]).toEqual([10 * (rows - 1) + 5, 10 * (rows - 1), 10 * (rows - 1) + 2, 10 * (rows - 1) + 2]);
  });

  it('gathers a 4-D activation on its channels (a channel selection: models/channel-selection.test.ts)', async () => {
    await useBackend(backend);
    const act = tf.tensor4d([0, 1, 2, 3, 10, 11, 12, 13], [1, 1, 2, 4]);
    expect(await tf.gather(act, [3, 1], 3).array()).toEqual([[[[3, 1], [13, 11]]]]);
  });

  it('leaves a gather on another axis to the backend: rows picked whole', async () => {
    await useBackend(backend);
    expect(await tf.gather(x(), [2, 0], 0).array()).toEqual([[20, 21, 22, 23, 24, 25], [0, 1, 2, 3, 4, 5]]);
  });
});
