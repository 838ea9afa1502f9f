#!/usr/bin/env node
// @ts-check
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');

/** The version measured with tfjs-node 4.22.0: every C API symbol its binding uses is present. */
const DEFAULT_TF_VERSION = '2.21.0';

const USAGE = `Usage: node tools/tfjs-node-from-wheel.js [--package tfjs-node|tfjs-node-gpu] [--tf-version <x.y.z>] [--root <dir>]
       node tools/tfjs-node-from-wheel.js --wheel-only [--tf-version <x.y.z>] [--root <dir>]

Provides @tensorflow/tfjs-node (or @tensorflow/tfjs-node-gpu, the same binding) where its own install cannot download
libtensorflow (offline machines, or a network that reaches only a package mirror). It takes TensorFlow's C library
from the tensorflow-cpu wheel; tfjs-node-gpu built so runs TensorFlow's CPU kernels (no CUDA library is in the
wheel), which lets a machine without a GPU test the package's loading, registration and kernels:
  1. pip download --no-deps tensorflow-cpu==<version>  (cached in <root>/.cache/tfjs-node-wheel/)
  2. puts @tensorflow/tfjs-node in node_modules at the lockfile's version if npm ci left it out
  3. lays the wheel's libraries and C headers out in node_modules/@tensorflow/tfjs-node/deps/{lib,include}
  4. npm rebuild @tensorflow/tfjs-node, from source, against Node's own headers
  5. loads the binding in a fresh process and runs one op on it
A second run finds the binding built from the same wheel and does nothing.

Options:
  --package <name>      tfjs-node (default) or tfjs-node-gpu (a tfjs-node-gpu that npm installed on the CUDA library
                        is left as it is unless --force)
  --force               build even so
  --wheel-only          step 1 alone: the wheel into the cache (needs no node_modules, so it can run beside npm ci)
  --tf-version <x.y.z>  the wheel's version (default ${DEFAULT_TF_VERSION}; pip must be able to get it)
  --root <dir>          the workspace (default: the folder above tools/)
  --help                this text
Environment: PYTHON (default python3) runs pip; pip's own settings (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL,
PIP_FIND_LINKS) choose where the wheel comes from.
Exit codes: 0 built or already built; 2 usage; 3 the wheel cannot be had (or the platform has none), nothing
was changed; 1 any other failure, with the step that failed.`;

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;
const EXIT_NO_WHEEL = 3;
const PACKAGES = ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'];
/** The package this run builds (`--package`). */
let PACKAGE = PACKAGES[0];

class WheelUnavailableError extends Error {}
class BuildStepError extends Error {}
class UsageError extends Error {}

/** @param {string} message */
const say = (message) => process.stderr.write(`tfjs-node-from-wheel: ${message}\n`);

/** @param {string[]} argv */
function parseArgs(argv) {
  const options = { tfVersion: DEFAULT_TF_VERSION, root: path.resolve(__dirname, '..'), help: false, pkg: PACKAGES[0],
    force: false, wheelOnly: false };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    if (argv[i] === '--help') return { ...options, help: true };
    if (argv[i] === '--force' || argv[i] === '--wheel-only') {
      options[argv[i] === '--force' ? 'force' : 'wheelOnly'] = true;
      continue;
    }
    if (argv[i] === '--package' && PACKAGES.includes(`@tensorflow/${value}`)) {
      options.pkg = `@tensorflow/${argv[++i]}`;
      continue;
    }
    if (argv[i] === '--tf-version' && /^\d+\.\d+\.\d+$/.test(value ?? '')) options.tfVersion = argv[++i];
    else if (argv[i] === '--root' && value) options.root = path.resolve(argv[++i]);
    else throw new UsageError(`unknown or incomplete option '${argv[i]}' (--tf-version needs x.y.z, --package ` +
      `tfjs-node or tfjs-node-gpu)\n${USAGE}`);
  }
  return options;
}

/**
 * Runs a command with its output on our stderr; throws naming the step when it fails.
 * @param {string} step @param {string} command @param {string[]} args
 * @param {import('child_process').SpawnSyncOptions} [options]
 */
