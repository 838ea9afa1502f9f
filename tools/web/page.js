// The comparison page (index.html): loads the original and the pruned model.json named in the URL, and per backend
// measures their latency at batch 1 and the largest difference of their predictions on one fixed input. Plain
// browser JavaScript over the tfjs bundles the static server provides; results also land on window.comparison.
/* global tf */
'use strict';

const params = new URLSearchParams(location.search);
const MODELS = {
  original: params.get('original') || '/models/original/model.json',
  pruned: params.get('pruned') || '/models/pruned/model.json',
};
const RUNS = Math.max(1, Math.floor(Number(params.get('runs')) || 30));
const BACKENDS = (params.get('backends') || 'webgl,wasm').split(',');

const status = (text) => { document.getElementById('status').textContent = text; };

/** A fixed input of the model's shape at batch 1 (a sine pattern, the same in every browser). */
function fixedInput(model) {
  const shape = [1, ...model.inputs[0].shape.slice(1)];
  if (shape.some((d) => d === null)) throw new Error(`the model's input shape [${model.inputs[0].shape}] is not fixed`);
  const size = shape.reduce((a, d) => a * d, 1);
  return tf.tensor(Float32Array.from({ length: size }, (_, i) => Math.sin(i * 0.37)), shape);
}

/** Median milliseconds of one prediction (the output read back), after three unmeasured ones. */
async function latency(model, x) {
  const once = async () => { const t0 = performance.now(); const y = model.predict(x); await y.data(); y.dispose();
    return performance.now() - t0; };
  for (let i = 0; i < 3; i++) await once();
  const times = [];
  for (let i = 0; i < RUNS; i++) times.push(await once());
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

async function measure(backend) {
  if (backend === 'wasm') tf.wasm.setWasmPaths('/tfjs-wasm/');
  if (!(await tf.setBackend(backend).catch(() => false))) return { backend, available: false };
  await tf.ready();
  const loaded = {};
  for (const [which, url] of Object.entries(MODELS)) loaded[which] = await tf.loadLayersModel(url);
  const x = fixedInput(loaded.original);
  const out = {};
  for (const [which, model] of Object.entries(loaded)) {
    const y = model.predict(x);
    out[which] = { params: model.countParams(), ms: await latency(model, x), prediction: await y.data() };
    y.dispose();
  }
  let maxDiff = 0;
  out.original.prediction.forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - out.pruned.prediction[i])); });
  x.dispose();
  Object.values(loaded).forEach((m) => m.dispose());
  return { backend, available: true, maxDiff, models: Object.fromEntries(Object.entries(out)
    .map(([which, r]) => [which, { params: r.params, ms: r.ms }])) };
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) { const td = document.createElement('td'); td.textContent = c; tr.appendChild(td); }
  return tr;
}

/** Latency bars, original beside pruned, per backend (an inline SVG). */
function chart(results) {
  const bars = results.filter((r) => r.available).flatMap((r) =>
    ['original', 'pruned'].map((which) => ({ label: `${r.backend} ${which}`, ms: r.models[which].ms, which })));
  const max = Math.max(...bars.map((b) => b.ms), 1e-9);
  const rows = bars.map((b, i) => `<g transform="translate(0,${i * 26})"><text x="0" y="16">${b.label}</text>` +
    `<rect x="130" y="3" height="18" width="${(300 * b.ms) / max}" fill="${b.which === 'pruned' ? '#2a7' : '#888'}"/>` +
    `<text x="${136 + (300 * b.ms) / max}" y="16">${b.ms.toFixed(2)} ms</text></g>`).join('');
  document.getElementById('chart').innerHTML =
    `<svg xmlns="http://www.w3.org/2000/svg" width="520" height="${bars.length * 26 + 4}" font-size="12">${rows}</svg>`;
}

async function main() {
  const results = [];
  for (const backend of BACKENDS) {
    status(`measuring on ${backend}…`);
    results.push(await measure(backend));
  }
  const body = document.querySelector('#results tbody');
  for (const r of results) {
    if (!r.available) { body.appendChild(row([r.backend, 'unavailable in this browser', '', '', '', ''])); continue; }
    const { original, pruned } = r.models;
    body.appendChild(row([r.backend, 'original', original.params, original.ms.toFixed(2), '', '']));
    body.appendChild(row([r.backend, 'pruned', pruned.params, pruned.ms.toFixed(2),
      `${(original.ms / pruned.ms).toFixed(2)}×`, r.maxDiff.toExponential(2)]));
  }
  document.getElementById('results').hidden = false;
  chart(results);
  status('done');
  window.comparison = results;
}

main().catch((e) => { status(`error: ${e.message}`); window.comparison = { error: e.message }; });
