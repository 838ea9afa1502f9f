import * as fs from 'fs';
import * as path from 'path';
import { DATASETS, isDatasetName, readImageFolder, type DatasetInfo } from '@rethink-prune/datasets';
import { startBackend, UsageError } from '../cli-kit';
import { loadTrainingData, type TrainingData } from '../data/source';
import type { DatasetName } from '../datasets-info';
import { resultsMarkdown } from '../results';
import { CompareInputError, runComparison } from './compare';
import { readLayersModel } from './model-files';
import type { TracedCriterion } from './prune-traced';

export const COMPARE_USAGE = `  rethink-prune-model compare --model <dir|model.json|m.keras> (--images <dir> | --dataset <name> --data-dir <dir>)
                              [--criterion l1|bn-scale|random] [--ratio 0.5 | --flops-target 0.5] [--epochs 30]
        the paper's question on your model and data: your model as the trained baseline (evaluated), pruned and
        fine-tuned, against the pruned architecture trained from scratch for the same epochs (Scratch-E) and for the
        same compute (Scratch-B: epochs × FLOPs ratio); results.csv, results.md and chart.svg in --run-dir, every
        stage resumable
`;

export const COMPARE_OPTIONS_HELP = `
compare options:
  --images <dir>     an image folder: <dir>/train/<class>/*.jpg and <dir>/val/<class>/*.jpg, resized to the model's input
  --normalize        with --images: imagenet (mean/std, default) or unit (pixels in [0, 1]), as the model was trained
  --dataset, --data-dir  cifar10, cifar100, mnist or fashion-mnist from the data directory instead
  --epochs N         Scratch-E's epochs, as long as your model was trained (default 30); LR steps at 50% and 75%
  --finetune-epochs N  (default epochs / 4)   --lr X  scratch LR (default 0.05)   --finetune-lr X  (default 0.001)
  --batch-size N     (default 64)   --train-limit N, --test-limit N  use the first N images only
  --run-dir <dir>    default runs/compare/<model name>   --fresh  run stages whose settings changed again
`;

export const COMPARE_OPTIONS = {
  images: { type: 'string' }, normalize: { type: 'string' }, dataset: { type: 'string' },
  'data-dir': { type: 'string' }, epochs: { type: 'string', default: '30' }, 'finetune-epochs': { type: 'string' },
  lr: { type: 'string', default: '0.05' }, 'finetune-lr': { type: 'string', default: '0.001' },
  'batch-size': { type: 'string', default: '64' }, 'train-limit': { type: 'string' }, 'test-limit': { type: 'string' },
  'run-dir': { type: 'string' }, fresh: { type: 'boolean', default: false },
} as const;

type Values = { [K in keyof typeof COMPARE_OPTIONS]?: (typeof COMPARE_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string };

function number(values: Values, option: keyof Values, whole: boolean): number | undefined {
  const text = values[option] as string | undefined;
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(value > 0) || (whole && !Number.isInteger(value))) {
    throw new UsageError(`--${option} ${text}: give ${whole ? 'a whole number ≥ 1' : 'a positive number'}`);
  }
  return value;
}

