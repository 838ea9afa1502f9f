import { spawnSync } from 'child_process';
import * as path from 'path';
import { describe, expect, it } from 'vitest';

const SCRIPT = path.join(__dirname, 'gpu-check.js');
const hasGpu = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8' }).status === 0;

describe('tools/gpu-check.js', () => {
  it.skipIf(hasGpu)('on a machine without an NVIDIA GPU: says so, installs and measures nothing, exits 3', () => {
    const run = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    expect(run.status).toBe(3);
    expect(run.stdout).toMatch(/^gpu-check: no NVIDIA GPU visible \(.*\); nothing was installed or measured\n$/);
  });

  it('exits 2 on a bad option, before anything else', () => {
    const run = spawnSync(process.execPath, [SCRIPT, '--images', '10'], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--images needs a number ≥ 64/);
  });
});
