import type { ViewerConfig } from '../../src/pipeline/viewer-config.js';

/**
 * What to show. `rhizoct view` serves it as /config.json (ViewerConfig, shared with the server);
 * the page's URL parameters override it, so the bundle can also be hosted as static files and
 * pointed at any OME-Zarr over HTTP (CORS permitting):
 *   index.html?scan=https://host/scan.zarr&seg=https://host/seg.zarr&traits=https://host/traits/
 */
export type { ViewerConfig };

export function configFromParams(params: URLSearchParams, base?: ViewerConfig): ViewerConfig | undefined {
  const scan = params.get('scan');
  if (!scan && !base) return undefined;
  const cfg: ViewerConfig = base ? { ...base } : { title: '', scan: { url: scan! } };
  if (scan) {
    cfg.scan = { url: scan };
    cfg.title = scan.replace(/\/+$/, '').split('/').pop() ?? scan;
    delete cfg.seg;
    delete cfg.traits;
  }
  const seg = params.get('seg');
  if (seg) cfg.seg = { url: seg };
  const traits = params.get('traits');
  if (traits) {
    const t = traits.replace(/\/+$/, '');
    cfg.traits = /\.json$/i.test(t) ? { json: t } : /\.vtp$/i.test(t) ? { mesh: t } : { json: `${t}/traits.json`, mesh: `${t}/roots.vtp` };
  }
  const mv = Number(params.get('maxVoxels'));
  if (Number.isInteger(mv) && mv > 0) cfg.maxVoxels = mv;
  return cfg;
}

export async function loadConfig(): Promise<ViewerConfig> {
  const params = new URLSearchParams(location.search);
  if (params.get('scan')) return configFromParams(params)!;
  const r = await fetch('config.json', { cache: 'no-cache' });
  if (!r.ok) throw new Error('no config.json here: open this page through `rhizoct view`, or give ?scan=URL of an OME-Zarr');
  const base = (await r.json()) as ViewerConfig;
  return configFromParams(params, base) ?? base;
}
