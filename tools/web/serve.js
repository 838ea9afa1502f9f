#!/usr/bin/env node
// A static file server for the comparison page: the page itself, the tfjs bundles from node_modules, and the two
// model folders under /models/original/ and /models/pruned/. Nothing else runs on the server.
//   node tools/web/serve.js --original <dir> --pruned <dir> [--port 8080]
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const { parseArgs } = require('util');

/** @type {Record<string, string>} */
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream', '.svg': 'image/svg+xml', '.map': 'application/json' };

/** @param {string} name */
const packageDist = (name) => path.join(path.dirname(require.resolve(`${name}/package.json`)), 'dist');

/**
 * Serves the page; resolves to { url, close } once listening (port 0: any free port).
 * @param {{ original?: string, pruned?: string, port?: number, host?: string }} options
 * @returns {Promise<{ url: string, close: () => Promise<void> }>}
 */
async function startServer({ original, pruned, port = 0, host = '127.0.0.1' }) {
  for (const [name, dir] of Object.entries({ original, pruned })) {
    if (!dir || !fs.existsSync(path.join(dir, 'model.json'))) {
      throw new Error(`--${name} ${dir}: no model.json there (give the folder of a tfjs Layers model)`);
    }
  }
  /** @type {Record<string, string>} */
  const roots = { '/tfjs/': packageDist('@tensorflow/tfjs'), '/tfjs-wasm/': packageDist('@tensorflow/tfjs-backend-wasm'),
    '/models/original/': String(original), '/models/pruned/': String(pruned), '/': __dirname };
  const server = http.createServer((req, res) => {
    let url;
    try {
      url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400).end('bad request path');
      return;
    }
    const prefix = Object.keys(roots).find((p) => url.startsWith(p)) ?? '/';
    const root = path.resolve(roots[prefix]);
    const file = path.resolve(root, `.${url.slice(prefix.length - 1)}`.replace(/\/$/, '/index.html'));
    if (!file.startsWith(root + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    // Cross-origin isolation, so that the wasm backend may use its threads (SharedArrayBuffer).
    res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
      'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    fs.createReadStream(file).on('error', () => res.destroy()).pipe(res);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = /** @type {import('net').AddressInfo} */ (server.address());
      resolve({ url: `http://${host}:${address.port}/`, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

module.exports = { startServer };

if (require.main === module) {
  const { values } = parseArgs({ options: { original: { type: 'string' }, pruned: { type: 'string' },
    port: { type: 'string', default: '8080' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    process.stdout.write('usage: node tools/web/serve.js --original <model dir> --pruned <model dir> [--port 8080]\n' +
      '  serves a page that loads both models and measures their latency in the browser that opens it\n');
    process.exit(0);
  }
  startServer({ original: values.original, pruned: values.pruned, port: Number(values.port) })
    .then(({ url }) => process.stdout.write(`open ${url} (Ctrl-C stops)\n`))
    .catch((e) => { process.stderr.write(`serve: ${e.message}\n`); process.exit(2); });
}
