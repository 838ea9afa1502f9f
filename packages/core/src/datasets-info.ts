/** Dataset facts (shapes, normalisation, augmentation) live in @rethink-prune/datasets; core re-exports them. */
export { DATASETS as DATASET_SHAPES, isDatasetName, type DatasetInfo as DatasetShape, type DatasetName } from '@rethink-prune/datasets';
