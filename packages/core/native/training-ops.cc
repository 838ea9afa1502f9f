// The memory-bound rest of a training step, for the wasm backend beside the oneDNN convolutions: batch norm in
// training mode (forward with its batch statistics, backward in closed form), ReLU and its gradient, the max-pool
// gradient, the SGD update, the copies of a concatenation on the last axis (DenseNet's) and a gather of channels,
// on NHWC float32 arrays of the wasm heap, spread over OpenMP threads. Every array's length is checked against the
// shape before anything is written. The formulas are those of models/batch-norm.ts and train/sgd.ts.
#include "training-ops.h"

#include "signals-blocked.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Floats {
  float *data;
  size_t length;
};

// Argument errors come back as TypeError / RangeError with a code, as the convolutions' do.
struct ArgumentError {
  std::string message;
};

Floats floatsAt(napi_env env, napi_value v, const char *name) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_float32_array) {
    throw ArgumentError{std::string(name) + " must be a Float32Array"};
  }
  return {static_cast<float *>(data), length};
}

double numberAt(napi_env env, napi_value v, const char *name) {
  double value;
  if (napi_get_value_double(env, v, &value) != napi_ok) throw ArgumentError{std::string(name) + " must be a number"};
  return value;
}

void expectLength(const char *name, const Floats &array, size_t expected) {
  if (array.length != expected) {
    throw ArgumentError{std::string(name) + " has " + std::to_string(array.length) + " elements, the shape needs " +
                        std::to_string(expected)};
  }
}

// Rows (all axes but the last) of an NHWC tensor with `channels` channels.
size_t rowsOf(const char *name, const Floats &x, size_t channels) {
  if (channels == 0 || x.length == 0 || x.length % channels != 0) {
    throw ArgumentError{std::string(name) + " has " + std::to_string(x.length) + " elements, not a multiple of " +
                        std::to_string(channels) + " channels"};
  }
  return x.length / channels;
}

// Per-channel loops over an NHWC array, vectorised however few the channels: the flat array is walked in periods
// of whole rows (about 64 floats, so that 4 channels still fill the SIMD lanes), each per-channel constant repeated
// over a period. The loop bodies are compiled for AVX-512, AVX2 and the baseline, chosen when the addon loads.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__clang__)
#define SIMD_CLONES __attribute__((target_clones("avx512f", "avx2", "default"), noinline))
#else
#define SIMD_CLONES
#endif

struct Periods {
  size_t channels, width;  // floats per period: whole rows
  size_t count;            // whole periods
  size_t tailWidth;        // the rows after them, as one shorter period (0: none)
};

Periods periodsOf(size_t rows, size_t channels) {
  const size_t rowsPerPeriod = std::max<size_t>(1, 64 / channels);
  return {channels, rowsPerPeriod * channels, rows / rowsPerPeriod, (rows % rowsPerPeriod) * channels};
}

// `perChannel` repeated over one period.
std::vector<float> repeated(const float *perChannel, const Periods &p) {
  std::vector<float> out(p.width);
  for (size_t j = 0; j < p.width; j++) out[j] = perChannel[j % p.channels];
  return out;
}

// Whole periods go to the threads in chunks of this many: each chunk's sums are kept in float, then added in double.
constexpr size_t CHUNK = 32;

// body(offset, periods, width) over every period: the whole ones in chunks over the threads, then the tail.
template <typename Body>
void forPeriods(const Periods &p, Body body) {
  const int64_t chunks = static_cast<int64_t>((p.count + CHUNK - 1) / CHUNK);
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; c++) {
    const size_t first = static_cast<size_t>(c) * CHUNK;
    body(first * p.width, std::min(CHUNK, p.count - first), p.width);
  }
  if (p.tailWidth > 0) body(p.count * p.width, 1, p.tailWidth);
}

// Two sums per channel ([sum][channel], in double): moments(offset, periods, width, s1, s2) adds its periods'
// terms lane by lane into the float accumulators s1, s2 (`width` long, zeroed before each call).
template <typename Moments>
std::vector<double> channelSums(const Periods &p, Moments moments) {
  const int threads = omp_get_max_threads();
  std::vector<double> lanes(static_cast<size_t>(threads) * 2 * p.width, 0.0);
  // Each thread adds into its own lanes (the tail runs outside the parallel region, as thread 0).
  forPeriods(p, [&](size_t offset, size_t periods, size_t width) {
    double *own = lanes.data() + static_cast<size_t>(omp_get_thread_num()) * 2 * p.width;
    std::vector<float> s1(width, 0.0f), s2(width, 0.0f);
    moments(offset, periods, width, s1.data(), s2.data());
    for (size_t j = 0; j < width; j++) {
      own[j] += s1[j];
      own[p.width + j] += s2[j];
    }
  });
  std::vector<double> total(2 * p.channels, 0.0);
  for (int t = 0; t < threads; t++) {
    const double *own = lanes.data() + static_cast<size_t>(t) * 2 * p.width;
    for (size_t j = 0; j < p.width; j++) {
      total[j % p.channels] += own[j];
      total[p.channels + j % p.channels] += own[p.width + j];
    }
  }
  return total;
}

