/** Input shape and class count of each dataset a spec may name (images are NHWC). */
export interface DatasetShape {
  height: number;
  width: number;
  channels: number;
  classes: number;
}

export const DATASET_SHAPES = {
  cifar10: { height: 32, width: 32, channels: 3, classes: 10 },
  cifar100: { height: 32, width: 32, channels: 3, classes: 100 },
  // 28×28 images zero-padded to 32×32 by the loader, so the CIFAR architectures apply unchanged.
  mnist: { height: 32, width: 32, channels: 1, classes: 10 },
  'fashion-mnist': { height: 32, width: 32, channels: 1, classes: 10 },
  imagenet: { height: 224, width: 224, channels: 3, classes: 1000 },
} as const satisfies Record<string, DatasetShape>;

export type DatasetName = keyof typeof DATASET_SHAPES;

export function isDatasetName(name: unknown): name is DatasetName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(DATASET_SHAPES, name);
}
