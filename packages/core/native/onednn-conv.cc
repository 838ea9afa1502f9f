// Optional native kernels for the wasm backend. Here: forward, input gradient and filter gradient of an NHWC conv
// with an HWIO filter, computed by oneDNN on the wasm heap's arrays (reordered into oneDNN's blocked layouts in
// reused scratch buffers); training-ops.cc adds batch norm, the ReLU and max-pool gradients and the SGD step.
// Built at install time only where oneDNN's headers exist (scripts/build-native.js); the backend works without
// it. Builds against oneDNN 2.x and 3.x. Every array's length is checked against the geometry before oneDNN
// touches it.
#include <node_api.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>
#include <string>

#include "oneapi/dnnl/dnnl.hpp"
#include "oneapi/dnnl/dnnl_version.h"
#include "signals-blocked.h"
#include "training-ops.h"

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

// The calling convention's version; native-conv.ts refuses an addon built from an older source.
constexpr int32_t kProtocol = 13;
// Plans kept at most; a pruning sweep makes many geometries, so the cache is emptied when it fills.
constexpr size_t kMaxPlans = 512;

// A caller's mistake (bad geometry or array length): reported as a RangeError, never computed.
struct GeometryError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

dnnl::engine &cpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

dnnl::stream &cpuStream() {
  static dnnl::stream stream(cpuEngine());
  return stream;
}

constexpr int kGeometryLength = 17;

// Geometry, in the order the JavaScript side passes it: n h w ci co kh kw ho wo sh sw pt pl pb pr dh dw, the
// padding as tfjs gives it (top, left, bottom, right) and the dilations as tfjs counts them (1 = none).
struct Geometry {
  memory::dim n, h, w, ci, co, kh, kw, ho, wo, sh, sw, pt, pl, pb, pr, dh, dw;
};

memory::dim checkedProduct(std::initializer_list<memory::dim> factors) {
  memory::dim product = 1;
  for (memory::dim factor : factors) {
    if (__builtin_mul_overflow(product, factor, &product)) {
      throw GeometryError("geometry: element count overflows");
    }
  }
  return product;
}

// Memory descriptors and sizes derived from a geometry. A strided 'valid' conv may leave the input's last rows
// or columns unread; the input is then described as a cropped view (strides of the full NHWC tensor) so the far
// padding handed to oneDNN is never negative.
struct Layout {
  memory::dim hUsed, wUsed;
  memory::desc srcUser, srcDense, dst, weightsUser;
  memory::dims strides, dilates, padL, padR;
  memory::dim srcLength, dstLength, weightsLength;
  bool cropped() const { return !(srcUser == srcDense); }
};

// Rows the conv reads along one axis, and the far padding that makes oneDNN's output size come out exactly.
void axisExtent(const char *axis, memory::dim in, memory::dim out, memory::dim stride, memory::dim kernel,
                memory::dim dilation, memory::dim nearPad, memory::dim farPad, memory::dim *used, memory::dim *far) {
  memory::dim read = (out - 1) * stride + (kernel - 1) * dilation + 1;  // padded rows the last output reaches
  if (read > nearPad + in + farPad) {
    throw GeometryError(std::string("geometry: output ") + axis + " reads past the padded input");
  }
  *used = std::min(in, read - nearPad);
  *far = std::max<memory::dim>(0, read - nearPad - in);
  if (*used < 1) throw GeometryError(std::string("geometry: no input ") + axis + " is read (padding too large)");
}

