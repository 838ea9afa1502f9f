#!/usr/bin/env node
// Builds the optional native kernels (native/onednn-conv.cc + training-ops.cc → build/onednn-conv.node) where a C++ compiler,
// Node's headers and oneDNN 2.x or 3.x (Debian/Ubuntu: apt-get install libdnnl-dev) are present. It runs at
// install time and never fails the install: without them the wasm backend uses its own kernels. An addon whose
// source, compiler flags, oneDNN headers or Node version changed since it was built is rebuilt. Options:
//   --force                 rebuild even if the addon is up to date
//   ONEDNN_ROOT=dir         oneDNN installed under dir/include and dir/lib
//   CXX, CXXFLAGS           compiler and extra flags (e.g. CXXFLAGS=-fsanitize=address for a checking build)
//   RETHINK_PRUNE_NATIVE=0  do not build
'use strict';
const { execFileSync } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const nativeDir = path.join(root, 'native');
const source = path.join(nativeDir, 'onednn-conv.cc');
/** Every file the addon is built from: the compiled sources and the headers they share. */
const sources = [source, path.join(nativeDir, 'training-ops.cc')];
const headers = ['training-ops.h', 'signals-blocked.h'].map((name) => path.join(nativeDir, name));
const target = path.join(root, 'build', 'onednn-conv.node');
/** Beside the addon: the hash of everything it was built from. */
const stampFile = path.join(root, 'build', 'onednn-conv.stamp');
const say = (msg) => console.log(`@rethink-prune/core: ${msg}`);

function firstExisting(candidates, file) {
  return candidates.find((dir) => dir && fs.existsSync(path.join(dir, file)));
}

/** The include directory holding oneapi/dnnl/dnnl.hpp, or undefined where oneDNN's headers are not installed. */
function findOneDnnInclude(env = process.env) {
  const oneDnn = env.ONEDNN_ROOT;
  return firstExisting([oneDnn && path.join(oneDnn, 'include'), '/usr/include', '/usr/local/include'],
    'oneapi/dnnl/dnnl.hpp');
}

/** The oneDNN version the headers under `include` declare, e.g. '2.6.3'. */
function headerVersion(include) {
  const text = fs.readFileSync(path.join(include, 'oneapi', 'dnnl', 'dnnl_version.h'), 'utf8');
  const part = (name) => (text.match(new RegExp(`#define\\s+DNNL_VERSION_${name}\\s+(\\d+)`)) ?? [])[1];
  return ['MAJOR', 'MINOR', 'PATCH'].map(part).join('.');
}

/** What a build depends on, hashed: the source, the command line, oneDNN's version header and Node's ABI. */
function buildHash(sourceText, args, include) {
  const versionHeader = path.join(include, 'oneapi', 'dnnl', 'dnnl_version.h');
  return crypto.createHash('sha256')
    .update(sourceText)
    .update(JSON.stringify(args))
    .update(fs.existsSync(versionHeader) ? fs.readFileSync(versionHeader) : '')
    .update(process.versions.modules)
    .digest('hex');
}

/** Whether the addon at `addonPath` must be (re)built: missing, or built from something else than `hash`. */
function needsBuild(addonPath, stampPath, hash) {
  if (!fs.existsSync(addonPath) || !fs.existsSync(stampPath)) return true;
  return fs.readFileSync(stampPath, 'utf8').trim() !== hash;
}

function main() {
  if (process.env.RETHINK_PRUNE_NATIVE === '0') return say('native convolutions not built (RETHINK_PRUNE_NATIVE=0)');
  if (!fs.existsSync(source)) return; // an installed copy without sources
  const include = findOneDnnInclude();
  if (!include) {
    return say('native convolutions not built: oneDNN headers not found (apt-get install libdnnl-dev, or set ' +
      'ONEDNN_ROOT); the wasm backend uses its own kernels');
  }
  const nodeDir = process.env.npm_config_nodedir;
  const nodeInclude = firstExisting([
    path.join(path.dirname(process.execPath), '..', 'include', 'node'),
    nodeDir && path.join(nodeDir, 'include', 'node'),
    '/usr/include/node',
  ], 'node_api.h');
  if (!nodeInclude) return say('native convolutions not built: Node.js headers (node_api.h) not found');
  const oneDnn = process.env.ONEDNN_ROOT;
  const libDir = oneDnn ? path.join(oneDnn, 'lib') : undefined;
  const cxx = process.env.CXX || 'g++';
  const extraFlags = (process.env.CXXFLAGS || '').split(/\s+/).filter(Boolean);
  // -ffp-contract=off: no fused multiply-adds, so the SGD step rounds as the wasm one does.
  const args = ['-O3', '-ffp-contract=off', '-std=c++17', '-shared', '-fPIC', '-fopenmp', ...extraFlags, `-I${nodeInclude}`, `-I${include}`,
    ...sources, ...(libDir ? [`-L${libDir}`, `-Wl,-rpath,${libDir}`] : []), '-ldnnl', '-o', target];
  // Built beside the target and renamed over it: a process that has the old addon loaded keeps its copy intact.
  const building = target.replace(/\.node$/, `.building-${process.pid}.node`);
  const sourceText = Buffer.concat([...sources, ...headers].map((file) => fs.readFileSync(file)));
  const hash = buildHash(sourceText, [cxx, ...args], include);
  if (!process.argv.includes('--force') && !needsBuild(target, stampFile, hash)) {
    return say('native convolutions up to date');
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.rmSync(stampFile, { force: true });
  try {
    execFileSync(cxx, [...args.slice(0, -1), building], { stdio: ['ignore', 'ignore', 'pipe'] });
    const version = execFileSync(process.execPath, ['-p', `require(${JSON.stringify(building)}).version()`],
      { stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
    fs.renameSync(building, target);
    fs.writeFileSync(stampFile, `${hash}\n`);
    say(`native convolutions built with oneDNN ${version}`);
  } catch (e) {
    fs.rmSync(building, { force: true });
    fs.rmSync(target, { force: true });
    const detail = (e.stderr ? e.stderr.toString() : e.message).split('\n').filter(Boolean).slice(0, 3).join(' | ');
    say(`native convolutions not built (${cxx} failed: ${detail}); the wasm backend uses its own kernels`);
  }
}

module.exports = { findOneDnnInclude, headerVersion, buildHash, needsBuild, target, stampFile };

if (require.main === module) main();