// s1 += x − shift, s2 += (x − shift)², lane by lane over `periods` periods of `width` floats.
SIMD_CLONES void shiftedMoments(const float *x, const float *shift, size_t periods, size_t width, float *s1, float *s2) {
  for (size_t p = 0; p < periods; p++, x += width) {
    for (size_t j = 0; j < width; j++) {
      const float d = x[j] - shift[j];
      s1[j] += d;
      s2[j] += d * d;
    }
  }
}

// s1 += dy, s2 += dy·(x − m).
SIMD_CLONES void gradientMoments(const float *dy, const float *x, const float *m, size_t periods, size_t width,
                                 float *s1, float *s2) {
  for (size_t p = 0; p < periods; p++, dy += width, x += width) {
    for (size_t j = 0; j < width; j++) {
      s1[j] += dy[j];
      s2[j] += dy[j] * (x[j] - m[j]);
    }
  }
}

// y = (x − m)·a + b (centred first: no cancellation when |m| ≫ σ).
SIMD_CLONES void affinePeriods(const float *x, const float *m, const float *a, const float *b, size_t periods,
                               size_t width, float *y) {
  for (size_t p = 0; p < periods; p++, x += width, y += width) {
    for (size_t j = 0; j < width; j++) y[j] = (x[j] - m[j]) * a[j] + b[j];
  }
}

// dx = a·dy + k·(x − m) + offset.
SIMD_CLONES void normGradPeriods(const float *dy, const float *x, const float *m, const float *a, const float *k,
                                 const float *offset, size_t periods, size_t width, float *dx) {
  for (size_t p = 0; p < periods; p++, dy += width, x += width, dx += width) {
    for (size_t j = 0; j < width; j++) dx[j] = a[j] * dy[j] + k[j] * (x[j] - m[j]) + offset[j];
  }
}

// ReLU's gradient mask, as reluGrad's: 1 where y > 0, 0 where not, NaN where y is NaN.
inline float stepOf(float y) {
  const float step = y > 0 ? 1.0f : 0.0f;
  return y != y ? y : step;
}

// y = max((x − m)·a + b, 0), as relu's (NaN passes).
SIMD_CLONES void affineReluPeriods(const float *x, const float *m, const float *a, const float *b, size_t periods,
                                   size_t width, float *y) {
  for (size_t p = 0; p < periods; p++, x += width, y += width) {
    for (size_t j = 0; j < width; j++) {
      const float v = (x[j] - m[j]) * a[j] + b[j];
      y[j] = v < 0 ? 0.0f : v;
    }
  }
}

// gradientMoments of g = dy·step(y), the gradient through the ReLU that followed.
SIMD_CLONES void maskedGradientMoments(const float *dy, const float *y, const float *x, const float *m, size_t periods,
                                       size_t width, float *s1, float *s2) {
  for (size_t p = 0; p < periods; p++, dy += width, y += width, x += width) {
    for (size_t j = 0; j < width; j++) {
      const float g = dy[j] * stepOf(y[j]);
      s1[j] += g;
      s2[j] += g * (x[j] - m[j]);
    }
  }
}

// normGradPeriods of g = dy·step(y).
SIMD_CLONES void maskedNormGradPeriods(const float *dy, const float *y, const float *x, const float *m, const float *a,
                                       const float *k, const float *offset, size_t periods, size_t width, float *dx) {
  for (size_t p = 0; p < periods; p++, dy += width, y += width, x += width, dx += width) {
    for (size_t j = 0; j < width; j++) {
      const float g = dy[j] * stepOf(y[j]);
      dx[j] = a[j] * g + k[j] * (x[j] - m[j]) + offset[j];
    }
  }
}

// y = (x − m)·a + b per channel over every row; with `relu`, max(that, 0).
void affine(const float *x, const float *m, const float *a, const float *b, size_t rows, size_t channels, float *y,
            bool relu = false) {
  const Periods p = periodsOf(rows, channels);
  const std::vector<float> mP = repeated(m, p), aP = repeated(a, p), bP = repeated(b, p);
  forPeriods(p, [&](size_t offset, size_t periods, size_t width) {
    (relu ? affineReluPeriods : affinePeriods)(x + offset, mP.data(), aP.data(), bP.data(), periods, width, y + offset);
  });
}

