// Batch norm, ReLU-gradient, max-pool-gradient and SGD kernels of the native addon (training-ops.cc).
#pragma once
#include <node_api.h>

// Adds batchNormForward, batchNormBackward (and their ReLU-fused forms), movingAverages, add, addRelu, relu, reluGrad,
// channelAffine, copyChannels, gatherChannels, maxPoolGrad, avgPoolGrad and sgdStep to the addon's exports.
void defineTrainingOps(napi_env env, napi_value exports);
