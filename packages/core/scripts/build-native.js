#!/usr/bin/env node
// Builds the optional native convolutions (native/onednn-conv.cc → build/onednn-conv.node) where a C++ compiler,
// Node's headers and oneDNN (Debian/Ubuntu: apt-get install libdnnl-dev) are present. It runs at install time
// and never fails the install: without them the wasm backend uses its own kernels. Options:
//   --force            rebuild even if the addon exists
//   ONEDNN_ROOT=dir    oneDNN installed under dir/include and dir/lib
//   RETHINK_PRUNE_NATIVE=0  do not build
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const source = path.join(root, 'native', 'onednn-conv.cc');
const target = path.join(root, 'build', 'onednn-conv.node');
const say = (msg) => console.log(`@rethink-prune/core: ${msg}`);

function firstExisting(candidates, file) {
  return candidates.find((dir) => dir && fs.existsSync(path.join(dir, file)));
}

function main() {
  if (process.env.RETHINK_PRUNE_NATIVE === '0') return say('native convolutions not built (RETHINK_PRUNE_NATIVE=0)');
  if (!fs.existsSync(source)) return; // an installed copy without sources
  if (fs.existsSync(target) && !process.argv.includes('--force')) return say('native convolutions already built');
  const oneDnn = process.env.ONEDNN_ROOT;
  const include = firstExisting([oneDnn && path.join(oneDnn, 'include'), '/usr/include', '/usr/local/include'],
    'oneapi/dnnl/dnnl.hpp');
  if (!include) {
    return say('native convolutions not built: oneDNN headers not found (apt-get install libdnnl-dev, or set ONEDNN_ROOT); ' +
      'the wasm backend uses its own kernels');
  }
  const nodeDir = process.env.npm_config_nodedir;
  const nodeInclude = firstExisting([
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    nodeDir && path.join(nodeDir, 'include', 'node'),
    '/usr/include/node',
  ], 'node_api.h');
  if (!nodeInclude) return say('native convolutions not built: Node.js headers (node_api.h) not found');
  const libDir = oneDnn ? path.join(oneDnn, 'lib') : undefined;
  const cxx = process.env.CXX || 'g++';
  const args = ['-O2', '-std=c++17', '-shared', '-fPIC', `-I${nodeInclude}`, `-I${include}`, source,
    ...(libDir ? [`-L${libDir}`, `-Wl,-rpath,${libDir}`] : []), '-ldnnl', '-o', target];
  fs.mkdirSync(path.dirname(target), { recursive: true });
  try {
    execFileSync(cxx, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const version = execFileSync(process.execPath, ['-p', `require(${JSON.stringify(target)}).version()`]).toString().trim();
    say(`native convolutions built with oneDNN ${version}`);
  } catch (e) {
    fs.rmSync(target, { force: true });
    const detail = (e.stderr ? e.stderr.toString() : e.message).split('\n').filter(Boolean).slice(0, 3).join(' | ');
    say(`native convolutions not built (${cxx} failed: ${detail}); the wasm backend uses its own kernels`);
  }
}

main();