// batchNormForward(x, gamma, beta, epsilon, y, mean, variance): the batch mean and biased variance of every
// channel (sums shifted by the first row, in double), then y = γ·(x−m)/√(v+ε) + β.
void batchNormForwardOf(napi_env env, napi_value *args, bool relu) {
  Floats x = floatsAt(env, args[0], "x"), gamma = floatsAt(env, args[1], "gamma"), beta = floatsAt(env, args[2], "beta");
  double eps = numberAt(env, args[3], "epsilon");
  Floats y = floatsAt(env, args[4], "y"), mean = floatsAt(env, args[5], "mean"),
         variance = floatsAt(env, args[6], "variance");
  const size_t channels = gamma.length, rows = rowsOf("x", x, channels);
  expectLength("beta", beta, channels);
  expectLength("y", y, x.length);
  expectLength("mean", mean, channels);
  expectLength("variance", variance, channels);
  const Periods p = periodsOf(rows, channels);
  const std::vector<float> shift = repeated(x.data, p);  // the first row: keeps the one-pass variance exact enough
  std::vector<double> sums = channelSums(p, [&](size_t offset, size_t periods, size_t width, float *s1, float *s2) {
    shiftedMoments(x.data + offset, shift.data(), periods, width, s1, s2);
  });
  std::vector<float> a(channels);
  for (size_t c = 0; c < channels; c++) {
    const double meanShifted = sums[c] / rows;
    double var = sums[channels + c] / rows - meanShifted * meanShifted;
    if (var < 0) var = 0;  // rounding; a NaN stays NaN
    mean.data[c] = static_cast<float>(shift[c] + meanShifted);
    variance.data[c] = static_cast<float>(var);
    a[c] = static_cast<float>(gamma.data[c] / std::sqrt(var + eps));
  }
  affine(x.data, mean.data, a.data(), beta.data, rows, channels, y.data, relu);
}

void batchNormForward(napi_env env, napi_value *args) { batchNormForwardOf(env, args, false); }

// batchNormReluForward(x, gamma, beta, epsilon, y, mean, variance): the same with y = max(BN(x), 0), one pass.
void batchNormReluForward(napi_env env, napi_value *args) { batchNormForwardOf(env, args, true); }

// movingAverages(movingMean, movingVariance, mean, variance, momentum, newMean, newVariance): each moving statistic
// m ← m − (m − batch)·(1 − momentum), in float32 as models/batch-norm.ts' tf ops round it; one call for both.
void movingAverages(napi_env env, napi_value *args) {
  Floats movingMean = floatsAt(env, args[0], "movingMean"), movingVariance = floatsAt(env, args[1], "movingVariance"),
         mean = floatsAt(env, args[2], "mean"), variance = floatsAt(env, args[3], "variance");
  const float keep = static_cast<float>(1.0 - numberAt(env, args[4], "momentum"));
  Floats newMean = floatsAt(env, args[5], "newMean"), newVariance = floatsAt(env, args[6], "newVariance");
  for (const auto &[name, array] : {std::pair<const char *, Floats>{"movingVariance", movingVariance}, {"mean", mean},
                                    {"variance", variance}, {"newMean", newMean}, {"newVariance", newVariance}}) {
    expectLength(name, array, movingMean.length);
  }
  for (size_t c = 0; c < movingMean.length; c++) {
    newMean.data[c] = movingMean.data[c] - (movingMean.data[c] - mean.data[c]) * keep;
    newVariance.data[c] = movingVariance.data[c] - (movingVariance.data[c] - variance.data[c]) * keep;
  }
}