Layout layoutOf(const Geometry &g) {
  const memory::dim positive[] = {g.n, g.h, g.w, g.ci, g.co, g.kh, g.kw, g.ho, g.wo, g.sh, g.sw, g.dh, g.dw};
  for (memory::dim value : positive) {
    if (value < 1) throw GeometryError("geometry: sizes, strides and dilations must be at least 1");
  }
  if (g.pt < 0 || g.pl < 0 || g.pb < 0 || g.pr < 0) throw GeometryError("geometry: padding must be >= 0");
  Layout l;
  memory::dim farH, farW;
  axisExtent("height", g.h, g.ho, g.sh, g.kh, g.dh, g.pt, g.pb, &l.hUsed, &farH);
  axisExtent("width", g.w, g.wo, g.sw, g.kw, g.dw, g.pl, g.pr, &l.wUsed, &farW);
  l.srcLength = checkedProduct({g.n, g.h, g.w, g.ci});
  l.dstLength = checkedProduct({g.n, g.ho, g.wo, g.co});
  l.weightsLength = checkedProduct({g.kh, g.kw, g.ci, g.co});
  l.srcUser = memory::desc({g.n, g.ci, l.hUsed, l.wUsed}, dt::f32, {g.h * g.w * g.ci, 1, g.w * g.ci, g.ci});
  l.srcDense = memory::desc({g.n, g.ci, l.hUsed, l.wUsed}, dt::f32, tag::nhwc);
  l.dst = memory::desc({g.n, g.co, g.ho, g.wo}, dt::f32, tag::nhwc);
  l.weightsUser = memory::desc({g.co, g.ci, g.kh, g.kw}, dt::f32, tag::hwio);
  l.strides = {g.sh, g.sw};
  l.dilates = {g.dh - 1, g.dw - 1};  // oneDNN counts the gaps
  l.padL = {g.pt, g.pl};
  l.padR = {farH, farW};
  return l;
}

memory::desc anyWeights(const Geometry &g) { return memory::desc({g.co, g.ci, g.kh, g.kw}, dt::f32, tag::any); }

// ---- primitive descriptors, in the 3.x API (engine first, no op descriptors) or the 2.x one ----

dnnl::convolution_forward::primitive_desc forwardPd(const Geometry &g, const Layout &l) {
#if DNNL_VERSION_MAJOR >= 3
  return {cpuEngine(), dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, l.srcDense,
          anyWeights(g), l.dst, l.strides, l.dilates, l.padL, l.padR};
#else
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
                                    l.srcDense, anyWeights(g), l.dst, l.strides, l.dilates, l.padL, l.padR);
  return {d, cpuEngine()};
#endif
}

dnnl::convolution_backward_data::primitive_desc backwardDataPd(const Geometry &g, const Layout &l) {
#if DNNL_VERSION_MAJOR >= 3
  return {cpuEngine(), dnnl::algorithm::convolution_direct, l.srcDense, anyWeights(g), l.dst, l.strides, l.dilates,
          l.padL, l.padR, forwardPd(g, l)};
#else
  dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, l.srcDense, anyWeights(g), l.dst,
                                          l.strides, l.dilates, l.padL, l.padR);
  return {d, cpuEngine(), forwardPd(g, l)};
#endif
}

dnnl::convolution_backward_weights::primitive_desc backwardWeightsPd(const Geometry &g, const Layout &l) {
#if DNNL_VERSION_MAJOR >= 3
  return {cpuEngine(), dnnl::algorithm::convolution_direct, l.srcDense, anyWeights(g), l.dst, l.strides, l.dilates,
          l.padL, l.padR, forwardPd(g, l)};
#else
  dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, l.srcDense, anyWeights(g), l.dst,
                                             l.strides, l.dilates, l.padL, l.padR);
  return {d, cpuEngine(), forwardPd(g, l)};
#endif
}

// ---- plans: everything oneDNN builds for one op and geometry, cached ----

// One buffer per operand (a, b, out), grown to the largest converted layout seen and reused by every call: the
// reorders write into memory that is already mapped instead of a fresh allocation (and its page faults) each time.
// Calls never overlap: call() holds convMutex (worker threads may load the addon too).
void *scratch(int operand, size_t bytes) {
  struct Buffer {
    std::unique_ptr<void, void (*)(void *)> data{nullptr, std::free};
    size_t size = 0;
  };
  static Buffer buffers[3];
  Buffer &buffer = buffers[operand];
  if (bytes > buffer.size) {
    const size_t rounded = (bytes + 63) / 64 * 64;
    buffer.size = 0;  // stays 0 if the allocation fails: no later call gets the freed buffer
    buffer.data.reset(std::aligned_alloc(64, rounded));
    if (!buffer.data) throw std::bad_alloc();
    buffer.size = rounded;
  }
  return buffer.data.get();
}

