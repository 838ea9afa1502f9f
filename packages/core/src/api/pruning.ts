/** @rethink-prune/core/pruning: Pruning: the channel graph, surgery, masks, counting, targets, reconstruction, block removal; and any tfjs model traced and pruned. */
export { countModel, countSpec, type Counts } from '../pruning/counting';
export { channelGroups, residualTies, withWidths, type ChannelGroup, type ChannelMember, type MemberKind, type TiedChannels } from '../pruning/graph';
export { pruneChannels, type KeepSets } from '../pruning/surgery';
export { iterativeMagnitudeMasks, magnitudeMasks, magnitudeThreshold, remainingThreshold } from '../pruning/magnitude';
export { applyMasks, convKernels, keptWeights, maskSparsity, namedWeights, sparseScratchInit, type MaskSet } from '../pruning/masks';
export { scaleTargets, TargetWidthError } from '../pruning/targets';
export {
  convAxis, layerActivation, LayerChoiceError, pruneLayerByLayer, reconstructableLayers, type BetweenLayers, type LayerStep, type ReconstructableLayer,
} from '../pruning/reconstruction';
export {
  BlockRemovalError, foldBlockScales, removeBlocks, residualBlocks, shortcutChangesShapeIn, type BlockSpec,
} from '../pruning/block-removal';
export { traceModel, UnsupportedLayerError, type TracedGroup, type TracedMember, type TracedRole, type TraceOptions } from '../trace/traced-graph';
export { keepSetsForFlops, paramCount, pruneTracedModel, tracedKeepSets, type TracedCriterion, type TracedKeepSets, type TracedPruneOptions } from '../trace/prune-traced';
export { isKeras3Config, KerasConfigError, keras3ToTfjs } from '../trace/keras3';
export { layerFlops, readLayersModel } from '../trace/model-files';
export { isKerasModel, readKerasModel } from '../trace/keras3-weights';
export { modelFingerprint, runComparison, type CompareOptions, type CompareResult } from '../trace/compare';
export { layersSpec, tracedFamily, type LayersSpec } from '../models/traced';
