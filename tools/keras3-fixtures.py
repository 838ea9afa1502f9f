# Writes the Keras 3 topologies core's tracer tests read (packages/core/src/trace/fixtures/*.json): Keras's own
# MobileNetV2, ResNet50 and DenseNet121, built with weights=None at a small input size, as `model.to_json()` writes
# them. Needs TensorFlow 2.16+ (Keras 3); here: pip install tensorflow-cpu (2.21, Keras 3.15).
#   python tools/keras3-fixtures.py packages/core/src/trace/fixtures
import json, os, sys
import keras

out = sys.argv[1] if len(sys.argv) > 1 else 'packages/core/src/trace/fixtures'
os.makedirs(out, exist_ok=True)
models = {
    'mobilenetv2': lambda: keras.applications.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=10),
    'resnet50': lambda: keras.applications.ResNet50(weights=None, input_shape=(32, 32, 3), classes=10),
    'densenet121': lambda: keras.applications.DenseNet121(weights=None, input_shape=(32, 32, 3), classes=10),
}
for name, build in models.items():
    model = build()
    with open(os.path.join(out, f'keras3-{name}.json'), 'w') as f:
        json.dump(json.loads(model.to_json()), f, separators=(',', ':'))
    print(f'{name}: {len(model.layers)} layers, {model.count_params()} params, keras {keras.__version__}')

# Trained-model fixtures for the Keras 3 weights reader: a `.keras` archive (config.json + model.weights.h5) of a
# small hand-written functional model using every layer kind the tracer knows (81 KB; an application's weights would
# be megabytes), with weights drawn from a fixed seed and BN statistics moved off their defaults; beside it, a fixed
# input and Keras's own prediction for it (keras3-<name>.expected.json), which the tfjs side must reproduce.
import numpy as np

def mixed():
    L = keras.layers
    inp = keras.Input((16, 16, 3), name='image')
    x = L.Conv2D(8, 3, padding='same', name='stem')(inp)
    x = L.BatchNormalization(name='stem_bn')(x)
    x = L.ReLU(name='stem_relu')(x)
    d = L.DepthwiseConv2D(3, padding='same', name='dw')(x)
    d = L.BatchNormalization(name='dw_bn')(d)
    s = L.SeparableConv2D(8, 3, padding='same', name='sep')(x)
    x = L.Add(name='add')([d, s])
    x = L.Activation('relu6', name='relu6')(x)
    c = L.Conv2D(4, 1, use_bias=False, name='branch')(x)
    x = L.Concatenate(name='concat')([x, c])
    x = L.MaxPooling2D(name='pool')(x)
    x = L.Conv2D(6, 3, padding='same', activation='relu', name='conv2')(x)
    g = L.GlobalAveragePooling2D(name='gap')(x)
    f = L.Dense(5, activation='relu', name='hidden')(L.Flatten(name='flatten')(x))
    x = L.Concatenate(name='heads')([g, f])
    x = L.Dropout(0.5, name='drop')(x)
    out = L.Dense(3, name='logits')(x)
    return keras.Model(inp, out, name='mixed')

weighted = {
    'mixed': (mixed, (16, 16, 3)),
}
rng = np.random.default_rng(7)
for name, (build, shape) in weighted.items():
    keras.utils.set_random_seed(7)
    model = build()
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):  # statistics a trained model would have
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.normal(0, 0.1, beta.shape),
                               rng.normal(0, 0.1, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    model.save(os.path.join(out, f'keras3-{name}.keras'))
    x = rng.uniform(0, 1, (2, *shape)).astype('float32')
    y = model.predict(x, verbose=0)
    with open(os.path.join(out, f'keras3-{name}.expected.json'), 'w') as f:
        json.dump({'keras': keras.__version__, 'input_shape': list(x.shape), 'input': x.ravel().tolist(),
                   'output': y.ravel().tolist()}, f)
    print(f'{name}: {model.count_params()} params, saved with weights and Keras\'s prediction')