function run(step, command, args, options = {}) {
  say(`$ ${[command, ...args].join(' ')}`);
  const result = spawnSync(command, args, { stdio: ['ignore', 2, 2], ...options });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : `exit code ${result.status ?? result.signal}`;
    throw new BuildStepError(`${step} failed (${why}); its output is above`);
  }
}

/** @param {string} root @returns {string} */
function lockedVersion(root) {
  const lockFile = path.join(root, 'package-lock.json');
  const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
  const entry = lock.packages?.[`node_modules/${PACKAGE}`];
  if (!entry?.version) {
    throw new BuildStepError(`${lockFile}: has no node_modules/${PACKAGE} entry; add ${PACKAGE} to ` +
      'packages/core optionalDependencies and run npm install');
  }
  return entry.version;
}

/**
 * The addon file node-pre-gyp built, if any (lib/napi-v<N>/tfjs_binding.node).
 * @param {string} packageDir
 */
function builtBinding(packageDir) {
  const libDir = path.join(packageDir, 'lib');
  if (!fs.existsSync(libDir)) return undefined;
  const napiDir = fs.readdirSync(libDir)
    .find((name) => fs.existsSync(path.join(libDir, name, 'tfjs_binding.node')));
  return napiDir && path.join(libDir, napiDir, 'tfjs_binding.node');
}

/** @param {string} packageDir @returns {string | undefined} */
function installedVersion(packageDir) {
  const file = path.join(packageDir, 'package.json');
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')).version : undefined;
}

/**
 * Loads tfjs-node in a fresh process from the workspace and runs a matMul; returns TensorFlow's version.
 * @param {string} root @returns {{ ok: true, tfVersion: string } | { ok: false, why: string }}
 */
function smokeTest(root) {
  const script = `const tf = require(${JSON.stringify(PACKAGE)});
    const product = tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])).dataSync()[0];
    if (tf.getBackend() !== 'tensorflow' || product !== 11) {
      throw new Error('backend ' + tf.getBackend() + ', 1*3+2*4=' + product);
    }
    process.stdout.write(tf.backend().binding.TF_Version);`;
  const result = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' } });
  return result.status === 0 ? { ok: true, tfVersion: result.stdout.trim() } :
    { ok: false, why: (result.stderr || '').trim().split('\n').slice(-3).join(' | ') };
}

/**
 * Step 1: the wheel, from the cache or from pip.
 * @param {string} root @param {string} tfVersion
 */
function getWheel(root, tfVersion) {
  const cacheDir = path.join(root, '.cache', 'tfjs-node-wheel');
  const pattern = new RegExp(`^tensorflow_cpu-${tfVersion.replace(/\./g, '\\.')}-.*linux.*_x86_64\\.whl$`);
  const cached = () =>
    (fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir).find((name) => pattern.test(name)) : undefined);
  let wheel = cached();
  if (wheel) {
    say(`1. wheel: ${path.join(cacheDir, wheel)} (cached)`);
    return path.join(cacheDir, wheel);
  }
  say(`1. wheel: pip download tensorflow-cpu==${tfVersion} into ${cacheDir}`);
  fs.mkdirSync(cacheDir, { recursive: true });
  const python = process.env.PYTHON || 'python3';
  const args = ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--dest', cacheDir,
    `tensorflow-cpu==${tfVersion}`];
  say(`$ ${python} ${args.join(' ')}`);
  const result = spawnSync(python, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  wheel = cached();
  if (result.status !== 0 || !wheel) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.trim().split('\n');
    const pipErrors = output.filter((line) => /ERROR/.test(line)).slice(-2).join(' ');
    const why = result.error ? `${python}: ${result.error.message}`
      : pipErrors || output.slice(-1)[0] || 'pip gave no Linux x86_64 wheel';
    throw new WheelUnavailableError(`pip cannot get the tensorflow-cpu==${tfVersion} wheel: ${why}. ` +
      'Point pip at an index or mirror that has it (PIP_INDEX_URL, PIP_FIND_LINKS), ' +
      `or copy the wheel into ${cacheDir}/`);
  }
  return path.join(cacheDir, wheel);
}