// batchNormBackward(dy, x, mean, variance, gamma, epsilon, dx, dgamma, dbeta), with r = 1/√(v+ε), n rows:
//   ∂x = γr·(dy − Σdy/n − (x−m)·r²·Σdy(x−m)/n),  ∂γ = r·Σdy(x−m),  ∂β = Σdy
// `args` from x on; y: the ReLU's output whose gradient mask applies to dy (null: none).
void batchNormBackwardOf(napi_env env, napi_value *args, const Floats &dy, const Floats *y) {
  Floats x = floatsAt(env, args[0], "x"), mean = floatsAt(env, args[1], "mean"),
         variance = floatsAt(env, args[2], "variance"), gamma = floatsAt(env, args[3], "gamma");
  double eps = numberAt(env, args[4], "epsilon");
  Floats dx = floatsAt(env, args[5], "dx"), dgamma = floatsAt(env, args[6], "dgamma"),
         dbeta = floatsAt(env, args[7], "dbeta");
  const size_t channels = gamma.length, rows = rowsOf("x", x, channels);
  for (const auto &[name, array] : {std::pair<const char *, Floats>{"mean", mean}, {"variance", variance},
                                    {"dgamma", dgamma}, {"dbeta", dbeta}}) {
    expectLength(name, array, channels);
  }
  expectLength("dy", dy, x.length);
  expectLength("dx", dx, x.length);
  if (y) expectLength("y", *y, x.length);
  const Periods p = periodsOf(rows, channels);
  const std::vector<float> mP = repeated(mean.data, p);
  std::vector<double> sums = channelSums(p, [&](size_t offset, size_t periods, size_t width, float *s1, float *s2) {
    if (y) return maskedGradientMoments(dy.data + offset, y->data + offset, x.data + offset, mP.data(), periods, width, s1, s2);
    gradientMoments(dy.data + offset, x.data + offset, mP.data(), periods, width, s1, s2);
  });
  std::vector<float> a(channels), k(channels), offset(channels);
  for (size_t c = 0; c < channels; c++) {
    const double r = 1.0 / std::sqrt(static_cast<double>(variance.data[c]) + eps);
    const double gr = gamma.data[c] * r;
    dgamma.data[c] = static_cast<float>(r * sums[channels + c]);
    dbeta.data[c] = static_cast<float>(sums[c]);
    // ∂x = a·dy + k·(x−m) + offset, with k = −γr³·Σdy(x−m)/n and offset = −γr·Σdy/n
    a[c] = static_cast<float>(gr);
    k[c] = static_cast<float>(-gr * r * r * sums[channels + c] / rows);
    offset[c] = static_cast<float>(-gr * sums[c] / rows);
  }
  const std::vector<float> aP = repeated(a.data(), p), kP = repeated(k.data(), p), offsetP = repeated(offset.data(), p);
  forPeriods(p, [&](size_t at, size_t periods, size_t width) {
    if (y) {
      return maskedNormGradPeriods(dy.data + at, y->data + at, x.data + at, mP.data(), aP.data(), kP.data(),
                                   offsetP.data(), periods, width, dx.data + at);
    }
    normGradPeriods(dy.data + at, x.data + at, mP.data(), aP.data(), kP.data(), offsetP.data(), periods, width,
                    dx.data + at);
  });
}

// channelAffine(x, a, b, y): y = x·a + b per channel of the last axis (C = a.length), BN in inference mode with its
// statistics folded into a and b (the caller computes them, as the JS kernel of elementwise.ts does).
void channelAffine(napi_env env, napi_value *args) {
  Floats x = floatsAt(env, args[0], "x"), a = floatsAt(env, args[1], "a"), b = floatsAt(env, args[2], "b");
  Floats y = floatsAt(env, args[3], "y");
  const size_t channels = a.length;
  expectLength("b", b, channels);
  const size_t rows = rowsOf("x", x, channels);
  expectLength("y", y, x.length);
  const std::vector<float> zero(channels, 0.0f);  // x − 0 is x: the same rounding as x·a + b
  affine(x.data, zero.data(), a.data, b.data, rows, channels, y.data);
}

void batchNormBackward(napi_env env, napi_value *args) {
  batchNormBackwardOf(env, args + 1, floatsAt(env, args[0], "dy"), nullptr);
}

// batchNormReluBackward(dy, y, x, mean, variance, gamma, epsilon, dx, dgamma, dbeta): batchNormBackward of
// dy·step(y), the gradient through the ReLU whose output is y, in the same two passes.
void batchNormReluBackward(napi_env env, napi_value *args) {
  const Floats y = floatsAt(env, args[1], "y");
  batchNormBackwardOf(env, args + 2, floatsAt(env, args[0], "dy"), &y);
}

// body(offset, length) over slices of an array of `length` floats, spread over the threads.
template <typename Body>
void forSlices(size_t length, Body body) {
  constexpr size_t SLICE = 8192;
  const int64_t slices = static_cast<int64_t>((length + SLICE - 1) / SLICE);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < slices; i++) {
    const size_t at = static_cast<size_t>(i) * SLICE;
    body(at, std::min(SLICE, length - at));
  }
}

SIMD_CLONES void reluSlice(const float *x, size_t length, float *y) {
  for (size_t i = 0; i < length; i++) y[i] = x[i] < 0 ? 0.0f : x[i];
}

// dy · step(x), the step a select between constants: GCC vectorises that, where a select between dy and dy·0
// compiled to branches that mispredict on random signs (5× slower on a 262 144-element ReLU).
SIMD_CLONES void reluGradSlice(const float *dy, const float *x, size_t length, float *dx) {
  for (size_t i = 0; i < length; i++) {
    const float value = x[i];
    float step = value > 0 ? 1.0f : 0.0f;
    step = value != value ? value : step;
    dx[i] = dy[i] * step;
  }
}

