import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodes, MethodStagesConfigError } from './plugin.js';

const [markerGlob, createMethodStageNodes] = createNodes;

let workspaceRoot = '';

/** Writes files (workspace-relative path → contents) into the temporary workspace. */
function writeFiles(files: Record<string, string>): void {
  for (const [relativePath, contents] of Object.entries(files)) {
    const absolutePath = path.join(workspaceRoot, relativePath);
    fs.mkdirSync(path.dirname(absolutePath), { recursive: true });
    fs.writeFileSync(absolutePath, contents);
  }
}

function packageJson(bin: unknown): string {
  return JSON.stringify({ name: '@fake/method-fake', version: '0.0.0', bin });
}

async function inferFor(markerFiles: string[]) {
  const context = { workspaceRoot, nxJsonConfiguration: {} };
  return createMethodStageNodes(markerFiles, undefined, context);
}

beforeEach(() => {
  workspaceRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'method-stages-'));
});
afterEach(() => {
  fs.rmSync(workspaceRoot, { recursive: true, force: true });
});

describe('method stage targets', () => {
  it('gives a method package six stage targets, forwarding options, with the CLI path from bin', async () => {
    writeFiles({
      'packages/method-fake/reference.json': '{ "rows": [] }',
      'packages/method-fake/package.json': packageJson({ 'prune-fake': 'dist/fake-cli.js' }),
    });
    const cli = 'node packages/method-fake/dist/fake-cli.js reproduce --stage';
    const common = { executor: 'nx:run-commands', parallelism: false, cache: false };
    const results = await inferFor(['packages/method-fake/reference.json']);

    expect(results).toHaveLength(1);
    const [sourceFile, result] = results[0];
    expect(sourceFile).toBe('packages/method-fake/reference.json');
    expect(Object.keys(result.projects ?? {})).toEqual(['packages/method-fake']);
    const targets = result.projects?.['packages/method-fake'].targets ?? {};
    const stageNames = ['baseline', 'prune', 'finetune', 'scratch-e', 'scratch-b', 'reproduce'];
    expect(Object.keys(targets)).toEqual(stageNames);
    // Literal copy of the hand-written graph method-l1's project.json held before this plugin.
    expect(targets).toMatchObject({
      baseline: {
        ...common,
        dependsOn: ['build'],
        options: { cwd: '{workspaceRoot}', command: `${cli} baseline` },
      },
      prune: {
        ...common,
        dependsOn: [{ target: 'baseline', params: 'forward' }],
        options: { cwd: '{workspaceRoot}', command: `${cli} prune` },
      },
      finetune: {
        ...common,
        dependsOn: [{ target: 'prune', params: 'forward' }],
        options: { cwd: '{workspaceRoot}', command: `${cli} finetune` },
      },
      'scratch-e': {
        ...common,
        dependsOn: [{ target: 'prune', params: 'forward' }],
        options: { cwd: '{workspaceRoot}', command: `${cli} scratch-e` },
      },
      'scratch-b': {
        ...common,
        dependsOn: [{ target: 'scratch-e', params: 'forward' }],
        options: { cwd: '{workspaceRoot}', command: `${cli} scratch-b` },
      },
      reproduce: {
        ...common,
        dependsOn: [
          { target: 'finetune', params: 'forward' },
          { target: 'scratch-e', params: 'forward' },
          { target: 'scratch-b', params: 'forward' },
        ],
        options: { cwd: '{workspaceRoot}', command: `${cli} report` },
      },
    });
    // Options only: build, test and lint stay with nx.json's targetDefaults and project.json.
    for (const target of Object.values(targets)) {
      expect(Object.keys(target.options)).toEqual(['cwd', 'command']);
    }
  });

  it('takes a string bin, normalising a leading ./', async () => {
    writeFiles({
      'methods/other/reference.json': '{}',
      'methods/other/package.json': packageJson('./bin/run.js'),
    });
    const results = await inferFor(['methods/other/reference.json']);
    const targets = results[0][1].projects?.['methods/other'].targets ?? {};
    expect(targets.prune.options.command).toBe('node methods/other/bin/run.js reproduce --stage prune');
    expect(targets.reproduce.options.command).toBe('node methods/other/bin/run.js reproduce --stage report');
  });

  it('is handed only reference.json files, so a package without one gets nothing', async () => {
    writeFiles({
      'packages/method-fake/reference.json': '{}',
      'packages/method-fake/package.json': packageJson({ 'prune-fake': 'dist/cli.js' }),
      'packages/plain/package.json': packageJson({ plain: 'dist/cli.js' }),
      'packages/plain/project.json': '{ "name": "plain" }',
    });
    // Nx's own globber, the one that hands createNodes its files; in-process, as the daemon is off here.
    process.env.NX_DAEMON = 'false';
    // Relative to the temporary root, so its file index never lands in this workspace's .nx.
    process.env.NX_WORKSPACE_DATA_DIRECTORY = '.nx/workspace-data';
    const { globWithWorkspaceContext } = await import('nx/src/utils/workspace-context');
    const matched = await globWithWorkspaceContext(workspaceRoot, [markerGlob]);
    expect(matched).toEqual(['packages/method-fake/reference.json']);
    const results = await inferFor(matched);
    const projectRoots = results.flatMap(([, result]) => Object.keys(result.projects ?? {}));
    expect(projectRoots).toEqual(['packages/method-fake']);
  });

  it('skips a reference.json with no package.json or no bin beside it', async () => {
    writeFiles({
      'data/reference.json': '{}',
      'packages/library/reference.json': '{}',
      'packages/library/package.json': JSON.stringify({ name: '@fake/library', main: 'dist/index.js' }),
    });
    expect(await inferFor(['data/reference.json', 'packages/library/reference.json'])).toEqual([]);
  });

  it('refuses a bin with several commands, naming the file, the field and the fix', async () => {
    writeFiles({
      'packages/two-clis/reference.json': '{}',
      'packages/two-clis/package.json': packageJson({ first: 'dist/a.js', second: 'dist/b.js' }),
    });
    const inference = inferFor(['packages/two-clis/reference.json']);
    await expect(inference).rejects.toThrow(MethodStagesConfigError);
    await expect(inferFor(['packages/two-clis/reference.json'])).rejects.toThrow(
      /packages\/two-clis\/package\.json field "bin": names 2 commands \(first, second\); .*keep one entry/,
    );
  });

  it('refuses a package.json that is not JSON, naming the file', async () => {
    writeFiles({
      'packages/broken/reference.json': '{}',
      'packages/broken/package.json': '{ "bin": ',
    });
    await expect(inferFor(['packages/broken/reference.json'])).rejects.toThrow(
      /packages\/broken\/package\.json .*is not valid JSON/,
    );
  });
});
