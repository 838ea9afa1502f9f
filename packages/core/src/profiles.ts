/**
 * How long and how big an experiment runs. `paper` is the seed repository's recipe exactly; `small` is that
 * recipe in shape (LR steps at 50% / 75%, fine-tuning a quarter of the epochs at the seed's LR, Scratch-B by the
 * FLOPs ratio) on narrow models, long enough for every baseline to converge on one CPU: the scale of the evidence
 * in results/; `quick` is the same pipeline on narrow copies of the models, a subset of the images and a few
 * epochs, to finish in minutes on a laptop CPU (a pipeline check, never evidence); `smoke` runs in seconds for
 * tests and CI. Every result row records its profile: a `quick` number is never the paper's.
 */
export interface Profile {
  name: ProfileName;
  /** Baseline and Scratch-E epochs (CIFAR recipe: 160). Scratch-B scales this by the FLOPs ratio. */
  epochs: number;
  /** Fine-tuning epochs (seed: 40). */
  finetuneEpochs: number;
  /** Divide every width of the paper's models by this (the families in `familyWidthDivisors` excepted). */
  widthDivisor: number;
  /**
   * A family's own divisor (by spec `arch`), where one width does not fit all: a ÷4 CIFAR ResNet has 4-channel
   * layers. A user's `--width-divisor` sets every family's.
   */
  familyWidthDivisors?: Partial<Record<string, number>>;
  batchSize: number;
  /** The baseline and scratch runs' initial LR, where it is not the seed's 0.1. */
  lr?: number;
  trainLimit?: number;
  testLimit?: number;
  /** The same knobs for ImageNet, whose recipe differs (seed: 90 epochs, fine-tune 20, batch 256). */
  imagenet: { epochs: number; finetuneEpochs: number; batchSize: number };
  /**
   * Methods run the seed's own recipes (SFP's 200 epochs, SSS's 100) instead of scaling this profile's; off as soon
   * as the user changes a recipe field.
   */
  seedRecipes?: boolean;
  /** A method's default grid is every row of its paper table (else a short default subset). */
  fullGrid?: boolean;
  /** The fields the user changed from the named profile (`--epochs 20`), shown wherever the profile is named. */
  overrides?: ProfileOverrides;
  /**
   * Timed inference passes per model behind the latency columns, at batch 1 and at batch 64, each after one warm-up
   * pass (default 31 and 5, after 5 and 1). smoke times one of each: its latencies only show the columns are filled.
   */
  latencyPasses?: { b1: number; b64: number };
}

/** The fields of a profile a user may set, on the command line (`--finetune-epochs 10`) or in a JSON file. */
export const OVERRIDABLE = ['epochs', 'finetuneEpochs', 'widthDivisor', 'batchSize', 'lr', 'trainLimit', 'testLimit'] as const;
export type OverridableField = (typeof OVERRIDABLE)[number];
export type ProfileOverrides = Partial<Record<OverridableField, number>>;
/** The fields that change a training recipe (the others change the model or the data). */
export const RECIPE_FIELDS = ['epochs', 'finetuneEpochs', 'lr', 'batchSize'] as const satisfies readonly OverridableField[];

export const PROFILES = {
  paper: { name: 'paper', epochs: 160, finetuneEpochs: 40, widthDivisor: 1, batchSize: 64, seedRecipes: true, fullGrid: true,
    imagenet: { epochs: 90, finetuneEpochs: 20, batchSize: 256 } },
  // LR 0.02: at the seed's 0.1 the ÷4 VGG-16's loss rises in epoch 2 and it ends near chance on CIFAR. 3 000 images:
  // with 1 500 the ÷4 VGG-16 stops near 70% on Fashion-MNIST, with 3 000 it passes 75% (both in 4 epochs).
  quick: { name: 'quick', epochs: 4, finetuneEpochs: 1, widthDivisor: 4, batchSize: 64, lr: 0.02, trainLimit: 3000,
    testLimit: 1000, imagenet: { epochs: 2, finetuneEpochs: 1, batchSize: 32 } },
  // 40 epochs at LR 0.05 (the seed's 0.1 halved for ÷4 widths): a ÷4 VGG-16 on the CIFAR-10 subset (10 000 images)
  // gains under a point over its last quarter and passes 70% (30 epochs stopped at 69.9%); see results/README.md.
  // CIFAR ResNets ÷2: at ÷4 (4-channel first stage) ResNet-20 ends at 65.65% and still gains 1.35 points in its last
  // quarter; at ÷2 it reaches 75.30% and gains 0.60 (same recipe, seed 0; results/README.md, "Widths").
  small: { name: 'small', epochs: 40, finetuneEpochs: 10, widthDivisor: 4, familyWidthDivisors: { resnet: 2 },
    batchSize: 64, lr: 0.05, imagenet: { epochs: 6, finetuneEpochs: 2, batchSize: 32 } },
  smoke: { name: 'smoke', epochs: 1, finetuneEpochs: 1, widthDivisor: 8, batchSize: 32, trainLimit: 96, testLimit: 64,
    latencyPasses: { b1: 1, b64: 1 },
    imagenet: { epochs: 1, finetuneEpochs: 1, batchSize: 8 } },
} as const satisfies Record<string, Profile>;

export type ProfileName = 'paper' | 'small' | 'quick' | 'smoke';

export function profileByName(name: string): Profile {
  if (!Object.prototype.hasOwnProperty.call(PROFILES, name)) {
    throw new Error(`unknown profile '${name}'; choose one of ${Object.keys(PROFILES).join(', ')}`);
  }
  return PROFILES[name as ProfileName];
}

/** `lr` is any positive number; every other field a whole number ≥ 1. */
function checkedOverride(field: string, value: unknown): number {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  const whole = field !== 'lr';
  if (typeof number !== 'number' || !Number.isFinite(number) || number <= 0 || (whole && !Number.isInteger(number))) {
    throw new Error(`${field} ${String(value)}: give ${whole ? 'a whole number ≥ 1' : 'a positive number'}`);
  }
  return number;
}

/**
 * The profile with some fields changed; an unknown field or a bad value is an error naming it. The stages a
 * changed field affects see it in their run key (recipe, spec or data limit), so they are never reused stale.
 */
export function withOverrides(profile: Profile, overrides: Record<string, unknown>): Profile {
  const checked: ProfileOverrides = { ...profile.overrides };
  for (const [field, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(OVERRIDABLE as readonly string[]).includes(field)) {
      throw new Error(`unknown profile field '${field}'; choose from ${OVERRIDABLE.join(', ')}`);
    }
    checked[field as OverridableField] = checkedOverride(field, value);
  }
  if (Object.keys(checked).length === 0) return profile;
  const recipeChanged = RECIPE_FIELDS.some((f) => f in checked);
  const { familyWidthDivisors, ...rest } = profile;
  return { ...rest, ...('widthDivisor' in checked ? {} : { familyWidthDivisors }), ...checked, overrides: checked,
    ...(recipeChanged ? { seedRecipes: false } : {}) };
}

/** The divisor of a model's widths under `profile`: its family's own, else the profile's. */
export function widthDivisorOf(profile: Profile, arch: string): number {
  return profile.familyWidthDivisors?.[arch] ?? profile.widthDivisor;
}

/** The profile as result rows and tables name it: `small`, or `small epochs=20 lr=0.02` where fields changed. */
export function profileLabel(profile: Profile): string {
  const changed = Object.entries(profile.overrides ?? {}).map(([field, value]) => `${field}=${value}`);
  return [profile.name, ...changed].join(' ');
}
