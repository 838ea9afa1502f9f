// Optional native convolution kernels for the wasm backend: forward, input gradient and filter gradient of an
// NHWC conv with an HWIO filter, computed by oneDNN straight on the wasm heap (no copies). Built at install time
// only where oneDNN's headers exist (scripts/build-native.js); the backend works without it.
#include <node_api.h>

#include <cstdint>
#include <string>

#include "oneapi/dnnl/dnnl.hpp"

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

dnnl::engine &cpuEngine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream &cpuStream() {
  static dnnl::stream s(cpuEngine());
  return s;
}

// Geometry, in the order the JavaScript side passes it (an Int32Array of 17 values).
struct Geometry {
  memory::dim n, h, w, ci, co, kh, kw, ho, wo, sh, sw, pt, pl, pb, pr, dh, dw;
  memory::desc src(tag t = tag::nhwc) const { return {{n, ci, h, w}, dt::f32, t}; }
  memory::desc dst(tag t = tag::nhwc) const { return {{n, co, ho, wo}, dt::f32, t}; }
  memory::desc weights(tag t) const { return {{co, ci, kh, kw}, dt::f32, t}; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }  // oneDNN counts the gaps
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }
};

dnnl::convolution_forward::primitive_desc forwardPd(const Geometry &g) {
  dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct, g.src(),
                                    g.weights(tag::any), g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
  return {d, cpuEngine()};
}

// The filter as the primitive wants it: the user's HWIO memory, or a reordered copy.
memory filterFor(const memory::desc &wanted, const memory &user) {
  if (wanted == user.get_desc()) return user;
  memory m(wanted, cpuEngine());
  dnnl::reorder(user, m).execute(cpuStream(), const_cast<memory &>(user), m);
  return m;
}

void forward(const Geometry &g, float *x, float *w, float *y) {
  auto pd = forwardPd(g);
  memory xm(g.src(), cpuEngine(), x), ym(g.dst(), cpuEngine(), y);
  memory wm = filterFor(pd.weights_desc(), memory(g.weights(tag::hwio), cpuEngine(), w));
  dnnl::convolution_forward(pd).execute(cpuStream(), {{DNNL_ARG_SRC, xm}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DST, ym}});
  cpuStream().wait();
}

void backwardData(const Geometry &g, float *dy, float *w, float *dx) {
  dnnl::convolution_backward_data::desc d(dnnl::algorithm::convolution_direct, g.src(), g.weights(tag::any), g.dst(),
                                          g.strides(), g.dilates(), g.padL(), g.padR());
  dnnl::convolution_backward_data::primitive_desc pd(d, cpuEngine(), forwardPd(g));
  memory dym(g.dst(), cpuEngine(), dy), dxm(g.src(), cpuEngine(), dx);
  memory wm = filterFor(pd.weights_desc(), memory(g.weights(tag::hwio), cpuEngine(), w));
  dnnl::convolution_backward_data(pd).execute(
      cpuStream(), {{DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_DIFF_SRC, dxm}});
  cpuStream().wait();
}

void backwardFilter(const Geometry &g, float *x, float *dy, float *dw) {
  dnnl::convolution_backward_weights::desc d(dnnl::algorithm::convolution_direct, g.src(), g.weights(tag::any),
                                             g.dst(), g.strides(), g.dilates(), g.padL(), g.padR());
  dnnl::convolution_backward_weights::primitive_desc pd(d, cpuEngine(), forwardPd(g));
  memory xm(g.src(), cpuEngine(), x), dym(g.dst(), cpuEngine(), dy);
  memory user(g.weights(tag::hwio), cpuEngine(), dw);
  bool direct = pd.diff_weights_desc() == user.get_desc();
  memory dwm = direct ? user : memory(pd.diff_weights_desc(), cpuEngine());
  dnnl::convolution_backward_weights(pd).execute(
      cpuStream(), {{DNNL_ARG_SRC, xm}, {DNNL_ARG_DIFF_DST, dym}, {DNNL_ARG_DIFF_WEIGHTS, dwm}});
  if (!direct) dnnl::reorder(dwm, user).execute(cpuStream(), dwm, user);
  cpuStream().wait();
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
  if (type != napi_int32_array || length != 17) return false;
  const int32_t *p = static_cast<const int32_t *>(data);
  memory::dim *fields[] = {&g->n,  &g->h,  &g->w,  &g->ci, &g->co, &g->kh, &g->kw, &g->ho, &g->wo,
                           &g->sh, &g->sw, &g->pt, &g->pl, &g->pb, &g->pr, &g->dh, &g->dw};
  for (int i = 0; i < 17; i++) *fields[i] = p[i];
  return true;
}

// fn(geometry: Int32Array(17), a: Float32Array, b: Float32Array, out: Float32Array)
template <void (*Run)(const Geometry &, float *, float *, float *)>
napi_value call(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value args[4];
  napi_get_cb_info(env, info, &argc, args, nullptr, nullptr);
  Geometry g;
  float *a, *b, *out;
  size_t la, lb, lo;
  if (argc != 4 || !geometryOf(env, args[0], &g) || !floatData(env, args[1], &a, &la) ||
      !floatData(env, args[2], &b, &lb) || !floatData(env, args[3], &out, &lo)) {
    napi_throw_type_error(env, nullptr, "expected (Int32Array(17) geometry, Float32Array, Float32Array, Float32Array)");
    return nullptr;
  }
  try {
    Run(g, a, b, out);
  } catch (const dnnl::error &e) {
    napi_throw_error(env, nullptr, (std::string("oneDNN: ") + e.what()).c_str());
  } catch (const std::exception &e) {
    napi_throw_error(env, nullptr, e.what());
  }
  return nullptr;
}

napi_value version(napi_env env, napi_callback_info) {
  const dnnl_version_t *v = dnnl_version();
  std::string s = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  napi_value out;
  napi_create_string_utf8(env, s.c_str(), s.size(), &out);
  return out;
}

}  // namespace

NAPI_MODULE_INIT() {
  const napi_property_descriptor props[] = {
      {"conv2d", nullptr, call<forward>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2dBackpropInput", nullptr, call<backwardData>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"conv2dBackpropFilter", nullptr, call<backwardFilter>, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
      {"version", nullptr, version, nullptr, nullptr, nullptr, napi_enumerable, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}