SIMD_CLONES void addSlice(const float *a, const float *b, size_t length, float *y) {
  for (size_t i = 0; i < length; i++) y[i] = a[i] + b[i];
}

SIMD_CLONES void addReluSlice(const float *a, const float *b, size_t length, float *y) {
  for (size_t i = 0; i < length; i++) {
    const float v = a[i] + b[i];
    y[i] = v < 0 ? 0.0f : v;
  }
}

// y = a + b over arrays of one length, with `relu` max(a + b, 0), on the addon's threads like the kernels around it.
void addOf(napi_env env, napi_value *args, bool relu) {
  Floats a = floatsAt(env, args[0], "a"), b = floatsAt(env, args[1], "b"), y = floatsAt(env, args[2], "y");
  expectLength("b", b, a.length);
  expectLength("y", y, a.length);
  forSlices(a.length, [&](size_t at, size_t length) {
    (relu ? addReluSlice : addSlice)(a.data + at, b.data + at, length, y.data + at);
  });
}

// add(a, b, y): a pre-activation block's sum, the tape's gradient sums.
void add(napi_env env, napi_value *args) { addOf(env, args, false); }

// addRelu(a, b, y): a residual block's sum and the ReLU after it, in one pass.
void addRelu(napi_env env, napi_value *args) { addOf(env, args, true); }

// relu(x, y): y = x where x is not below 0, else 0 (NaN and −0 pass through, as tfjs-cpu's x < 0 ? 0 : x), over
// OpenMP threads; wasm's own ReLU runs on one.
void relu(napi_env env, napi_value *args) {
  Floats x = floatsAt(env, args[0], "x"), y = floatsAt(env, args[1], "y");
  expectLength("y", y, x.length);
  forSlices(x.length, [&](size_t at, size_t length) { reluSlice(x.data + at, length, y.data + at); });
}

// reluGrad(dy, x, dx): dx = dy where x > 0, else dy·0 (0, or NaN for a non-finite dy; NaN where x is NaN), as
// tfjs's dy · step(x).
void reluGrad(napi_env env, napi_value *args) {
  Floats dy = floatsAt(env, args[0], "dy"), x = floatsAt(env, args[1], "x"), dx = floatsAt(env, args[2], "dx");
  expectLength("dy", dy, x.length);
  expectLength("dx", dx, x.length);
  forSlices(x.length, [&](size_t at, size_t length) {
    reluGradSlice(dy.data + at, x.data + at, length, dx.data + at);
  });
}

// A JS array of Float32Arrays (each checked as floatsAt does); `allowEmpty` admits [].
std::vector<Floats> floatsArrayAt(napi_env env, napi_value v, const char *name, bool allowEmpty = false) {
  bool isArray = false;
  uint32_t count = 0;
  if (napi_is_array(env, v, &isArray) != napi_ok || !isArray || napi_get_array_length(env, v, &count) != napi_ok ||
      (count == 0 && !allowEmpty)) {
    throw ArgumentError{std::string(name) + " must be a" + (allowEmpty ? "n" : " non-empty") + " array of Float32Arrays"};
  }
  std::vector<Floats> out;
  for (uint32_t i = 0; i < count; i++) {
    napi_value element;
    if (napi_get_element(env, v, i, &element) != napi_ok) throw ArgumentError{std::string(name) + ": cannot read an element"};
    out.push_back(floatsAt(env, element, (std::string(name) + "[" + std::to_string(i) + "]").c_str()));
  }
  return out;
}

// copyChannels(parts, whole, gather): the rows of `whole` (all axes but the last) are the rows of `parts` side by
// side, in order. gather: whole ← parts (Concat on the last axis); else parts ← whole (its gradient, SplitV). Each
// part's channel count is its length over the row count, which `whole`'s channel total fixes.
void copyChannels(napi_env env, napi_value *args) {
  const std::vector<Floats> parts = floatsArrayAt(env, args[0], "parts");
  size_t partsLength = 0;
  for (const Floats &part : parts) partsLength += part.length;
  Floats whole = floatsAt(env, args[1], "whole");
  bool gather;
  if (napi_get_value_bool(env, args[2], &gather) != napi_ok) throw ArgumentError{"gather must be a boolean"};
  expectLength("whole", whole, partsLength);
  const double rowsArg = numberAt(env, args[3], "rows");
  if (!(rowsArg >= 1) || rowsArg != std::floor(rowsArg)) throw ArgumentError{"rows must be a whole number >= 1"};
  const size_t rows = static_cast<size_t>(rowsArg);
  std::vector<size_t> widths, offsets;
  size_t total = 0;
  for (const Floats &part : parts) {
    if (part.length % rows != 0) {
      throw ArgumentError{"a part has " + std::to_string(part.length) + " elements, not a multiple of " +
                          std::to_string(rows) + " rows"};
    }
    widths.push_back(part.length / rows);
    offsets.push_back(total);
    total += widths.back();
  }
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < static_cast<int64_t>(rows); row++) {
    float *w = whole.data + row * total;
    for (size_t i = 0; i < parts.size(); i++) {
      float *p = parts[i].data + row * widths[i];
      if (gather) {
        std::memcpy(w + offsets[i], p, widths[i] * sizeof(float));
      } else {
        std::memcpy(p, w + offsets[i], widths[i] * sizeof(float));
      }
    }
  }
}

