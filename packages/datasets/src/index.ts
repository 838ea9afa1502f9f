export { DatasetFormatError } from './errors';
export { concatImageSets, type ImageSet } from './image-set';
export { CIFAR_FILES, parseCifarBatch, readCifar, type CifarName } from './cifar';
