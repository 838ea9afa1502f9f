// @ts-check
// Nx plugin: every method package (a `reference.json` beside a `package.json` whose `bin` names the CLI) gets
// the reproduce stage targets baseline → prune → finetune | scratch-e → scratch-b → reproduce.
// Plain CommonJS so that nx loads it on a clean clone without a build or a TypeScript transpiler.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const PLUGIN_FILE = 'tools/method-stages/plugin.js';
const MARKER_GLOB = '**/reference.json';

const STAGE_GRAPH_FILE = 'packages/core/src/experiment/stage-graph.ts';

/**
 * One stage target: the `--stage` value the CLI's `reproduce` command takes and the targets it runs after.
 * @typedef {{ target: string, stage: string, after: string[], description: string }} StageSpec
 */

/**
 * Core's stage graph, read from its TypeScript source (it imports nothing) so that a clean clone needs no build:
 * the report stage is the `reproduce` target.
 * @returns {StageSpec[]}
 */
function loadStages() {
  const ts = require('typescript');
  const source = fs.readFileSync(path.join(__dirname, '..', '..', STAGE_GRAPH_FILE), 'utf8');
  const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS } });
  const graphModule = { exports: /** @type {{ STAGE_GRAPH?: Array<{ name: string, needs: string[], description: string }> }} */ ({}) };
  new Function('module', 'exports', outputText)(graphModule, graphModule.exports);
  const graph = graphModule.exports.STAGE_GRAPH;
  if (!Array.isArray(graph)) throw new Error(`${PLUGIN_FILE}: ${STAGE_GRAPH_FILE} exports no STAGE_GRAPH array`);
  const target = (/** @type {string} */ stage) => (stage === 'report' ? 'reproduce' : stage);
  return graph.map((s) => ({ target: target(s.name), stage: s.name, after: s.needs.map(target), description: s.description }));
}

/** @type {StageSpec[]} */
const STAGES = loadStages();

/** A method package whose package.json or reference.json cannot give the stage targets. */
class MethodStagesConfigError extends Error {
  /**
   * @param {string} file the workspace-relative file at fault
   * @param {string} field the field at fault
   * @param {string} problem what is wrong
   * @param {string} fix what to do about it
   */
  constructor(file, field, problem, fix) {
    super(`${PLUGIN_FILE}: ${file} field "${field}": ${problem}; ${fix}`);
    this.name = 'MethodStagesConfigError';
  }
}

/**
 * The CLI path, relative to the package root, that a package.json `bin` names; null when there is no `bin`
 * (the package is not a method package).
 * @param {unknown} bin the `bin` field as read from package.json
 * @param {string} packageJsonFile workspace-relative path, for error messages
 * @returns {string | null}
 */
function cliPathFromBin(bin, packageJsonFile) {
  if (bin === undefined) return null;
  if (typeof bin === 'string' && bin.trim() !== '') return bin;
  if (bin !== null && typeof bin === 'object' && !Array.isArray(bin)) {
    const commandPaths = Object.values(bin);
    if (commandPaths.length === 1 && typeof commandPaths[0] === 'string' && commandPaths[0].trim() !== '') {
      return commandPaths[0];
    }
    throw new MethodStagesConfigError(
      packageJsonFile,
      'bin',
      `names ${commandPaths.length} commands (${Object.keys(bin).join(', ')})`,
      'a method package has exactly one CLI: keep one entry whose value is the CLI path, e.g. "dist/cli.js"',
    );
  }
  throw new MethodStagesConfigError(
    packageJsonFile,
    'bin',
    `is ${JSON.stringify(bin)}`,
    'give the CLI path, e.g. "bin": { "prune-l1": "dist/cli.js" }',
  );
}

/**
 * The six stage targets of one method package. Each runs `node <cli> reproduce --stage <stage>` from the
 * workspace root and forwards its command-line options to the stages it depends on, so `--profile=quick`
 * reaches them all.
 * @param {string} cliFromRoot the CLI path relative to the workspace root, posix separators
 * @returns {Record<string, import('nx/src/devkit-exports').TargetConfiguration>}
 */
function stageTargets(cliFromRoot) {
  /** @type {Record<string, import('nx/src/devkit-exports').TargetConfiguration>} */
  const targets = {};
  for (const spec of STAGES) {
    targets[spec.target] = {
      executor: 'nx:run-commands',
      // The baseline needs the compiled CLI; `build` takes no stage options, so it gets none forwarded.
      dependsOn: spec.after.length === 0
        ? ['build']
        : spec.after.map((target) => ({ target, params: /** @type {const} */ ('forward') })),
      options: {
        cwd: '{workspaceRoot}',
        command: `node ${cliFromRoot} reproduce --stage ${spec.stage}`,
      },
      // Stages train models and share run directories: never cached, never two at once.
      parallelism: false,
      cache: false,
      metadata: { description: spec.description },
    };
  }
  return targets;
}

/**
 * Reads a JSON file; a parse failure names the file.
 * @param {string} absolutePath
 * @param {string} relativePath workspace-relative, for error messages
 * @returns {Record<string, unknown>}
 */
function readJson(absolutePath, relativePath) {
  try {
    return JSON.parse(fs.readFileSync(absolutePath, 'utf8'));
  } catch (error) {
    throw new MethodStagesConfigError(
      relativePath,
      '(whole file)',
      `is not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      'fix the JSON syntax',
    );
  }
}

/**
 * The stage targets for the package holding one marker file, or null when it is not a method package.
 * @param {string} markerFile workspace-relative path of a reference.json
 * @param {string} workspaceRoot absolute path
 * @returns {[string, import('nx/src/devkit-exports').CreateNodesResult] | null}
 */
function nodesForMarker(markerFile, workspaceRoot) {
  const projectRoot = path.posix.dirname(markerFile.split(path.sep).join('/'));
  const packageJsonFile = path.posix.join(projectRoot, 'package.json');
  const packageJsonPath = path.join(workspaceRoot, packageJsonFile);
  if (!fs.existsSync(packageJsonPath)) return null;
  const cliPath = cliPathFromBin(readJson(packageJsonPath, packageJsonFile).bin, packageJsonFile);
  if (cliPath === null) return null;
  const cliFromRoot = path.posix.join(projectRoot, cliPath);
  return [markerFile, { projects: { [projectRoot]: { targets: stageTargets(cliFromRoot) } } }];
}

/** @type {import('nx/src/devkit-exports').CreateNodesFunction} */
async function createMethodStageNodes(markerFiles, _options, context) {
  /** @type {import('nx/src/devkit-exports').CreateNodesResultArray} */
  const results = [];
  for (const markerFile of markerFiles) {
    const nodes = nodesForMarker(markerFile, context.workspaceRoot);
    if (nodes !== null) results.push(nodes);
  }
  return results;
}

/** @type {import('nx/src/devkit-exports').CreateNodes} */
const createNodes = [MARKER_GLOB, createMethodStageNodes];

module.exports = {
  name: 'rethink-prune-method-stages',
  createNodes,
  // Older Nx reads createNodesV2 for the v2 signature; both names point at the same function.
  createNodesV2: createNodes,
  STAGES,
  MethodStagesConfigError,
};