// A reorder between two layouts, absent when they already agree.
struct Conversion {
  memory::desc from, to;
  std::unique_ptr<dnnl::reorder> reorder;
  Conversion(const memory::desc &source, const memory::desc &target) : from(source), to(target) {
    if (!(source == target)) {
      reorder.reset(new dnnl::reorder(dnnl::reorder::primitive_desc(cpuEngine(), source, cpuEngine(), target)));
    }
  }
  // `user` itself, or operand `operand`'s scratch buffer in the target layout holding its contents.
  memory into(const memory &user, int operand) const {
    if (!reorder) return user;
    memory converted(to, cpuEngine(), scratch(operand, to.get_size()));
    reorder->execute(cpuStream(), const_cast<memory &>(user), converted);
    return converted;
  }
  // Copies `internal` (in `from`'s layout) out to `user` (in `to`'s).
  void outTo(memory &internal, memory &user) const {
    if (reorder) reorder->execute(cpuStream(), internal, user);
  }
  // `user` itself, or operand `operand`'s scratch buffer in the source layout, for the primitive to write.
  memory scratchOr(const memory &user, int operand) const {
    return reorder ? memory(from, cpuEngine(), scratch(operand, from.get_size())) : user;
  }
};

enum Op : int32_t { kForward = 0, kBackwardData = 1, kBackwardWeights = 2 };

// One conv as oneDNN runs it: the primitive and, per argument, the conversion between the caller's layout and
// the primitive's (inputs: user → primitive; output: primitive → user).
struct Plan {
  Layout layout;
  dnnl::primitive conv;
  int argA, argB, argOut;
  std::unique_ptr<Conversion> a, b, out;
  // Computed as one GEMM over the whole batch instead (forwardByGemm, filterGradientByGemm).
  bool batchGemm = false;
};

using PlanKey = std::array<memory::dim, kGeometryLength + 1>;
std::map<PlanKey, std::shared_ptr<Plan>> &plans() {
  static std::map<PlanKey, std::shared_ptr<Plan>> cache;
  return cache;
}

// The patch matrix of the GEMM paths is kept under this size (it is a scratch buffer).
constexpr memory::dim kMaxPatchBytes = memory::dim(64) << 20;

// Whether one GEMM over the whole batch (patchMatrix) beats oneDNN's own kernel, as measured with oneDNN 2.6 on
// 2 cores at batch 64 (VGG-16's layers; ms, oneDNN → GEMM):
// - the filter gradient, where oneDNN takes a GEMM per image (2×2 maps at 512 channels: 78 → 9.6) and wherever
//   ci·co ≥ 128² (4×4×512→512: 86 → 38; 8×8×128→256: 24 → 21), not for narrow layers (CIFAR ResNets'
//   32×32×16→16: 5.5 → 10);
// - the forward pass of wide layers with at most 4×4 outputs (2×2×512: 18.6 → 9.7; 4×4×512: 50.6 → 37.8), not
//   of larger maps (8×8×256: 42.3 → 44.6).
bool batchGemmPays(Op op, const Geometry &g, const std::string &oneDnnImplementation) {
  const bool wide = g.ci * g.co >= 128 * 128;
  const bool fits = checkedProduct({g.n, g.ho, g.wo, g.kh, g.kw, g.ci, sizeof(float)}) <= kMaxPatchBytes;
  if (!fits || g.dh != 1 || g.dw != 1) return false;
  if (op == kForward) return wide && g.ho * g.wo <= 16;
  if (op == kBackwardWeights) return wide || oneDnnImplementation.find("gemm") != std::string::npos;
  return false;
}

// Blocked layouts pad the channels to 16 and cost two reorders per call: narrow layers lose most (training img/s,
// 1 thread, AVX-512 Xeon, blocked everywhere → NHWC up to 128 channels: ResNet-56 ÷4 245 → 332, DenseNet-40 ÷4
// 38 → 52, ResNet-56 73 → 87, VGG-16 ÷4 489 → 501, VGG-16 53 → 56). Blocked was 7% faster for VGG-16's wide
// layers on an AVX2 EPYC, so layers wider than this on both sides keep it.
constexpr memory::dim kBlockedAbove = 128;

