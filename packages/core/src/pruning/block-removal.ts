import * as tf from '@tensorflow/tfjs';
import { namedWeights } from './masks';
import { buildModel } from '../spec';
import {
  BLOCK_SCALE_SUFFIX, resnetBlockName, resnetBlocks, shortcutChangesShape, stageWidthsOf, type ResNetBlock, type ResNetSpec,
} from '../models/resnet';

/**
 * Block removal for Sparse Structure Selection: a residual block whose λ reached 0 adds nothing to its
 * shortcut, so it is an identity and goes; the blocks after it in its stage move up (layer1.2 → layer1.1).
 */

/** A removal `removeBlocks` refuses: `field` is the argument at fault, `item` the block or layer named. */
export class BlockRemovalError extends Error {
  constructor(readonly field: 'removed' | 'model', readonly item: string, problem: string) {
    super(`removeBlocks (models/block-removal.ts): ${field}: '${item}' ${problem}`);
    this.name = 'BlockRemovalError';
  }
}

/** The blocks to remove, checked: known, named once, and with an identity shortcut. */
function checkedRemovals(spec: ResNetSpec, removed: string[]): Set<string> {
  const blocks = new Map(resnetBlocks(spec).map((block) => [block.name, block]));
  const removing = new Set<string>();
  for (const name of removed) {
    const block = blocks.get(name);
    if (!block) {
      const known = [...blocks.keys()];
      throw new BlockRemovalError('removed', name, `is not a block of this spec; name blocks among ` +
        `${known.join(', ')}`);
    }
    if (removing.has(name)) throw new BlockRemovalError('removed', name, 'is named twice; name each block once');
    if (shortcutChangesShape(block)) {
      const widths = stageWidthsOf(spec);
      const [from, to] = [widths[block.stage - 1], widths[block.stage]];
      throw new BlockRemovalError('removed', name, `cannot go: its shortcut pools by stride 2 and pads ` +
        `${from} → ${to} channels, so without its branch it is no identity; ` +
        'keep the first block of stages 2 and 3');
    }
    removing.add(name);
  }
  return removing;
}

/**
 * A shallower spec without the `removed` blocks, and a new model in which every remaining layer holds the old
 * weights (BN statistics and λ too); blocks are renumbered in order within their stage. The input model is left
 * untouched. Removing a block whose λ is 0 leaves the logits unchanged: its output relu(x + 0) is x, since x is
 * itself a ReLU output.
 */
export function removeBlocks(model: tf.LayersModel, spec: ResNetSpec, removed: string[]):
  { spec: ResNetSpec; model: tf.LayersModel } {
  const removing = checkedRemovals(spec, removed);
  const kept = resnetBlocks(spec).filter((block) => !removing.has(block.name));
  const blocksIn = (stage: number) => kept.filter((block) => block.stage === stage);
  const newSpec: ResNetSpec = {
    ...spec,
    blocks: [blocksIn(0).length, blocksIn(1).length, blocksIn(2).length],
    cfg: kept.map((block) => spec.cfg[block.cfgIndex]),
  };
  // New block name → the old block it continues.
  const oldBlockOf = new Map<string, ResNetBlock>();
  for (const stage of [0, 1, 2]) {
    blocksIn(stage).forEach((block, index) => oldBlockOf.set(resnetBlockName(stage, index), block));
  }
  const newModel = buildModel(newSpec, 0);
  try {
    for (const layer of newModel.layers) {
      if (layer.weights.length === 0) continue;
      const match = /^(layer\d+\.\d+)(\..+)$/.exec(layer.name);
      const oldName = match ? `${oldBlockOf.get(match[1])!.name}${match[2]}` : layer.name;
      const oldLayer = model.layers.find((candidate) => candidate.name === oldName);
      if (!oldLayer) {
        throw new BlockRemovalError('model', oldName, 'is a layer of the spec that the model lacks; ' +
          'pass the model built from this spec');
      }
      layer.setWeights(oldLayer.getWeights());
    }
  } catch (e) {
    newModel.dispose();
    throw e;
  }
  return { spec: newSpec, model: newModel };
}

/**
 * The same network without its λ layers: each block's λ is folded into its bn2 (λ·(γx̂ + β) = (λγ)x̂ + λβ), so the
 * model is a plain ResNet of `{ ...spec, blockScales: undefined }` with the same outputs (inference mode).
 */
export function foldBlockScales(model: tf.LayersModel, spec: ResNetSpec): { spec: ResNetSpec; model: tf.LayersModel } {
  const { blockScales: _dropped, ...plainSpec } = spec;
  const folded = buildModel(plainSpec, 0);
  const source = namedWeights(model);
  const lambdaOf = (name: string) => source.get(`${name}${BLOCK_SCALE_SUFFIX}/lambda`)?.read().dataSync()[0] ?? 1;
  const scales = new Map(resnetBlocks(spec).flatMap((block) =>
    [`${block.name}.bn2/gamma`, `${block.name}.bn2/beta`].map((weight) => [weight, lambdaOf(block.name)])));
  for (const [name, weight] of namedWeights(folded)) {
    const value = source.get(name);
    if (!value) throw new BlockRemovalError('model', name, 'is missing from the model to fold; pass the model of this spec');
    const scale = scales.get(name);
    weight.write(scale === undefined ? value.read() : tf.tidy(() => tf.mul(value.read(), scale)));
  }
  return { spec: plainSpec, model: folded };
}