/**
 * Step 2: tfjs-node itself, at the lockfile's version, with its dependencies and the workspace's one tfjs.
 * @param {string} root @param {string} packageDir @param {string} version
 */
function ensurePackage(root, packageDir, version) {
  if (installedVersion(packageDir) === version) {
    say(`2. ${PACKAGE}@${version}: in node_modules`);
  } else {
    say(`2. ${PACKAGE}@${version}: not in node_modules (its install failed under npm ci); installing without ` +
      'install scripts from the lockfile');
    const args = ['install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund'];
    run('npm install', 'npm', args, { cwd: root });
    const installed = installedVersion(packageDir);
    if (installed !== version) {
      throw new BuildStepError(`npm install left ${packageDir} at ${installed ?? 'nothing'}, ` +
        `the lockfile wants ${version}`);
    }
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8'));
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    try {
      require.resolve(`${dependency}/package.json`, { paths: [packageDir] });
    } catch {
      throw new BuildStepError(`${packageDir}: dependency ${dependency} does not resolve; run npm install`);
    }
  }
  // Two copies of tfjs-core would give tfjs-node a backend registry our code never sees.
  const core = (/** @type {string} */ from) =>
    require.resolve('@tensorflow/tfjs-core/package.json', { paths: [from] });
  if (core(packageDir) !== core(path.join(root, 'packages', 'core'))) {
    throw new BuildStepError(`${PACKAGE} resolves its own @tensorflow/tfjs-core (${core(packageDir)}); ` +
      'it must share the workspace copy: align the versions in package-lock.json');
  }
}

/**
 * The headers tfjs-node's C++ sources include from TensorFlow.
 * @param {string} packageDir
 */
