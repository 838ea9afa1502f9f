/**
 * Keras 3 model configs (what `model.to_json()` writes in TensorFlow 2.16+) in the Keras 2 form that tfjs-layers 4.x
 * reads: `batch_shape` → `batch_input_shape`, the new inbound-node form (`{args, kwargs}` with `__keras_tensor__`
 * entries) → `[[layer, node, tensor, kwargs], …]`, dtype policies → their dtype name, and the `module`,
 * `registered_name`, `build_config` and `compile_config` fields dropped. tfjs then builds the topology with
 * `tf.models.modelFromJSON`.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export class KerasConfigError extends Error {
  constructor(where: string, problem: string) {
    super(`Keras config ${where}: ${problem}`);
    this.name = 'KerasConfigError';
  }
}

const isObject = (x: Json | undefined): x is JsonObject => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Whether a config is Keras 3's (an InputLayer with batch_shape, or inbound nodes as {args, kwargs}). */
export function isKeras3Config(topology: Json): boolean {
  const layers = isObject(topology) && isObject(topology.config) ? topology.config.layers : undefined;
  return Array.isArray(layers) && layers.some((l) => isObject(l) && (
    (isObject(l.config) && 'batch_shape' in l.config) ||
    (Array.isArray(l.inbound_nodes) && l.inbound_nodes.some((n) => isObject(n) && 'args' in n))));
}

/** Every `__keras_tensor__` among a call's args, in order: `[layer, node, tensor, kwargs]` as Keras 2 wrote them. */
function kerasTensors(value: Json, where: string): Json[] {
  if (Array.isArray(value)) return value.flatMap((v) => kerasTensors(v, where));
  if (!isObject(value)) return [];
  if (value.class_name === '__keras_tensor__') {
    const history = isObject(value.config) ? value.config.keras_history : undefined;
    if (!Array.isArray(history) || history.length !== 3) throw new KerasConfigError(where, 'a tensor without keras_history');
    return [[...history, {}]];
  }
  return [];
}

/** Values inside a layer config: dtype policies to their dtype, serialised objects without Keras 3's extra fields. */
function plain(value: Json): Json {
  if (Array.isArray(value)) return value.map(plain);
  if (!isObject(value)) return value;
  if (value.class_name === 'DTypePolicy' || value.class_name === 'Policy') {
    return isObject(value.config) && typeof value.config.name === 'string' ? value.config.name : 'float32';
  }
  const out: JsonObject = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'module' || key === 'registered_name' || key === 'build_config' || key === 'compile_config') continue;
    out[key] = plain(v);
  }
  return out;
}

function layer(l: Json, index: number): JsonObject {
  const where = `layers[${index}]`;
  if (!isObject(l) || typeof l.class_name !== 'string' || !isObject(l.config)) {
    throw new KerasConfigError(where, 'not a layer (class_name and config)');
  }
  const config = plain(l.config) as JsonObject;
  if ('batch_shape' in config) {
    config.batch_input_shape = config.batch_shape;
    delete config.batch_shape;
  }
  const name = (l.name ?? config.name) as Json;
  const nodes = Array.isArray(l.inbound_nodes) ? l.inbound_nodes : [];
  const inbound = nodes.map((node, k) => {
    if (Array.isArray(node)) return node; // already Keras 2's form
    if (!isObject(node)) throw new KerasConfigError(`${where}.inbound_nodes[${k}]`, 'neither a list nor {args, kwargs}');
    const tensors = kerasTensors(node.args ?? [], `${where} (${String(name)})`);
    const kwargs = isObject(node.kwargs) ? plain(node.kwargs) : {};
    // Keras 2 kept a call's keyword arguments beside each input tensor.
    return tensors.map((t) => [...(t as Json[]).slice(0, 3), kwargs]);
  });
  return { class_name: l.class_name, name, config, inbound_nodes: inbound };
}

/** The Keras 2 / tfjs form of a Keras 3 `model.to_json()` (a Functional model; Sequential ones are built alike). */
export function keras3ToTfjs(topology: Json): JsonObject {
  if (!isObject(topology) || !isObject(topology.config)) throw new KerasConfigError('(top)', 'no config object');
  const config = plain(topology.config) as JsonObject;
  const layers = topology.config.layers;
  if (!Array.isArray(layers)) throw new KerasConfigError('config.layers', 'missing');
  config.layers = layers.map(layer);
  // Keras 3 writes one input or output as a bare [name, node, tensor]; Keras 2 always listed them.
  for (const key of ['input_layers', 'output_layers']) {
    const refs = config[key];
    if (Array.isArray(refs) && typeof refs[0] === 'string') config[key] = [refs];
  }
  return { class_name: topology.class_name === 'Functional' ? 'Model' : (topology.class_name as Json), config,
    keras_version: '2.15.0', backend: 'tensorflow' };
}
