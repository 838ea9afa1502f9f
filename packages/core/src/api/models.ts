/** @rethink-prune/core/models: Architecture specs and models: build, name, validate and narrow a spec; the families; model directories. */
export { DATASET_SHAPES, isDatasetName, type DatasetName, type DatasetShape } from '../datasets-info';
export { ARCHS, buildModel, namedSpec, registerModelNames, upgradeSpec, validateSpec, type NamedModels, type ArchSpec, type DenseNetSpec, type ImageNetResNetSpec, type ImageNetVggSpec, type PreResNetImageNetSpec, type PreResNetSpec, type ResNetSpec, type VggSpec } from '../spec';
export {
  defaultPreResNetCfg, PRERESNET_PLANES, preresnetBlocks, preresnetBlocksPerStage, preresnetPlanesOf, preresnetStageBlocks, preresnetSelections,
  type PreResNetSelection,
} from '../models/preresnet';
export { FAMILIES, familyOf } from '../models/registry';
export type { ArchFamily } from '../models/family';
export { defaultDenseNetCfg, densenetUnits, type DenseUnit } from '../models/densenet';
export { IMAGENET_VGG_CFGS } from '../models/vgg-imagenet';
export { defaultImageNetResNetCfg, imagenetBlocks, IMAGENET_RESNET_LAYERS, planesOf } from '../models/resnet-imagenet';
export { VGG_CFGS, vggBnName, vggConvName, type VggCfg } from '../models/vgg';
export { defaultResNetCfg, resnetBlockName, resnetBlocksPerStage, RESNET_STAGE_WIDTHS } from '../models/resnet';
export {
  loadMasks, loadModelDir, readModelSpec, saveModelDir, writeMasks, writeModelFiles, ModelDirError, MODEL_JSON, SPEC_JSON,
  WEIGHTS_BIN, type LoadedModel,
} from '../model-io';
export { narrow, narrowSpec } from '../widths';
export {
  BLOCK_SCALE_SUFFIX, BlockScale, resnetBlocks, resnetLayerCount, resnetStageBlocks, shortcutChangesShape,
  type ResidualBlock, type ResNetBlock,
} from '../models/resnet';