// gatherChannels(x, picks, y, rows): row r of y (its last axis) is row r of x at the channels `picks` (an Int32Array
// of indices into x's last axis, in any order; −1 gives 0): GatherV2 on the last axis (a pruned DenseNet's channel
// selections), and a selection's gradient (dy back on the kept channels, 0 on the others).
void gatherChannels(napi_env env, napi_value *args) {
  const Floats x = floatsAt(env, args[0], "x");
  napi_typedarray_type type;
  size_t width;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, args[1], &type, &width, &data, &buffer, &offset) != napi_ok ||
      type != napi_int32_array) {
    throw ArgumentError{"picks must be an Int32Array"};
  }
  const int32_t *picks = static_cast<const int32_t *>(data);
  Floats y = floatsAt(env, args[2], "y");
  const double rowsArg = numberAt(env, args[3], "rows");
  if (!(rowsArg >= 1) || rowsArg != std::floor(rowsArg)) throw ArgumentError{"rows must be a whole number >= 1"};
  const size_t rows = static_cast<size_t>(rowsArg);
  if (x.length == 0 || x.length % rows != 0) {
    throw ArgumentError{"x has " + std::to_string(x.length) + " elements, not a multiple of " + std::to_string(rows) +
                        " rows"};
  }
  const size_t channels = x.length / rows;
  expectLength("y", y, rows * width);
  for (size_t j = 0; j < width; j++) {
    if (picks[j] < -1 || (picks[j] >= 0 && static_cast<size_t>(picks[j]) >= channels)) {
      throw ArgumentError{"picks[" + std::to_string(j) + "] = " + std::to_string(picks[j]) + " is not a channel of " +
                          std::to_string(channels) + " (nor −1, for 0)"};
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t row = 0; row < static_cast<int64_t>(rows); row++) {
    const float *from = x.data + row * channels;
    float *to = y.data + row * width;
    for (size_t j = 0; j < width; j++) to[j] = picks[j] < 0 ? 0.0f : from[picks[j]];
  }
}

SIMD_CLONES void sgdSlice(const float *w, const float *g, const float *v, size_t length, float lr, float momentum,
                          float decay, bool nesterov, float *wOut, float *vOut) {
  for (size_t i = 0; i < length; i++) {
    const float decayed = decay > 0 ? g[i] + w[i] * decay : g[i];
    const float next = v[i] * momentum + decayed;
    const float direction = nesterov ? decayed + next * momentum : next;
    vOut[i] = next;
    wOut[i] = w[i] - direction * lr;
  }
}

// sgdStep(weights, gradients, velocities, lr, momentum, weightDecay, nesterov, newWeights, newVelocities), arrays of
// Float32Arrays, one entry per weight: g ← g + wd·w; v ← μ·v + g; w ← w − lr·v (Nesterov: w − lr·(g + μ·v)), every
// weight of a model in one call (one call per weight cost a kernel's overhead for each of ResNet-56's 167).
void sgdStep(napi_env env, napi_value *args) {
  const std::vector<Floats> weights = floatsArrayAt(env, args[0], "weights", true),
                            gradients = floatsArrayAt(env, args[1], "gradients", true),
                            velocities = floatsArrayAt(env, args[2], "velocities", true);
  const float lr = static_cast<float>(numberAt(env, args[3], "lr"));
  const float momentum = static_cast<float>(numberAt(env, args[4], "momentum"));
  const float decay = static_cast<float>(numberAt(env, args[5], "weightDecay"));
  bool nesterov;
  if (napi_get_value_bool(env, args[6], &nesterov) != napi_ok) throw ArgumentError{"nesterov must be a boolean"};
  const std::vector<Floats> newWeights = floatsArrayAt(env, args[7], "newWeights", true),
                            newVelocities = floatsArrayAt(env, args[8], "newVelocities", true);
  for (const auto &[name, list] : {std::pair<const char *, const std::vector<Floats> *>{"gradients", &gradients},
                                   {"velocities", &velocities}, {"newWeights", &newWeights},
                                   {"newVelocities", &newVelocities}}) {
    if (list->size() != weights.size()) {
      throw ArgumentError{std::string(name) + " has " + std::to_string(list->size()) + " arrays, weights has " +
                          std::to_string(weights.size())};
    }
  }
  // Slices of at most 16 384 elements across all weights, spread over the threads.
  struct Slice {
    size_t weight, at, length;
  };
  std::vector<Slice> slices;
  for (size_t i = 0; i < weights.size(); i++) {
    for (const auto &[name, array] : {std::pair<const char *, Floats>{"gradient", gradients[i]},
                                      {"velocity", velocities[i]}, {"newWeight", newWeights[i]},
                                      {"newVelocity", newVelocities[i]}}) {
      expectLength(name, array, weights[i].length);
    }
    for (size_t at = 0; at < weights[i].length; at += 16384) {
      slices.push_back({i, at, std::min<size_t>(16384, weights[i].length - at)});
    }
  }
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < static_cast<int64_t>(slices.size()); k++) {
    const auto [i, at, length] = slices[k];
    sgdSlice(weights[i].data + at, gradients[i].data + at, velocities[i].data + at, length, lr, momentum, decay,
             nesterov, newWeights[i].data + at, newVelocities[i].data + at);
  }
}

