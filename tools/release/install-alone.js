// @ts-check
// Release check: a package installs alone. Packs it and the @rethink-prune packages it depends on (from their
// built dist), installs only those tarballs in a directory outside the workspace, then checks that the
// package loads, that every CLI answers --help, and that a method package's CLI prunes a model there.
// A clean install extracts some 500 MB of third-party packages (tfjs, the datasets' image packages), 12 s per package;
// so the directory starts from hard links to the third-party packages an earlier check installed under the same
// lockfile, npm brings it to the package's own tree (removing what the package does not need), and the check then
// requires every installed package to be in the app's own lockfile: what a package fails to declare is still missing.
// Usage: node tools/release/install-alone.js <package dir>   (run by the Nx target `install-alone`)
'use strict';

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const WORKSPACE = path.resolve(__dirname, '..', '..');
const SCOPE = '@rethink-prune/';

/** @param {string} dir @returns {{ name: string, dependencies?: Record<string, string>, bin?: Record<string, string> | string }} */
const readPackage = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));

/** Workspace package folders by npm name. @returns {Map<string, string>} */
function workspacePackages() {
  const root = path.join(WORKSPACE, 'packages');
  return new Map(fs.readdirSync(root)
    .filter((d) => fs.existsSync(path.join(root, d, 'package.json')))
    .map((d) => [readPackage(path.join(root, d)).name, path.join(root, d)]));
}

/**
 * The package and every @rethink-prune package it needs, transitively, as folders (itself first).
 * @param {string} dir @param {Map<string, string>} known @returns {string[]}
 */
function withLocalDependencies(dir, known) {
  const seen = new Set([dir]);
  const queue = [dir];
  while (queue.length > 0) {
    const pkg = readPackage(/** @type {string} */ (queue.shift()));
    for (const name of Object.keys(pkg.dependencies ?? {}).filter((n) => n.startsWith(SCOPE))) {
      const found = known.get(name);
      if (!found) throw new Error(`${pkg.name} depends on ${name}, which is not a package of this workspace`);
      if (!seen.has(found)) { seen.add(found); queue.push(found); }
    }
  }
  return [...seen];
}

/** @param {string} cmd @param {string[]} args @param {string} cwd @param {NodeJS.ProcessEnv} [env] */
const run = (cmd, args, cwd, env = process.env) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Copies a directory tree as hard links (symlinks as symlinks): no file data is copied. @param {string} from @param {string} to */
function linkTree(from, to) {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const [src, dst] = [path.join(from, entry.name), path.join(to, entry.name)];
    if (entry.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else if (entry.isDirectory()) linkTree(src, dst);
    else fs.linkSync(src, dst);
  }
}

/** Installed package folders under an app, relative to it ("node_modules/@scope/name", nested ones too). @param {string} app */
function installedPackages(app, rel = 'node_modules') {
  const dir = path.join(app, rel);
  if (!fs.existsSync(dir)) return [];
  /** @type {string[]} */
  const found = [];
  for (const name of fs.readdirSync(dir).filter((n) => !n.startsWith('.'))) {
    const names = name.startsWith('@')
      ? fs.readdirSync(path.join(dir, name)).filter((n) => !n.startsWith('.')).map((n) => `${name}/${n}`) : [name];
    for (const pkg of names) found.push(`${rel}/${pkg}`, ...installedPackages(app, `${rel}/${pkg}/node_modules`));
  }
  return found;
}

/** A day: folders of other lockfiles older than this are removed (another checkout may still use a newer one). */
const STALE_MS = 24 * 3600 * 1000;

/**
 * Where earlier checks left their third-party packages: one folder per lockfile hash, beside the apps in the
 * temporary directory (hard links need one file system; inside the workspace, its node_modules would be found), in
 * a folder of this user's only. Undefined where that folder is not this user's: the check then starts empty.
 * @returns {{ dir: string, best?: string, bestCount: number } | undefined}
 */
function sharedStarts() {
  const root = path.join(os.tmpdir(), `rethink-prune-install-alone-${process.getuid?.() ?? 0}`);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  const stat = fs.statSync(root);
  if (stat.uid !== (process.getuid?.() ?? stat.uid) || (stat.mode & 0o077) !== 0) return undefined;
  const lock = fs.readFileSync(path.join(WORKSPACE, 'package-lock.json'));
  const dir = path.join(root, require('node:crypto').createHash('sha256').update(lock).digest('hex').slice(0, 16));
  fs.mkdirSync(dir, { recursive: true });
  for (const other of fs.readdirSync(root).filter((d) => d !== path.basename(dir))) {
    const folder = path.join(root, other);
    if (Date.now() - fs.statSync(folder).mtimeMs > STALE_MS) fs.rmSync(folder, { recursive: true, force: true });
  }
  // "<count>-<package>": the one with the most packages is the best start.
  const starts = fs.readdirSync(dir).filter((d) => /^\d+-/.test(d)).sort((x, y) => parseInt(y, 10) - parseInt(x, 10));
  return { dir, best: starts[0] ? path.join(dir, starts[0]) : undefined, bestCount: starts[0] ? parseInt(starts[0], 10) : 0 };
}

