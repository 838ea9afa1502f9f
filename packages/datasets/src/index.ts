export { DatasetFormatError } from './errors';
export { concatImageSets, type ImageSet } from './image-set';
export { CIFAR_FILES, parseCifarBatch, readCifar, type CifarName } from './cifar';
export { parseIdx } from './idx';
export { padImages } from './image-ops';
export { FASHION_TRAIN_PER_CLASS, readFashionMnist, readMnist } from './embedded';
export { DATA_DIR_ENV, resolveDataDir } from './data-dir';
export { CIFAR_DIRS, DATASETS, isDatasetName, loadImageSet, type DatasetInfo, type DatasetName } from './catalog';
export { sharedDatasetsDir } from './shared-data';