// A pooling's geometry from its Int32Array [n h w c ho wo kh kw sh sw pt pl], with the lengths of x (and dx)
// and dy checked against it.
struct PoolGeometry {
  int64_t N, H, W, C, Ho, Wo, kh, kw, sh, sw, top, left;
};

PoolGeometry poolGeometry(napi_env env, napi_value array, const Floats &x, const Floats &dy, const Floats &dx) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, array, &type, &length, &data, &buffer, &offset) != napi_ok ||
      type != napi_int32_array || length != 12) {
    throw ArgumentError{"geometry must be an Int32Array(12): n h w c ho wo kh kw sh sw pt pl"};
  }
  const int32_t *g = static_cast<const int32_t *>(data);
  for (int i = 0; i < 10; i++) {
    if (g[i] < 1) throw ArgumentError{"geometry: sizes and strides must be at least 1"};
  }
  if (g[10] < 0 || g[11] < 0) throw ArgumentError{"geometry: padding must be >= 0"};
  const PoolGeometry p{g[0], g[1], g[2], g[3], g[4], g[5], g[6], g[7], g[8], g[9], g[10], g[11]};
  auto elements = [](int64_t n, int64_t h, int64_t w, int64_t c) {
    int64_t hw, nhw, all;
    if (__builtin_mul_overflow(h, w, &hw) || __builtin_mul_overflow(n, hw, &nhw) ||
        __builtin_mul_overflow(nhw, c, &all)) {
      throw ArgumentError{"geometry: element count overflows"};
    }
    return static_cast<size_t>(all);
  };
  expectLength("x", x, elements(p.N, p.H, p.W, p.C));
  expectLength("dx", dx, x.length);
  expectLength("dy", dy, elements(p.N, p.Ho, p.Wo, p.C));
  return p;
}

// One pooling window: its output's offset in dy (n, oy, ox) and its input rows [y0, y1) and columns [x0, x1), clipped
// to the input.
struct Window {
  int64_t n, out, y0, y1, x0, x1;
};

// body(thread, window) for every output of every image, the images spread over the threads, each image's dx zeroed
// before its windows.
template <typename Body>
void forEachWindow(const PoolGeometry &p, float *dx, Body body) {
#pragma omp parallel for schedule(static)
  for (int64_t n = 0; n < p.N; n++) {
    std::memset(dx + n * p.H * p.W * p.C, 0, sizeof(float) * p.H * p.W * p.C);
    for (int64_t oy = 0; oy < p.Ho; oy++) {
      const int64_t y0 = std::max<int64_t>(oy * p.sh - p.top, 0), y1 = std::min<int64_t>(oy * p.sh - p.top + p.kh, p.H);
      for (int64_t ox = 0; ox < p.Wo; ox++) {
        const int64_t x0 = std::max<int64_t>(ox * p.sw - p.left, 0);
        const int64_t x1 = std::min<int64_t>(ox * p.sw - p.left + p.kw, p.W);
        body(omp_get_thread_num(), Window{n, ((n * p.Ho + oy) * p.Wo + ox) * p.C, y0, y1, x0, x1});
      }
    }
  }
}