std::shared_ptr<Plan> makePlan(Op op, const Geometry &g) {
  auto plan = std::make_shared<Plan>();
  plan->layout = layoutOf(g);
  const Layout &l = plan->layout;
  // Activations stay in the caller's NHWC memory unless both sides are wider than kBlockedAbove channels; there
  // oneDNN gets the layout it prefers (blocked, e.g. nChw16c) with reorders around the call.
  Layout chosen = l;
  if (std::min(g.ci, g.co) > kBlockedAbove) {
    chosen.srcDense = memory::desc({g.n, g.ci, l.hUsed, l.wUsed}, dt::f32, tag::any);
    chosen.dst = memory::desc({g.n, g.co, g.ho, g.wo}, dt::f32, tag::any);
  }
  if (op == kForward) {
    auto pd = forwardPd(g, chosen);
    plan->conv = dnnl::convolution_forward(pd);
    plan->argA = DNNL_ARG_SRC, plan->argB = DNNL_ARG_WEIGHTS, plan->argOut = DNNL_ARG_DST;
    plan->a.reset(new Conversion(l.srcUser, pd.src_desc()));
    plan->b.reset(new Conversion(l.weightsUser, pd.weights_desc()));
    plan->out.reset(new Conversion(pd.dst_desc(), l.dst));
    plan->batchGemm = batchGemmPays(op, g, pd.impl_info_str());
  } else if (op == kBackwardData) {
    auto pd = backwardDataPd(g, chosen);
    plan->conv = dnnl::convolution_backward_data(pd);
    plan->argA = DNNL_ARG_DIFF_DST, plan->argB = DNNL_ARG_WEIGHTS, plan->argOut = DNNL_ARG_DIFF_SRC;
    plan->a.reset(new Conversion(l.dst, pd.diff_dst_desc()));
    plan->b.reset(new Conversion(l.weightsUser, pd.weights_desc()));
    plan->out.reset(new Conversion(pd.diff_src_desc(), l.srcUser));
  } else {
    auto pd = backwardWeightsPd(g, chosen);
    plan->conv = dnnl::convolution_backward_weights(pd);
    plan->argA = DNNL_ARG_SRC, plan->argB = DNNL_ARG_DIFF_DST, plan->argOut = DNNL_ARG_DIFF_WEIGHTS;
    plan->a.reset(new Conversion(l.srcUser, pd.src_desc()));
    plan->b.reset(new Conversion(l.dst, pd.diff_dst_desc()));
    plan->out.reset(new Conversion(pd.diff_weights_desc(), l.weightsUser));
    plan->batchGemm = batchGemmPays(op, g, pd.impl_info_str());
  }
  return plan;
}

std::shared_ptr<Plan> planFor(Op op, const Geometry &g) {
  PlanKey key{op, g.n, g.h, g.w, g.ci, g.co, g.kh, g.kw, g.ho, g.wo, g.sh, g.sw, g.pt, g.pl, g.pb, g.pr, g.dh, g.dw};
  auto found = plans().find(key);
  if (found != plans().end()) return found->second;
  auto plan = makePlan(op, g);  // throws before anything is cached
  if (plans().size() >= kMaxPlans) plans().clear();
  plans().emplace(key, plan);
  return plan;
}

// ---- the three operations; `lengths` are the element counts of (a, b, out) as passed ----

void checkLength(const char *name, size_t actual, memory::dim expected) {
  if (actual != static_cast<size_t>(expected)) {
    throw GeometryError(std::string(name) + " has " + std::to_string(actual) + " elements, the geometry needs " +
                        std::to_string(expected));
  }
}

struct Operand {
  const char *name;
  const memory::desc &desc;
  float *data;
  size_t length;
  memory::dim expected;
};

