/**
 * ES-only packages (vega, vega-lite) from our CommonJS build.
 */
// tsc and ts-node (module commonjs) turn import() into require(), which refuses vega's top-level await
const nativeImport = new Function('specifier', 'return import(specifier)') as
  (specifier: string) => Promise<unknown>;

/** Loads an ES module from CommonJS code, under node, ts-node and vitest alike. */
export async function importEsm(specifier: string): Promise<unknown> {
  try {
    return await nativeImport(specifier);
  } catch (error) {
    // vitest runs code in a vm where a Function's import() has no loader, but vitest rewrites this one
    if ((error as NodeJS.ErrnoException).code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING') throw error;
    return import(specifier);
  }
}

