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
