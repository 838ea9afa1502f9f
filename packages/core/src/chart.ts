import { importEsm } from './import-esm';

/** The fonts resvg finds for our SVGs: common sans fonts, unquoted (resvg 2.6 skips quoted ones). */
export const CHART_FONT = 'Helvetica, Arial, DejaVu Sans, Liberation Sans, sans-serif';

interface VegaLiteModule { compile(spec: object): { spec: object } }
interface VegaModule {
  parse(spec: object): unknown;
  View: new (runtime: unknown, options: { renderer: 'none' }) => { toSVG(): Promise<string>; finalize(): void };
}

/** The chart libraries, which a package that draws lists among its own dependencies (vega, vega-lite). */
async function load(name: 'vega' | 'vega-lite'): Promise<unknown> {
  try {
    return await importEsm(name);
  } catch (e) {
    throw new Error(`charts need the npm package '${name}' (npm install vega vega-lite): ${(e as Error).message}`);
  }
}

/**
 * SVG of a Vega-Lite spec (an object of vega-lite's TopLevelSpec type), rendered in Node without a browser: the one
 * renderer of every chart of the project (the report's, the evidence study's, lottery tickets').
 */
export async function vegaLiteSvg(spec: object): Promise<string> {
  const vegaLite = (await load('vega-lite')) as VegaLiteModule;
  const vega = (await load('vega')) as VegaModule;
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