function bindingHeaders(packageDir) {
  const bindingDir = path.join(packageDir, 'binding');
  const headers = new Set();
  for (const name of fs.readdirSync(bindingDir).filter((file) => /\.(cc|h)$/.test(file))) {
    const text = fs.readFileSync(path.join(bindingDir, name), 'utf8');
    for (const match of text.matchAll(/#include\s+"(tensorflow\/[^"]+)"/g)) headers.add(match[1]);
  }
  return [...headers].sort();
}

/**
 * Step 3: deps/{lib,include} from the wheel, through the Python helper beside this file.
 * @param {string} packageDir @param {string} wheel
 */
function layOutDeps(packageDir, wheel) {
  const depsDir = path.join(packageDir, 'deps');
  say(`3. libtensorflow: ${path.basename(wheel)} → ${depsDir}`);
  fs.rmSync(depsDir, { recursive: true, force: true });
  run('laying out deps from the wheel', process.env.PYTHON || 'python3',
    [path.join(__dirname, 'tfjs-node-from-wheel.py'), wheel, depsDir, ...bindingHeaders(packageDir)]);
}

/**
 * Step 4: node-gyp against Node's installed headers (no download), from source (no prebuilt-binary download).
 * @param {string} root @param {string} packageDir @param {string} wheel
 */
function rebuild(root, packageDir, wheel) {
  const nodePrefix = path.resolve(path.dirname(process.execPath), '..');
  if (!fs.existsSync(path.join(nodePrefix, 'include', 'node', 'node_api.h'))) {
    throw new BuildStepError(`Node's headers are not in ${nodePrefix}/include/node; install them with Node ` +
      '(the nodejs package of nodesource, or libnode-dev) and run again');
  }
  say(`4. binding: node-gyp with Node's headers from ${nodePrefix}/include/node`);
  fs.rmSync(path.join(packageDir, 'lib'), { recursive: true, force: true });
  // With a tf-lib named here, tfjs-node's install builds from source and skips its prebuilt-addon download.
  fs.writeFileSync(path.join(packageDir, 'scripts', 'custom-binary.json'),
    JSON.stringify({ 'tf-lib': pathToFileURL(wheel).href }));
  const env = { ...process.env, npm_config_nodedir: nodePrefix };
  if (PACKAGE.endsWith('-gpu')) {
    // tfjs-node-gpu's install script is `install.js gpu download`, which always downloads the CUDA library; without
    // `download` it builds on the deps laid out in step 3.
    const bins = [path.join(packageDir, 'node_modules', '.bin'), path.join(root, 'node_modules', '.bin')];
    const withBins = { ...env, PATH: [...bins, process.env.PATH].join(path.delimiter) };
    run('building the binding', process.execPath, ['scripts/install.js', 'gpu'], { cwd: packageDir, env: withBins });
  } else {
    run('npm rebuild', 'npm', ['rebuild', PACKAGE, '--foreground-scripts'], { cwd: root, env });
  }
  if (!builtBinding(packageDir)) {
    throw new BuildStepError(`npm rebuild left no ${packageDir}/lib/napi-v*/tfjs_binding.node`);
  }
}

/** The wheel has Linux x86_64 libraries only: elsewhere, a WheelUnavailableError (exit 3). @param {string} advice */
function requireLinuxX64(advice) {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new WheelUnavailableError('the tensorflow-cpu wheel route is for Linux x86_64, not ' +
      `${process.platform} ${process.arch}${advice}`);
  }
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  if (options.help) return void process.stdout.write(`${USAGE}\n`);
  const { root, tfVersion } = options;
  if (options.wheelOnly) {
    requireLinuxX64('');
    return void process.stdout.write(`${getWheel(root, tfVersion)}\n`);
  }
  PACKAGE = options.pkg;
  const packageDir = path.join(root, 'node_modules', ...PACKAGE.split('/'));
  const markerFile = path.join(packageDir, 'deps', 'from-wheel.json');
  const version = lockedVersion(root);
  const wanted = { tfjsNode: version, tensorflowWheel: tfVersion };
  const marker = fs.existsSync(markerFile) ? fs.readFileSync(markerFile, 'utf8') : '';
  const built = installedVersion(packageDir) === version && builtBinding(packageDir);
  if (built && marker === JSON.stringify(wanted)) {
    const smoke = smokeTest(root);
    if (smoke.ok) {
      say(`nothing to do: ${PACKAGE}@${version} is built on TensorFlow ${smoke.tfVersion} (${markerFile})`);
      return void process.stdout.write(`${PACKAGE.split('/')[1]} ${version} on TensorFlow ${smoke.tfVersion}: ready\n`);
    }
    say(`the built binding does not load (${smoke.why}); building again`);
  }
  if (PACKAGE.endsWith('-gpu') && built && !marker && !options.force && smokeTest(root).ok) {
    // A binding this tool did not build: npm's own install, on the CUDA library. Replacing it with the CPU one
    // would take the GPU away.
    say(`leaving ${PACKAGE}@${version} as installed (not built from the wheel; --force replaces it)`);
    return void process.stdout.write(`${PACKAGE.split('/')[1]} ${version}: installed by npm, left as it is\n`);
  }
  requireLinuxX64(`; there, npm install ${PACKAGE} downloads libtensorflow itself`);
  const wheel = getWheel(root, tfVersion);
  ensurePackage(root, packageDir, version);
  layOutDeps(packageDir, wheel);
  rebuild(root, packageDir, wheel);
  const smoke = smokeTest(root);
  if (!smoke.ok) throw new BuildStepError(`5. the rebuilt binding does not load: ${smoke.why}`);
  say(`5. loaded: ${PACKAGE}@${version} runs on TensorFlow ${smoke.tfVersion}`);
  fs.writeFileSync(markerFile, JSON.stringify(wanted));
  process.stdout.write(`${PACKAGE.split('/')[1]} ${version} on TensorFlow ${smoke.tfVersion}: ready\n`);
}

try {
  main();
} catch (error) {
  say(error instanceof Error ? error.message : String(error));
  const usage = error instanceof UsageError;
  process.exitCode = error instanceof WheelUnavailableError ? EXIT_NO_WHEEL : usage ? EXIT_USAGE : EXIT_FAILED;
}