// maxPoolGrad(geometry Int32Array [n h w c ho wo kh kw sh sw pt pl], x, dy, dx): each output's gradient goes to
// the first maximum of its window in row-major order, per channel (as tfjs-cpu); windows clipped to the input.
void maxPoolGrad(napi_env env, napi_value *args) {
  Floats x = floatsAt(env, args[1], "x"), dy = floatsAt(env, args[2], "dy"), dx = floatsAt(env, args[3], "dx");
  const PoolGeometry p = poolGeometry(env, args[0], x, dy, dx);
  const int64_t C = p.C;
  std::vector<float> bestOf(static_cast<size_t>(omp_get_max_threads()) * C);
  std::vector<int64_t> whereOf(static_cast<size_t>(omp_get_max_threads()) * C);
  forEachWindow(p, dx.data, [&](int thread, const Window &w) {
    float *best = bestOf.data() + thread * C;
    int64_t *where = whereOf.data() + thread * C;
    std::fill(best, best + C, -std::numeric_limits<float>::infinity());
    std::fill(where, where + C, -1);
    for (int64_t iy = w.y0; iy < w.y1; iy++) {
      for (int64_t ix = w.x0; ix < w.x1; ix++) {
        const int64_t base = ((w.n * p.H + iy) * p.W + ix) * C;
        for (int64_t c = 0; c < C; c++) {
          if (x.data[base + c] > best[c]) best[c] = x.data[base + c], where[c] = base + c;
        }
      }
    }
    for (int64_t c = 0; c < C; c++) {
      if (where[c] >= 0) dx.data[where[c]] += dy.data[w.out + c];
    }
  });
}

// avgPoolGrad(geometry, x, dy, dx): each output's gradient, times 1/(kh·kw), goes to every input of its window
// (windows clipped to the input, the multiplier not: tfjs's rule); x is read for its length only.
void avgPoolGrad(napi_env env, napi_value *args) {
  Floats x = floatsAt(env, args[1], "x"), dy = floatsAt(env, args[2], "dy"), dx = floatsAt(env, args[3], "dx");
  const PoolGeometry p = poolGeometry(env, args[0], x, dy, dx);
  const float share = 1.0f / static_cast<float>(p.kh * p.kw);
  forEachWindow(p, dx.data, [&](int, const Window &w) {
    for (int64_t iy = w.y0; iy < w.y1; iy++) {
      for (int64_t ix = w.x0; ix < w.x1; ix++) {
        float *out = dx.data + ((w.n * p.H + iy) * p.W + ix) * p.C;
        for (int64_t c = 0; c < p.C; c++) out[c] += dy.data[w.out + c] * share;
      }
    }
  });
}

using Op = void (*)(napi_env, napi_value *);

template <Op Run, size_t Arity>
napi_value call(napi_env env, napi_callback_info info) {
  size_t argc = Arity;
  napi_value args[Arity];
  if (napi_get_cb_info(env, info, &argc, args, nullptr, nullptr) != napi_ok) return nullptr;
  if (argc != Arity) {
    napi_throw_type_error(env, "ERR_NATIVE_OP_ARGS", ("expected " + std::to_string(Arity) + " arguments").c_str());
    return nullptr;
  }
  try {
    SignalsBlocked quiet;  // OpenMP's threads start here too and keep the mask (signals-blocked.h)
    Run(env, args);
  } catch (const ArgumentError &e) {
    napi_throw_range_error(env, "ERR_NATIVE_OP_ARGS", e.message.c_str());
  } catch (const std::exception &e) {
    napi_throw_error(env, "ERR_NATIVE_OP", e.what());
  }
  return nullptr;
}

}  // namespace

void defineTrainingOps(napi_env env, napi_value exports) {
  const napi_property_descriptor props[] = {
      {"batchNormForward", nullptr, call<batchNormForward, 7>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"batchNormBackward", nullptr, call<batchNormBackward, 9>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"movingAverages", nullptr, call<movingAverages, 7>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"batchNormReluForward", nullptr, call<batchNormReluForward, 7>, nullptr, nullptr, nullptr, napi_enumerable,
       nullptr},
      {"batchNormReluBackward", nullptr, call<batchNormReluBackward, 10>, nullptr, nullptr, nullptr, napi_enumerable,
       nullptr},
      {"add", nullptr, call<add, 3>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"addRelu", nullptr, call<addRelu, 3>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"relu", nullptr, call<relu, 2>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"reluGrad", nullptr, call<reluGrad, 3>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"channelAffine", nullptr, call<channelAffine, 4>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"copyChannels", nullptr, call<copyChannels, 4>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"gatherChannels", nullptr, call<gatherChannels, 4>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"avgPoolGrad", nullptr, call<avgPoolGrad, 4>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"maxPoolGrad", nullptr, call<maxPoolGrad, 4>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"sgdStep", nullptr, call<sgdStep, 9>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
}