// Row m of the returned patch matrix holds the input patch that output position m (n, oy, ox) reads, in
// (ky, kx, ci) order, so that it multiplies an HWIO filter seen as a [kh·kw·ci, co] matrix; taps in the padding
// are 0. It lives in operand 0's scratch buffer.
const float *patchMatrix(const Geometry &g, const float *x) {
  const memory::dim patch = g.kh * g.kw * g.ci, positions = g.n * g.ho * g.wo;
  float *cols = static_cast<float *>(scratch(0, sizeof(float) * checkedProduct({positions, patch})));
#pragma omp parallel for schedule(static)
  for (memory::dim m = 0; m < positions; m++) {
    const memory::dim n = m / (g.ho * g.wo), oy = m / g.wo % g.ho, ox = m % g.wo;
    float *row = cols + m * patch;
    for (memory::dim ky = 0; ky < g.kh; ky++) {
      for (memory::dim kx = 0; kx < g.kw; kx++, row += g.ci) {
        const memory::dim iy = oy * g.sh - g.pt + ky * g.dh, ix = ox * g.sw - g.pl + kx * g.dw;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) {
          std::memset(row, 0, sizeof(float) * g.ci);
        } else {
          std::memcpy(row, x + ((n * g.h + iy) * g.w + ix) * g.ci, sizeof(float) * g.ci);
        }
      }
    }
  }
  return cols;
}

void sgemm(char transA, memory::dim m, memory::dim n, memory::dim k, const float *a, memory::dim lda, const float *b,
           float *c) {
  const dnnl_status_t status = dnnl_sgemm(transA, 'N', m, n, k, 1.0f, a, lda, b, n, 0.0f, c, n);
  if (status != dnnl_success) throw dnnl::error(status, "dnnl_sgemm");
}

// y ([n·ho·wo, co], i.e. NHWC) = patches · W.
void forwardByGemm(const Geometry &g, const float *x, const float *w, float *y) {
  const memory::dim patch = g.kh * g.kw * g.ci, positions = g.n * g.ho * g.wo;
  sgemm('N', positions, g.co, patch, patchMatrix(g, x), patch, w, y);
}

// ∂W = patchesᵀ · ∂y.
void filterGradientByGemm(const Geometry &g, const float *x, const float *dy, float *dw) {
  const memory::dim patch = g.kh * g.kw * g.ci, positions = g.n * g.ho * g.wo;
  sgemm('T', patch, g.co, positions, patchMatrix(g, x), patch, dy, dw);
}

// The batch-GEMM form of an op (forwardByGemm, filterGradientByGemm): (geometry, a, b, out).
using BatchGemm = void (*)(const Geometry &, const float *, const float *, float *);

// Checks every length, then runs the plan: as one GEMM over the batch where the plan says so, else the primitive
// with its inputs converted into the primitive's layouts and its output converted back.
void execute(const Geometry &g, const Plan &plan, const Operand &a, const Operand &b, const Operand &out,
             bool zeroOut, BatchGemm gemm = nullptr) {
  for (const Operand *operand : {&a, &b, &out}) checkLength(operand->name, operand->length, operand->expected);
  if (plan.batchGemm && gemm) return gemm(g, a.data, b.data, out.data);
  if (zeroOut) std::memset(out.data, 0, out.length * sizeof(float));
  memory inA = plan.a->into(memory(a.desc, cpuEngine(), a.data), 0);
  memory inB = plan.b->into(memory(b.desc, cpuEngine(), b.data), 1);
  memory user(out.desc, cpuEngine(), out.data);
  memory result = plan.out->scratchOr(user, 2);
  plan.conv.execute(cpuStream(), {{plan.argA, inA}, {plan.argB, inB}, {plan.argOut, result}});
  plan.out->outTo(result, user);
  cpuStream().wait();
}

void forward(const Geometry &g, float *x, size_t xLength, float *w, size_t wLength, float *y, size_t yLength) {
  auto plan = planFor(kForward, g);
  const Layout &l = plan->layout;
  execute(g, *plan, {"x", l.srcUser, x, xLength, l.srcLength},
          {"filter", l.weightsUser, w, wLength, l.weightsLength}, {"y", l.dst, y, yLength, l.dstLength}, false,
          forwardByGemm);
}

