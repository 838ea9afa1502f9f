import * as tf from '@tensorflow/tfjs';
import { namedWeights } from './masks';
import { buildModel } from '../spec';
import { preresnetBlocks, type PreResNetSpec } from '../models/preresnet';
import {
  BLOCK_SCALE_SUFFIX, resnetBlockName, resnetBlocks, shortcutChangesShape, stageWidthsOf, type ResidualBlock, type ResNetSpec,
} from '../models/resnet';

/**
 * Block removal for Sparse Structure Selection: a residual block whose λ reached 0 adds nothing to its
 * shortcut, so it is an identity and goes; the blocks after it in its stage move up (layer1.2 → layer1.1).
 * CIFAR ResNets (basic blocks) and PreResNets (pre-activation bottlenecks).
 */

/** A net made of residual blocks. */
export type BlockSpec = ResNetSpec | PreResNetSpec;

/** Every block of the net in order, stage by stage. */
export const residualBlocks = (spec: BlockSpec): ResidualBlock[] =>
  (spec.arch === 'preresnet' ? preresnetBlocks(spec) : resnetBlocks(spec));

/**
 * Whether a block's shortcut changes the shape (a ResNet's first block of stages 2 and 3; a PreResNet's first block
 * of every stage, whose 1×1 conv shortcut widens to 4× planes): such a block is no identity without its branch.
 */
export const shortcutChangesShapeIn = (spec: BlockSpec, block: ResidualBlock) =>
  (spec.arch === 'preresnet' ? block.index === 0 : shortcutChangesShape(block));

/** The weights a block's λ multiplies when folded: the last op of its branch (a ResNet's bn2, a PreResNet's conv3). */
const foldedInto = (spec: BlockSpec, block: string) => (spec.arch === 'preresnet'
  ? [`${block}.conv3/kernel`, `${block}.conv3/bias`] : [`${block}.bn2/gamma`, `${block}.bn2/beta`]);

/** A removal `removeBlocks` refuses: `field` is the argument at fault, `item` the block or layer named. */
export class BlockRemovalError extends Error {
  constructor(readonly field: 'removed' | 'model', readonly item: string, problem: string) {
    super(`removeBlocks (models/block-removal.ts): ${field}: '${item}' ${problem}`);
    this.name = 'BlockRemovalError';
  }
}

/** Why a block whose shortcut changes the shape cannot go. */
function notIdentity(spec: BlockSpec, block: ResidualBlock): string {
  if (spec.arch === 'preresnet') {
    return 'cannot go: its shortcut is a 1×1 conv that changes the width, so without its branch it is no identity; ' +
      'keep the first block of every stage';
  }
  const widths = stageWidthsOf(spec);
  return `cannot go: its shortcut pools by stride 2 and pads ${widths[block.stage - 1]} → ${widths[block.stage]} ` +
    'channels, so without its branch it is no identity; keep the first block of stages 2 and 3';
}

/** The blocks to remove, checked: known, named once, and with an identity shortcut. */
function checkedRemovals(spec: BlockSpec, removed: string[]): Set<string> {
  const blocks = new Map(residualBlocks(spec).map((block) => [block.name, block]));
  const removing = new Set<string>();
  for (const name of removed) {
    const block = blocks.get(name);
    if (!block) {
      const known = [...blocks.keys()];
      throw new BlockRemovalError('removed', name, `is not a block of this spec; name blocks among ` +
        `${known.join(', ')}`);
    }
    if (removing.has(name)) throw new BlockRemovalError('removed', name, 'is named twice; name each block once');
    if (shortcutChangesShapeIn(spec, block)) throw new BlockRemovalError('removed', name, notIdentity(spec, block));
    removing.add(name);
  }
  return removing;
}

/**
 * A shallower spec without the `removed` blocks, and a new model in which every remaining layer holds the old
 * weights (BN statistics and λ too); blocks are renumbered in order within their stage. The input model is left
 * untouched. Removing a block whose λ is 0 leaves the logits unchanged: a ResNet block's output relu(x + 0) is x,
 * since x is itself a ReLU output; a PreResNet block's x + 0 is x.
 */
export function removeBlocks<S extends BlockSpec>(model: tf.LayersModel, spec: S, removed: string[]):
  { spec: S; model: tf.LayersModel } {
  const removing = checkedRemovals(spec, removed);
  const kept = residualBlocks(spec).filter((block) => !removing.has(block.name));
  const blocksIn = (stage: number) => kept.filter((block) => block.stage === stage);
  // New block name → the old block it continues.
  const oldBlockOf = new Map<string, ResidualBlock>();
  for (const stage of [0, 1, 2]) {
    blocksIn(stage).forEach((block, index) => oldBlockOf.set(resnetBlockName(stage, index), block));
  }
  const blocks: [number, number, number] = [blocksIn(0).length, blocksIn(1).length, blocksIn(2).length];
  const newSpec = (spec.arch === 'preresnet' ? withPreResNetBlocks(spec, blocks, oldBlockOf)
    : { ...spec, blocks, cfg: kept.map((block) => spec.cfg[block.cfgIndex]) }) as S;
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

/** A PreResNet's spec with the blocks `oldBlockOf` names: their three widths each, and their selections renamed. */
function withPreResNetBlocks(spec: PreResNetSpec, blocks: [number, number, number],
  oldBlockOf: Map<string, ResidualBlock>): PreResNetSpec {
  const renamed = [...oldBlockOf].map(([name, old]) => ({ name, old }));
  const selections = spec.selections && Object.fromEntries(Object.entries(spec.selections).flatMap(([layer, kept]) => {
    if (layer === 'select') return [[layer, kept]];
    const block = renamed.find(({ old }) => layer === `${old.name}.select`);
    return block ? [[`${block.name}.select`, kept]] : [];
  }));
  return {
    ...spec, blocks,
    cfg: [...renamed.flatMap(({ old }) => spec.cfg.slice(old.cfgIndex, old.cfgIndex + 3)), spec.cfg[spec.cfg.length - 1]],
    ...(selections ? { selections } : {}),
  };
}

/**
 * The same network without its λ layers: each block's λ is folded into the last op of its branch (a ResNet's bn2:
 * λ·(γx̂ + β) = (λγ)x̂ + λβ; a PreResNet's conv3: λ·(W∗x) = (λW)∗x), so the model is a plain net of
 * `{ ...spec, blockScales: undefined }` with the same outputs (inference mode).
 */
export function foldBlockScales<S extends BlockSpec>(model: tf.LayersModel, spec: S): { spec: S; model: tf.LayersModel } {
  const { blockScales: _dropped, ...plainSpec } = spec;
  const folded = buildModel(plainSpec as S, 0);
  const source = namedWeights(model);
  const lambdaOf = (name: string) => source.get(`${name}${BLOCK_SCALE_SUFFIX}/lambda`)?.read().dataSync()[0] ?? 1;
  const scales = new Map(residualBlocks(spec).flatMap((block) =>
    foldedInto(spec, block.name).map((weight) => [weight, lambdaOf(block.name)])));
  for (const [name, weight] of namedWeights(folded)) {
    const value = source.get(name);
    if (!value) throw new BlockRemovalError('model', name, 'is missing from the model to fold; pass the model of this spec');
    const scale = scales.get(name);
    weight.write(scale === undefined ? value.read() : tf.tidy(() => tf.mul(value.read(), scale)));
  }
  return { spec: plainSpec as S, model: folded };
}
