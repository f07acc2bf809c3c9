import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AnnotationEdit, ANNOTATION_VALUES, AnnotationStore } from '../io/annotation-store.js';
import { isVolumeIoError } from '../io/errors.js';
import { checkWriter, readJsonBody, Refused } from './annotation-guard.js';
import type { AnnotationJobs } from './annotation-jobs.js';

/**
 * The write side of `rhizoct view`, under /api/: painting into labels/annotations of the scan's
 * store, and the Train and Segment jobs. Every POST passes checkWriter (token, Origin, JSON);
 * nothing here can write anywhere but the annotation label and the models folder.
 *
 *   POST /api/annotations  {"edits":[{"value":0|1|2,"voxels":[z,y,x, z,y,x, …]}, …]}
 *                          → {"previous":[…], "chunks":n}, previous values in request order
 *   GET  /api/jobs         → training and segmentation state, models, the current overlay
 *   POST /api/train        {"name":"my-model", "minutes"?: n, "steps"?: n}  → 202
 *   POST /api/segment      {"model"?: "my-model", "region"?: [[z0,z1],[y0,y1],[x0,x1]]}  → 202
 *                          (region: level-0 voxels, end excluded; without it the whole scan)
 */

export const MAX_EDIT_BODY = 4 * 2 ** 20;
export const MAX_EDIT_VOXELS = 2 ** 18;
const MAX_JOB_BODY = 4096;

/** Checks the JSON of an edit request; throws Refused (400, or 413 for too many voxels). */
export function parseEdits(body: unknown): AnnotationEdit[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Refused(400, 'body must be an object {"edits": [...]}');
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'edits')
    throw new Refused(400, `body must hold only "edits", found ${keys.map((k) => JSON.stringify(k)).join(', ') || 'nothing'}`);
  const edits = (body as { edits: unknown }).edits;
  if (!Array.isArray(edits)) throw new Refused(400, '"edits" must be a list');
  let voxels = 0;
  return edits.map((e: unknown, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e))
      throw new Refused(400, `edits[${i}] must be an object {"value", "voxels"}`);
    const extra = Object.keys(e).filter((k) => k !== 'value' && k !== 'voxels');
    if (extra.length) throw new Refused(400, `edits[${i}] holds unknown key ${JSON.stringify(extra[0])}`);
    const { value, voxels: v } = e as { value: unknown; voxels: unknown };
    if (typeof value !== 'number' || !ANNOTATION_VALUES.includes(value))
      throw new Refused(400, `edits[${i}].value must be 0 (unlabelled), 1 (root) or 2 (not root), got ${JSON.stringify(value)}`);
    if (!Array.isArray(v)) throw new Refused(400, `edits[${i}].voxels must be a list of z, y, x integers`);
    if (v.length % 3 !== 0) throw new Refused(400, `edits[${i}].voxels holds ${v.length} numbers, not z, y, x triples`);
    const bad = v.findIndex((n) => typeof n !== 'number' || !Number.isInteger(n));
    if (bad >= 0) throw new Refused(400, `edits[${i}].voxels[${bad}] is ${JSON.stringify(v[bad])}, not an integer`);
    voxels += v.length / 3;
    if (voxels > MAX_EDIT_VOXELS) throw new Refused(413, `more than ${MAX_EDIT_VOXELS} voxels in one request; send strokes in pieces`);
    return { value, voxels: v as number[] };
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(`${JSON.stringify(body)}\n`);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': String(bytes.length),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(bytes);
}

export class AnnotationApi {
  constructor(
    readonly store: AnnotationStore,
    private readonly token: string,
    private readonly jobs: AnnotationJobs | undefined,
  ) {}

  /** Answers a request under /api/; `path` is the request path without the query. */
  async handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    try {
      await this.route(req, res, path);
    } catch (err) {
      if (err instanceof Refused) return sendJson(res, err.status, { error: err.message });
      if (isVolumeIoError(err, 'OutOfBounds')) return sendJson(res, 422, { error: err.message });
      throw err;
    }
  }

  private async route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const routes: Record<string, string[]> = {
      '/api/annotations': ['POST'],
      '/api/jobs': ['GET'],
      '/api/train': ['POST'],
      '/api/segment': ['POST'],
    };
    const allowed = routes[path];
    if (!allowed) throw new Refused(404, `no such API: ${path} (writes go to /api/annotations only)`);
    if (!allowed.includes(req.method ?? '')) {
      res.setHeader('Allow', allowed.join(', '));
      throw new Refused(405, `${req.method} is not allowed on ${path}`);
    }
    if (req.method === 'GET') {
      if (!this.jobs) throw new Refused(404, 'training and segmentation are off in this viewer');
      return sendJson(res, 200, await this.jobs.state());
    }
    checkWriter(req, this.token);
    if (path === '/api/annotations') {
      const edits = parseEdits(await readJsonBody(req, MAX_EDIT_BODY));
      const r = await this.store.apply(edits);
      return sendJson(res, 200, { previous: Array.from(r.previous), chunks: r.chunks });
    }
    if (!this.jobs) throw new Refused(404, 'training and segmentation are off in this viewer');
    const body = await readJsonBody(req, MAX_JOB_BODY);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Refused(400, 'body must be a JSON object');
    if (path === '/api/train') this.jobs.startTrain(body as Record<string, unknown>);
    else this.jobs.startSegment(body as Record<string, unknown>, this.store.shape);
    return sendJson(res, 202, await this.jobs.state());
  }
}