void backwardData(const Geometry &g, float *dy, size_t dyLength, float *w, size_t wLength, float *dx,
                  size_t dxLength) {
  auto plan = planFor(kBackwardData, g);
  const Layout &l = plan->layout;
  // Input rows a cropped view leaves unread get no gradient.
  execute(g, *plan, {"dy", l.dst, dy, dyLength, l.dstLength},
          {"filter", l.weightsUser, w, wLength, l.weightsLength}, {"dx", l.srcUser, dx, dxLength, l.srcLength},
          l.cropped());
}

// Whether the filter gradient of a conv from many channels to few (a narrow DenseNet's growth layers: 39 → 3) is
// better computed as the swapped conv's, from ∂y (co channels) to x (ci channels). oneDNN blocks the output
// channels of a filter gradient by 16, so 3 of them leave most lanes idle; swapped they are the input channels.
// Measured with oneDNN 2.6, 1 thread, batch 64, 3×3 (ms, direct → swapped): 32×32×21→3 6.8 → 0.9, 32×32×39→3
// 7.6 → 4.0, 16×16×75→3 2.2 → 0.6, 8×8×111→3 0.85 → 0.22. The swap needs the output to cover the input exactly
// (stride 1, no dilation, odd kernel, symmetric 'same' padding).
bool swappedFilterGradientPays(const Geometry &g) {
  const bool same = g.ho == g.h && g.wo == g.w && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 &&
                    2 * g.pt == g.kh - 1 && g.pb == g.pt && 2 * g.pl == g.kw - 1 && g.pr == g.pl;
  return same && g.co < 16 && g.ci >= 2 * g.co;
}

// ∂W of a 'same' stride-1 conv through its swap: with x' = ∂y and ∂y' = x (same maps, same padding),
// ∂W'[ky', kx', o, c] = Σ ∂y[p + k' − pad, o]·x[p, c], which is ∂W[kh−1−ky', kw−1−kx', c, o]: the swapped filter
// gradient, flipped in space and transposed in channels.
void filterGradientBySwap(const Geometry &g, float *x, float *dy, float *dw) {
  Geometry s = g;
  std::swap(s.ci, s.co);
  auto plan = planFor(kBackwardWeights, s);
  const Layout &l = plan->layout;
  static std::vector<float> swappedDw;
  swappedDw.resize(l.weightsLength);
  const size_t dyLength = l.srcLength, xLength = l.dstLength;  // checked against g's layout by the caller
  execute(s, *plan, {"dy", l.srcUser, dy, dyLength, l.srcLength}, {"x", l.dst, x, xLength, l.dstLength},
          {"dw", l.weightsUser, swappedDw.data(), swappedDw.size(), l.weightsLength}, false, filterGradientByGemm);
  for (memory::dim ky = 0; ky < g.kh; ky++) {
    for (memory::dim kx = 0; kx < g.kw; kx++) {
      const float *from = swappedDw.data() + ((g.kh - 1 - ky) * g.kw + (g.kw - 1 - kx)) * g.co * g.ci;
      float *to = dw + (ky * g.kw + kx) * g.ci * g.co;
      for (memory::dim c = 0; c < g.ci; c++) {
        for (memory::dim o = 0; o < g.co; o++) to[c * g.co + o] = from[o * g.ci + c];
      }
    }
  }
}

void backwardWeights(const Geometry &g, float *x, size_t xLength, float *dy, size_t dyLength, float *dw,
                     size_t dwLength) {
  if (swappedFilterGradientPays(g)) {
    const Layout l = layoutOf(g);
    checkLength("x", xLength, l.srcLength);
    checkLength("dy", dyLength, l.dstLength);
    checkLength("dw", dwLength, l.weightsLength);
    return filterGradientBySwap(g, x, dy, dw);
  }
  auto plan = planFor(kBackwardWeights, g);
  const Layout &l = plan->layout;
  execute(g, *plan, {"x", l.srcUser, x, xLength, l.srcLength}, {"dy", l.dst, dy, dyLength, l.dstLength},
          {"dw", l.weightsUser, dw, dwLength, l.weightsLength}, false, filterGradientByGemm);
}

// ---- Node-API glue ----