/**
 * Starts the app from the best shared start, without its @rethink-prune packages, lockfile or their bins; the
 * start's folder, or undefined (and an empty app) where there is none or it cannot be linked.
 * @param {string} app @returns {string | undefined}
 */
function startFromShared(app) {
  const modules = path.join(app, 'node_modules');
  try {
    const best = sharedStarts()?.best;
    if (!best) return undefined;
    linkTree(best, modules);
    const bin = path.join(modules, '.bin');
    for (const name of fs.existsSync(bin) ? fs.readdirSync(bin) : []) {
      if (!fs.existsSync(path.join(bin, name))) fs.unlinkSync(path.join(bin, name)); // a bin of a package not here
    }
    return best;
  } catch {
    fs.rmSync(modules, { recursive: true, force: true }); // e.g. a start being removed: start empty
    return undefined;
  }
}

/**
 * The installed packages not in the app's own lockfile (left over from the start), after dropping the scope folders
 * npm emptied. @param {string} app @returns {string[]}
 */
function leftOverPackages(app) {
  const modules = path.join(app, 'node_modules');
  for (const scope of fs.readdirSync(modules).filter((n) => n.startsWith('@'))) {
    if (fs.readdirSync(path.join(modules, scope)).length === 0) fs.rmdirSync(path.join(modules, scope));
  }
  const locked = JSON.parse(fs.readFileSync(path.join(app, 'package-lock.json'), 'utf8')).packages;
  return installedPackages(app).filter((p) => !(p in locked));
}

/**
 * Offers the app's third-party packages as a start to later checks, if it has more than the best start: best
 * effort, a failure here only costs a later check its start. @param {string} app @param {string} pkgName
 */
function share(app, pkgName) {
  try {
    const shared = sharedStarts();
    const count = installedPackages(app).length;
    if (!shared || count <= shared.bestCount) return;
    const temp = fs.mkdtempSync(path.join(shared.dir, 'new-'));
    try {
      linkTree(path.join(app, 'node_modules'), temp);
      for (const own of [SCOPE.slice(0, -1), '.package-lock.json']) fs.rmSync(path.join(temp, own), { recursive: true, force: true });
      fs.renameSync(temp, path.join(shared.dir, `${count}-${pkgName.replace(/[@/]/g, '_')}`));
    } finally {
      fs.rmSync(temp, { recursive: true, force: true }); // left only where the rename failed (saved first by another)
    }
  } catch {
    // no start saved
  }
}

/**
 * npm install of the tarballs into an empty app folder, from a shared start where `fromStart` and there is one;
 * fails where the install keeps a package the app's lockfile lacks. The start it began from, if any.
 * @param {string} app @param {string[]} tarballs @param {NodeJS.ProcessEnv} env @param {boolean} fromStart
 * @returns {string | undefined}
 */
function installTarballs(app, tarballs, env, fromStart) {
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'install-alone-check', private: true }));
  const started = fromStart ? startFromShared(app) : undefined;
  try {
    run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...tarballs], app, env);
    const leftOver = leftOverPackages(app);
    if (leftOver.length > 0) throw new Error(`its install kept packages its own tree does not have: ${leftOver.join(', ')}`);
  } catch (e) {
    if (started && e instanceof Error) Object.assign(e, { fromStart: started });
    throw e;
  }
  return started;
}

/** A smoke prune with the method's first smoke variant, on a narrow copy of its model saved by the installed core. */
const SMOKE_PRUNE = `
const core = require('@rethink-prune/core');
const pkg = require(process.argv[1]);
const method = Object.values(pkg).find((v) => v && typeof v === 'object' && v.pruner && v.command);
if (!method) throw new Error(process.argv[1] + ' exports no method definition');
(async () => {
  await core.initBackend('cpu');
  // Fashion-MNIST: its images come with the datasets package, for methods that read training images (ThiNet).
  const variant = method.defaultVariants(core.PROFILES.smoke, 'fashion-mnist')[0];
  const spec = core.narrowSpec(core.namedSpec(method.variants[variant].base, 'fashion-mnist'), 8);
  const model = core.buildModel(spec, 1);
  // A block-factor model (SSS) stands in for a searched one: its first block's λ at 0, so there is a block to remove.
  if (model.layers.some((layer) => layer.name === 'layer1.0.scale')) {
    model.getLayer('layer1.0.scale').setWeights([require('@tensorflow/tfjs').zeros([1])]);
  }
  await core.saveModelDir('model', model, spec);
  core.shutdownBackend();
  process.stdout.write(method.command + ' ' + variant);
})();
`;

/**
 * Installs the tarballs in `app` and checks the package there; its summary. An error thrown after starting from a
 * shared start carries that start's folder as `fromStart`. @param {string} app @param {string} target @param {string[]} tarballs
 * @param {boolean} fromStart @returns {string}
 */