/** The user's images as training data: a folder read on demand at the model's input size, or a known dataset. */
function userData(values: Values, input: number[]):
  { data: TrainingData; dataset: DatasetName; dataKey: Record<string, unknown>; dataName: string } {
  if (values.images && values.dataset) throw new UsageError('--images and --dataset: give one of them');
  if (values.images) {
    const normalize = values.normalize ?? 'imagenet';
    if (normalize !== 'imagenet' && normalize !== 'unit') throw new UsageError(`--normalize ${normalize}: use imagenet or unit`);
    const [height, width, channels] = input;
    if (height !== width || channels !== 3) {
      throw new UsageError(`--images: the model takes ${input.join('×')}; image folders feed square RGB inputs`);
    }
    const folders = { train: readImageFolder(values.images, 'train'), test: readImageFolder(values.images, 'val') };
    if (folders.train.classes.join('/') !== folders.test.classes.join('/')) {
      throw new UsageError(`--images ${values.images}: train/ and val/ must hold the same class folders ` +
        `(train: ${folders.train.classes.join(', ')}; val: ${folders.test.classes.join(', ')})`);
    }
    const { mean, std } = normalize === 'unit' ? { mean: [0, 0, 0], std: [1, 1, 1] } : DATASETS.imagenet;
    const info: DatasetInfo = { height, width, channels, classes: folders.train.classes.length, mean: [...mean],
      std: [...std], augment: { pad: 0, flip: true }, embedded: false };
    const folder = path.resolve(values.images);
    return { data: { folders, info }, dataset: 'imagenet', dataName: `images:${path.basename(folder)}`,
      dataKey: { images: folder, classes: folders.train.classes, count: { train: folders.train.items.length,
        test: folders.test.items.length }, normalize } };
  }
  if (!values.dataset) throw new UsageError('compare needs --images <dir> or --dataset <name> --data-dir <dir>');
  if (!isDatasetName(values.dataset) || values.dataset === 'imagenet') {
    throw new UsageError(`--dataset ${values.dataset}: use cifar10, cifar100, mnist or fashion-mnist (or --images)`);
  }
  if (values.normalize) throw new UsageError(`--normalize is for --images; ${values.dataset} is normalised as the seed does`);
  if (!values['data-dir']) throw new UsageError(`--dataset ${values.dataset} needs --data-dir`);
  return { data: loadTrainingData(values.dataset, values['data-dir']), dataset: values.dataset, dataName: values.dataset,
    dataKey: { dataset: values.dataset } };
}

/** `compare`, with the options parsed by the CLI (COMPARE_OPTIONS among them) and those it shares with `prune`. */
export async function compareCommand(values: Values, shared: { model: string; criterion: TracedCriterion; ratio?: number;
  flopsTarget?: number; seed: number; barriers: boolean; backend?: string }): Promise<void> {
  const epochs = number(values, 'epochs', true)!;
  const finetuneEpochs = number(values, 'finetune-epochs', true) ?? Math.max(1, Math.floor(epochs / 4));
  await startBackend('rethink-prune-model', shared.backend);
  const model = await readLayersModel(shared.model);
  const { data, dataset, dataKey, dataName } = userData(values, model.inputs[0].shape.slice(1) as number[]);
  // A model.json is named by its folder, a .keras file by itself.
  const given = path.resolve(shared.model);
  const name = path.basename(path.basename(given) === 'model.json' ? path.dirname(given) : given).replace(/\.keras$/, '');
  const runDir = values['run-dir'] ?? path.join('runs', 'compare', name);
  try {
    const { row, softmaxRemoved } = await runComparison({
      model, name, data, dataset, dataKey, dataName, criterion: shared.criterion, ratio: shared.ratio, flopsTarget: shared.flopsTarget,
      seed: shared.seed, epochs, finetuneEpochs, lr: number(values, 'lr', false)!,
      finetuneLr: number(values, 'finetune-lr', false)!, batchSize: number(values, 'batch-size', true)!, runDir,
      fresh: values.fresh === true, barriers: shared.barriers,
      limit: { train: number(values, 'train-limit', true), test: number(values, 'test-limit', true) },
    });
    if (softmaxRemoved) process.stdout.write('(the softmax of the last layer is left out while training: the loss takes logits)\n');
    process.stdout.write(resultsMarkdown([row]));
    process.stdout.write(`\nresults.csv, results.md${fs.existsSync(path.join(runDir, 'chart.svg')) ? ', chart.svg' : ''} in ${runDir}\n`);
  } catch (e) {
    if (e instanceof CompareInputError) throw new UsageError(e.message);
    throw e;
  } finally {
    model.dispose();
  }
}