bool floatData(napi_env env, napi_value v, float **out, size_t *length) {
  napi_typedarray_type type;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, length, &data, &buffer, &offset) != napi_ok) return false;
  if (type != napi_float32_array) return false;
  *out = static_cast<float *>(data);
  return true;
}

bool geometryOf(napi_env env, napi_value v, Geometry *g) {
  napi_typedarray_type type;
  size_t length;
  void *data;
  napi_value buffer;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &buffer, &offset) != napi_ok) return false;
  if (type != napi_int32_array || length != kGeometryLength) return false;
  const int32_t *values = static_cast<const int32_t *>(data);
  memory::dim *fields[] = {&g->n,  &g->h,  &g->w,  &g->ci, &g->co, &g->kh, &g->kw, &g->ho, &g->wo,
                           &g->sh, &g->sw, &g->pt, &g->pl, &g->pb, &g->pr, &g->dh, &g->dw};
  for (int i = 0; i < kGeometryLength; i++) *fields[i] = values[i];
  return true;
}

using Operation = void (*)(const Geometry &, float *, size_t, float *, size_t, float *, size_t);

// One lock for the three ops: they share the plan cache and the scratch buffers.
std::mutex convMutex;

// fn(geometry: Int32Array(17), a: Float32Array, b: Float32Array, out: Float32Array). Errors carry a code:
// ERR_NATIVE_CONV_ARGS / ERR_NATIVE_CONV_GEOMETRY for the caller's mistakes, ERR_ONEDNN for oneDNN's failures.
template <Operation Run>
napi_value call(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  if (napi_get_cb_info(env, info, &argc, args, nullptr, nullptr) != napi_ok) return nullptr;
  Geometry g;
  float *a, *b, *out;
  size_t aLength, bLength, outLength;
  if (argc != 4 || !geometryOf(env, args[0], &g) || !floatData(env, args[1], &a, &aLength) ||
      !floatData(env, args[2], &b, &bLength) || !floatData(env, args[3], &out, &outLength)) {
    napi_throw_type_error(env, "ERR_NATIVE_CONV_ARGS",
                          "expected (Int32Array(17) geometry, Float32Array, Float32Array, Float32Array)");
    return nullptr;
  }
  try {
    std::lock_guard<std::mutex> lock(convMutex);
    SignalsBlocked quiet;  // oneDNN's GEMM kernels must not be interrupted (signals-blocked.h)
    Run(g, a, aLength, b, bLength, out, outLength);
  } catch (const GeometryError &e) {
    napi_throw_range_error(env, "ERR_NATIVE_CONV_GEOMETRY", e.what());
  } catch (const dnnl::error &e) {
    napi_throw_error(env, "ERR_ONEDNN", (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception &e) {
    napi_throw_error(env, "ERR_ONEDNN", (std::string("oneDNN call: ") + e.what()).c_str());
  }
  return nullptr;
}

napi_value version(napi_env env, napi_callback_info) {
  const dnnl_version_t *v = dnnl_version();
  std::string text = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value out;
  napi_create_string_utf8(env, text.c_str(), text.size(), &out);
  return out;
}

napi_value protocol(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_int32(env, kProtocol, &out);
  return out;
}

// How many plans the cache holds (for tests of the cache).
napi_value planCount(napi_env env, napi_callback_info) {
  napi_value out;
  napi_create_uint32(env, static_cast<uint32_t>(plans().size()), &out);
  return out;
}

// How many of them run as one GEMM over the batch (for tests of that path).
napi_value batchGemmPlanCount(napi_env env, napi_callback_info) {
  uint32_t count = 0;
  for (const auto &entry : plans()) count += entry.second->batchGemm ? 1 : 0;
  napi_value out;
  napi_create_uint32(env, count, &out);
  return out;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"conv2d", nullptr, call<forward>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2dBackpropInput", nullptr, call<backwardData>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2dBackpropFilter", nullptr, call<backwardWeights>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"version", nullptr, version, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"protocol", nullptr, protocol, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"planCount", nullptr, planCount, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"batchGemmPlanCount", nullptr, batchGemmPlanCount, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  defineTrainingOps(env, exports);
  return exports;
}
