import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../data/loader';
import type { BatchStream } from '../data/source';

export interface Evaluation {
  top1: number;
  top5: number;
  loss: number;
  count: number;
}

/** Top-1 / top-5 accuracy (%) and mean cross-entropy of a model in inference mode (BN running statistics). */
export function evaluate(model: tf.LayersModel, loader: { epoch(epoch: number): Iterable<Batch> },
  inputShape: number[]): Evaluation {
  let top1 = 0;
  let top5 = 0;
  let loss = 0;
  let count = 0;
  for (const batch of loader.epoch(0)) {
    const [top1Hits, top5Hits, batchLoss] = tf.tidy(() => {
      const images = tf.tensor(batch.x, [batch.size, ...inputShape]);
      const logits = model.predict(images) as tf.Tensor2D;
      const labels = tf.tensor1d(batch.y, 'int32');
      const classes = logits.shape[1];
      const { indices } = tf.topk(logits, Math.min(5, classes));
      const hits = tf.equal(indices, labels.expandDims(1));
      const first = tf.sum(tf.cast(hits.slice([0, 0], [-1, 1]), 'float32'));
      const any = tf.sum(tf.cast(tf.any(hits, 1), 'float32'));
      const crossEntropy = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, classes), logits, undefined,
        undefined, tf.Reduction.SUM);
      return [first.dataSync()[0], any.dataSync()[0], crossEntropy.dataSync()[0]];
    });
    top1 += top1Hits;
    top5 += top5Hits;
    loss += batchLoss;
    count += batch.size;
  }
  return { top1: (100 * top1) / count, top5: (100 * top5) / count, loss: loss / count, count };
}

/**
 * Runs the first `batches` batches of `stream`'s epoch `epoch` forward in training mode: BN's moving statistics
 * follow the weights as they are, and no weight changes. The whole epoch is read (a prefetching loader is not
 * abandoned midway).
 */
export async function forwardInTraining(model: tf.LayersModel, stream: BatchStream, epoch: number, batches: number,
  inputShape: number[]): Promise<void> {
  for await (const batch of stream.epoch(epoch, 0)) {
    if (batch.index < batches) {
      tf.tidy(() => { model.apply(tf.tensor(batch.x, [batch.size, ...inputShape]), { training: true }); });
    }
  }
}
