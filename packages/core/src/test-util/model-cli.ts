import { vi } from 'vitest';
import { runModelCli } from '../trace/cli';

/** Runs rethink-prune-model with its output captured: what it printed, and the error it stopped with, if any. */
export async function printedModelCli(argv: string[]): Promise<{ out: string; error?: Error }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((text) => { out += String(text); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await runModelCli(argv);
    return { out };
  } catch (e) {
    return { out, error: e as Error };
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
}
