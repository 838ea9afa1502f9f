/** A tiny model, synthetic 32×32 digits-shaped data and a short recipe, for fast tests of the training loop. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { DATASETS } from '@rethink-prune/datasets';
import type { TrainingData } from '../data/source';
import type { ArchSpec } from '../spec';
import type { Recipe } from '../train/recipe';
import { seededRandom } from './naive-conv';

/** Weights: features.{0,1}.conv/kernel, features.{0,1}.bn/{gamma,beta,moving_*}, classifier/{kernel,bias}. */
export const TINY_SPEC: ArchSpec = { arch: 'vgg', dataset: 'mnist', cfg: [4, 'M', 8], classifier: 'linear' };

/** `count` random 32×32×1 images (labels cycling over the 10 classes), the same set for train and test. */
export function syntheticData(count: number): TrainingData {
  const random = seededRandom(5);
  const images = Uint8Array.from({ length: count * 32 * 32 }, () => Math.floor(random() * 256));
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  const set = { images, labels, count, height: 32, width: 32, channels: 1, classes: 10 };
  return { train: set, test: set, info: DATASETS.mnist };
}

export function tinyRecipe(epochs: number, batchSize: number): Recipe {
  return { epochs, batchSize, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, milestones: [], gamma: 0.1 };
}

export const tmpDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
