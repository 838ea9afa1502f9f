/**
 * The evidence study: the rows of the paper's question run at the `small` profile on the CIFAR-10 subset (10 000
 * training images, 2 000 test; real CIFAR-10 photographs, see ../shared/datasets/cifar10-subset/README.md), three
 * seeds each. One entry per method: its CLI, the variants, and a label where the paper's method is an ImageNet one.
 */
import * as path from 'path';
import type { Reference } from './interval';

export interface Study {
  /** The folder under results/ and runs/study/. */
  id: string;
  /** The method package's folder (its built CLI is packages/<folder>/dist/cli.js). */
  packageDir: string;
  variants: string[];
  seeds: number;
  profile: string;
  dataset: 'cifar10';
  /** Shown beside the method's name: the paper ran it on ImageNet, ours is the CIFAR analogue. */
  note?: string;
  /**
   * A CIFAR analogue's stand-ins: our variant → the variant of the paper's ImageNet row (the method's reference.json)
   * whose verdict the table sets beside ours, labelled with that row.
   */
  analogueOf?: Record<string, string>;
  /** An LR axis (`--lrs`): every variant at each initial LR (lottery tickets: the paper's 0.1 and 0.01). */
  lrs?: number[];
  /**
   * What the scratch run (random init) is compared with: the fine-tuned model (default), or the winning ticket (the
   * same pruned net trained from its baseline's initial weights).
   */
  reference?: Reference;
  /**
   * One backend for every seed and stage, so that a stage re-run from its manifest computes the same: wasm (with the
   * native oneDNN kernels where they are built), not `auto`, whose measured choice can differ between machines.
   */
  backend: string;
}

/** The CIFAR-10 subset every study trains on, where the workspace's shared/ folder has it (CI has it; users may not). */
export const SUBSET_DATA_DIR = path.resolve(__dirname, '../../../shared/datasets/cifar10-subset');

const study = (id: string, packageDir: string, variants: string[], extra: Partial<Study> = {}): Study =>
  ({ id, packageDir, variants, seeds: 3, profile: 'small', dataset: 'cifar10', backend: 'wasm', ...extra });
const analogue = (analogueOf: Record<string, string>) => ({ note: 'CIFAR analogue of an ImageNet method', analogueOf });

export const STUDIES: Study[] = [
  study('l1-norm', 'method-l1', ['vgg16-A', 'resnet56-A', 'resnet56-B']),
  study('slimming', 'method-slimming', ['vgg19-70', 'vgg19-50', 'densenet40-40']),
  study('sfp', 'method-sfp', ['resnet20', 'resnet20-pretrained', 'resnet56', 'resnet56-pretrained']),
  // Table 6's DenseNet-BC-100 at 80% as the bottleneck network its name means: the basic DenseNet-100 the seed's
  // scripts build trains 3.3× slower at ÷4 (6.1 s against 1.8 s a step, measured side by side), some 35 hours of one
  // core a seed. The paper's numbers stand beside both (reference.json).
  study('weight-level', 'method-weight-level', ['vgg19-30', 'vgg19-80', 'densenet-bc100-80']),
  study('lottery-ticket', 'lottery-ticket', ['vgg16-A', 'vgg16-iterative'], { lrs: [0.1, 0.01], reference: 'ticket' }),
  // VGG-16 with half of conv1_1 … conv4_3 for ThiNet-Conv and VGG-16-5x; half of every block's first conv for
  // ResNet50-50% and ResNet-50-2x.
  study('thinet', 'method-thinet', ['vgg16-conv', 'resnet56-50'],
    analogue({ 'vgg16-conv': 'thinet-conv', 'resnet56-50': 'thinet-50' })),
  study('regression', 'method-regression', ['vgg16-50', 'resnet56-50'],
    analogue({ 'vgg16-50': 'vgg16-5x', 'resnet56-50': 'resnet50-2x' })),
  // The search's net stands for the ImageNet one nearest in FLOPs: at γ = 0.1 seed 0's removes five of nine blocks
  // (FLOPs −57.8%), past ResNet-26's −44% (ResNet-32 −31%, ResNet-41 −15%).
  study('sss', 'method-sss', ['resnet20-g0.1'], analogue({ 'resnet20-g0.1': 'resnet26' })),
];

export function studyById(id: string): Study {
  const found = STUDIES.find((s) => s.id === id);
  if (!found) throw new Error(`unknown study '${id}'; choose one of ${STUDIES.map((s) => s.id).join(', ')}`);
  return found;
}

/** The reproduce command of a study, as a user would type it in the workspace (after `npm ci`). */
export function studyCommand(s: Study, dataDir: string, runDir: string): string[] {
  return [`packages/${s.packageDir}/dist/cli.js`, 'reproduce', '--profile', s.profile, '--dataset', s.dataset,
    '--data-dir', dataDir, '--seeds', String(s.seeds), '--models', s.variants.join(','), '--run-dir', runDir,
    '--backend', s.backend, ...(s.lrs ? ['--lrs', s.lrs.join(',')] : [])];
}

/**
 * The command `evidence run` trains a study with: the reproduce command, finished stages of the studies' run
 * directories beside this one copied rather than trained again (`--reuse-from`), one seed where given.
 */
export const studyRunArgs = (s: Study, dataDir: string, runDir: string, seed?: number | string): string[] =>
  [...studyCommand(s, dataDir, runDir), '--reuse-from', path.dirname(runDir), ...(seed === undefined ? [] : ['--seed', String(seed)])];