function checkApp(app, target, tarballs, fromStart) {
  /** @type {string | undefined} */
  let started;
  try {
    const pkg = readPackage(target);
    // Core's install script compiles the native kernels where oneDNN is installed: checked when core itself is the
    // package; the other packages' checks skip that build (6 s of compiling each; their smoke prune runs on wasm alone).
    const isCore = pkg.name === `${SCOPE}core`;
    const installEnv = isCore ? process.env : { ...process.env, RETHINK_PRUNE_NATIVE: '0' };
    started = installTarballs(app, tarballs, installEnv, fromStart);
    run('node', ['-e', `require(${JSON.stringify(pkg.name)})`], app);
    const bins = typeof pkg.bin === 'string' ? [pkg.name.split('/').pop()] : Object.keys(pkg.bin ?? {});
    for (const bin of bins) run(path.join(app, 'node_modules', '.bin', /** @type {string} */ (bin)), ['--help'], app);
    let smoke = '';
    if (isCore && process.env.RETHINK_PRUNE_NATIVE !== '0') {
      const { findOneDnnInclude } = require(path.join(target, 'scripts', 'build-native.js'));
      const addon = path.join(app, 'node_modules', ...pkg.name.split('/'), 'build', 'onednn-conv.node');
      if (findOneDnnInclude() && !fs.existsSync(addon)) {
        throw new Error(`oneDNN's headers are installed, but installing ${pkg.name} built no ${addon}`);
      }
      if (fs.existsSync(addon)) smoke = ', built its native kernels';
    }
    if (fs.existsSync(path.join(target, 'reference.json'))) {
      const [command, variant] = run('node', ['-e', SMOKE_PRUNE, pkg.name], app).trim().split(' ');
      run(path.join(app, 'node_modules', '.bin', command),
        ['prune', '--model', 'model', '--variant', variant, '--out', 'pruned', '--backend', 'wasm'], app);
      if (!fs.existsSync(path.join(app, 'pruned', 'model.json'))) throw new Error(`${command} prune wrote no model.json`);
      smoke = `, ${command} prune --variant ${variant} saved a pruned model`;
      // The queue is optional: a method package alone has no Redis client, and --queue says what to install.
      for (const client of ['bullmq', 'ioredis']) {
        if (fs.existsSync(path.join(app, 'node_modules', client))) throw new Error(`${pkg.name} pulled in ${client}`);
      }
      const queued = spawnSync(path.join(app, 'node_modules', '.bin', command),
        ['reproduce', '--profile', 'smoke', '--queue', 'redis://127.0.0.1:1'], { cwd: app, encoding: 'utf8' });
      if (queued.status !== 1 || !queued.stderr.includes('npm install @rethink-prune/queue')) {
        throw new Error(`${command} reproduce --queue without @rethink-prune/queue: exit ${queued.status}, ${queued.stderr}`);
      }
      smoke += '; no Redis client installed, --queue names @rethink-prune/queue';
    }
    share(app, pkg.name);
    return `${pkg.name} installed from ${tarballs.length} tarball(s) alone; ` +
      `${bins.length > 0 ? `${bins.join(', ')} --help answered` : 'loads'}${smoke}`;
  } catch (e) {
    if (started && e instanceof Error) Object.assign(e, { fromStart: started });
    throw e;
  }
}

function main() {
  const target = path.resolve(process.argv[2] ?? '');
  if (!fs.existsSync(path.join(target, 'package.json'))) {
    throw new Error(`usage: node tools/release/install-alone.js <package dir>; ${target} has no package.json`);
  }
  const dirs = withLocalDependencies(target, workspacePackages());
  const missing = dirs.filter((d) => !fs.existsSync(path.join(d, 'dist')));
  if (missing.length > 0) throw new Error(`not built: ${missing.join(', ')}; run nx run-many -t build first`);
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'install-alone-'));
  try {
    const tarballs = dirs.map((d) => path.join(scratch, run('npm', ['pack', '--silent', '--pack-destination', scratch], d).trim()));
    let summary;
    try {
      summary = checkApp(path.join(scratch, 'app'), target, tarballs, true);
    } catch (e) {
      if (!(e instanceof Error && 'fromStart' in e)) throw e;
      // A damaged start must not fail the check: it goes, the check runs once more from empty, and that one's
      // failure is the check's.
      process.stderr.write(`install-alone: from the shared start ${e.fromStart}: ${e.message}; once more from empty\n`);
      fs.rmSync(/** @type {string} */ (e.fromStart), { recursive: true, force: true });
      summary = checkApp(path.join(scratch, 'app-from-empty'), target, tarballs, false);
    }
    process.stdout.write(`install-alone: ${summary}\n`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    const err = /** @type {Error & { stderr?: string }} */ (e);
    process.stderr.write(`install-alone: ${err.message}\n${err.stderr ?? ''}`);
    process.exitCode = 1;
  }
}

module.exports = { linkTree, leftOverPackages };
