# PyTorch CPU training throughput of the paper's CIFAR models, the reference for `nx run core:bench`:
#   python3 tools/bench/pytorch_cifar_train.py vgg16 resnet56 resnet56/4 densenet40 densenet40/4 preresnet164
# Shapes as the seed builds them (VGG-16 with BN; ResNet with zero-padding shortcuts; DenseNet-40 with growth 12,
# BN-ReLU-conv layers and 1x1 transitions; PreResNet-164 bottlenecks), widths divided by the number after '/'.
# One step: cross-entropy, backward, SGD momentum 0.9, weight decay 1e-4, LR 0.1, batch 64, 2 threads.
import sys, time, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(2); torch.manual_seed(0)

def vgg16(div):
    cfg = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512]
    layers, c = [], 3
    for v in cfg:
        if v == 'M': layers.append(nn.MaxPool2d(2)); continue
        layers += [nn.Conv2d(c, v // div, 3, padding=1, bias=False), nn.BatchNorm2d(v // div), nn.ReLU()]; c = v // div
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))

class Basic(nn.Module):
    def __init__(s, i, o, st):
        super().__init__(); s.c1 = nn.Conv2d(i, o, 3, st, 1, bias=False); s.b1 = nn.BatchNorm2d(o)
        s.c2 = nn.Conv2d(o, o, 3, 1, 1, bias=False); s.b2 = nn.BatchNorm2d(o); s.pad = o - i; s.st = st
    def forward(s, x):
        short = x if s.st == 1 and s.pad == 0 else F.pad(x[:, :, ::s.st, ::s.st], (0, 0, 0, 0, 0, s.pad))
        return F.relu(s.b2(s.c2(F.relu(s.b1(s.c1(x))))) + short)

def resnet(depth, div):
    n, w = (depth - 2) // 6, [16 // div, 32 // div, 64 // div]
    layers, i = [nn.Conv2d(3, w[0], 3, 1, 1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU()], w[0]
    for k, o in enumerate(w):
        for j in range(n): layers.append(Basic(i, o, 2 if j == 0 and k > 0 else 1)); i = o
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(i, 10))

class Bottleneck(nn.Module):  # pre-activation: BN-ReLU-conv ×3, projection where the shape changes
    def __init__(s, i, planes, st):
        super().__init__(); o = planes * 4
        s.b1, s.c1 = nn.BatchNorm2d(i), nn.Conv2d(i, planes, 1, bias=False)
        s.b2, s.c2 = nn.BatchNorm2d(planes), nn.Conv2d(planes, planes, 3, st, 1, bias=False)
        s.b3, s.c3 = nn.BatchNorm2d(planes), nn.Conv2d(planes, o, 1, bias=False)
        s.down = None if st == 1 and i == o else nn.Conv2d(i, o, 1, st, bias=False)
    def forward(s, x):
        y = s.c1(F.relu(s.b1(x))); y = s.c2(F.relu(s.b2(y))); y = s.c3(F.relu(s.b3(y)))
        return y + (x if s.down is None else s.down(x))

def preresnet(depth, div):
    n, i = (depth - 2) // 9, 16 // div
    layers = [nn.Conv2d(3, i, 3, 1, 1, bias=False)]
    for k, planes in enumerate([16 // div, 32 // div, 64 // div]):
        for j in range(n): layers.append(Bottleneck(i, planes, 2 if j == 0 and k > 0 else 1)); i = planes * 4
    return nn.Sequential(*layers, nn.BatchNorm2d(i), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(i, 10))

class DenseLayer(nn.Module):
    def __init__(s, i, growth):
        super().__init__(); s.b = nn.BatchNorm2d(i); s.c = nn.Conv2d(i, growth, 3, 1, 1, bias=False)
    def forward(s, x): return torch.cat([x, s.c(F.relu(s.b(x)))], 1)

def densenet(depth, div):
    n, growth = (depth - 4) // 3, max(1, 12 // div)
    c = 2 * growth; layers = [nn.Conv2d(3, c, 3, 1, 1, bias=False)]
    for block in range(3):
        for _ in range(n): layers.append(DenseLayer(c, growth)); c += growth
        if block < 2: layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.Conv2d(c, c, 1, bias=False), nn.AvgPool2d(2)]
    return nn.Sequential(*layers, nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))

def build(name):
    base, div = (name.split('/') + ['1'])[:2]; div = int(div)
    if base == 'vgg16': return vgg16(div)
    if base.startswith('resnet'): return resnet(int(base[6:]), div)
    if base.startswith('preresnet'): return preresnet(int(base[9:]), div)
    if base.startswith('densenet'): return densenet(int(base[8:]), div)
    sys.exit(f'unknown model {name}: vgg16, resnet<depth>, preresnet<depth>, densenet<depth>, each with an optional /divisor')

for name in sys.argv[1:] or ['vgg16', 'resnet56', 'resnet56/4', 'densenet40', 'densenet40/4', 'preresnet164']:
    m = build(name); opt = torch.optim.SGD(m.parameters(), 0.1, momentum=0.9, weight_decay=1e-4)
    x = torch.randn(64, 3, 32, 32); y = torch.randint(0, 10, (64,))
    def step():
        opt.zero_grad(); F.cross_entropy(m(x), y).backward(); opt.step()
    for _ in range(2): step()
    t, n = time.time(), 0
    while n < 3 or time.time() - t < 8: step(); n += 1
    print(f"pytorch {name}-cifar train batch64: {n * 64 / (time.time() - t):.1f} img/s", flush=True)
