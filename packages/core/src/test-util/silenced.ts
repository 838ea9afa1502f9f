import * as tf from '@tensorflow/tfjs';
import type { TracedKeepSets } from '../trace/prune-traced';
import type { TracedGroup } from '../trace/traced-graph';

/** The original model with every removed channel silenced: its BN's γ and β (or a Dense unit's column and bias) at 0. */
export function silenced(model: tf.LayersModel, groups: TracedGroup[], keep: TracedKeepSets): void {
  for (const g of groups.filter((x) => keep[x.id])) {
    const gone = Array.from({ length: g.size }, (_, c) => c).filter((c) => !keep[g.id].includes(c));
    for (const m of g.members.filter((x) => x.role === 'bn' || (x.role === 'out' && !g.members.some((y) => y.role === 'bn')))) {
      const layer = model.getLayer(m.layer);
      const zeroAt = (w: tf.Tensor, axis: number) => tf.tidy(() => {
        const mask = new Float32Array(w.shape[axis]).fill(1);
        for (const c of gone) if (c >= m.offset && c < m.offset + m.length) mask[m.at + c - m.offset] = 0;
        const shape = w.shape.map((d, i) => (i === axis ? d : 1));
        return tf.mul(w, tf.tensor(mask, shape));
      });
      const weights = layer.getWeights();
      layer.setWeights(m.role === 'bn'
        ? weights.map((w, i) => (i < 2 ? zeroAt(w, 0) : w))
        : weights.map((w) => zeroAt(w, w.shape.length - 1)));
    }
  }
}

