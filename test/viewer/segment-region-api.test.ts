import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, saveModel } from '../../src/nn/models/registry.js';
import type { JobsState } from '../../src/pipeline/annotation-jobs.js';
import { startViewServer, type ViewServer } from '../../src/pipeline/view-server.js';
import { testGpu } from '../helpers/gpu.js';
import { makeFixture, SHAPE } from './fixture.js';

/**
 * POST /api/segment with a region: checked strictly (refused with 422, or 400 for an unknown
 * key, before anything starts), then segmented into the model's store in place; the page's
 * overlay moves to a new generation that says which regions it holds, and a whole-scan run
 * completes it. A small untrained model keeps the runs short.
 */

interface Reply {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
}

function send(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  return new Promise((ok, fail) => {
    const parts: Buffer[] = [];
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'POST', headers: opts.headers ?? {} }, (res) => {
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => {
        const body = Buffer.concat(parts).toString('utf8');
        ok({ status: res.statusCode ?? 0, body, json: () => JSON.parse(body) as Record<string, unknown> });
      });
    });
    req.on('error', fail);
    req.end(opts.body);
  });
}

describe('rhizoct view: Segment over a region', () => {
  let dir: string;
  let models: string;
  let server: ViewServer;
  let post: (body: unknown, token?: string) => Promise<Reply>;
  const jobs = async (): Promise<JobsState> => (await send(server.port, '/api/jobs', { method: 'GET' })).json() as unknown as JobsState;
  const store = (): string => join(models, 'base.segmentation.zarr');
  const chunkFiles = (): string[] =>
    existsSync(join(store(), '0'))
      ? readdirSync(join(store(), '0'), { recursive: true })
          .map(String)
          .filter((f) => !f.endsWith('.zarray') && statSync(join(store(), '0', f)).isFile())
          .sort()
      : [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rhizoct-segment-region-'));
    const fx = await makeFixture(join(dir, 'fx'));
    const viewerDir = join(dir, 'viewer');
    await mkdir(viewerDir);
    await writeFile(join(viewerDir, 'index.html'), '<!doctype html><title>viewer</title>');
    await writeFile(join(viewerDir, 'main.js'), 'export {};');
    const gpu = await testGpu();
    const model = join(dir, 'model');
    await saveModel(buildModel(gpu, { arch: 'dual', patch: 16, widths: [4, 6], lowScale: 2, lowPatch: 12, lowWidths: [3, 5] }, 7), model, {
      normalisation: { offset: 2000, scale: 40000 },
    });
    models = join(dir, 'models');
    server = await startViewServer({ scan: fx.scan, port: 0, viewerDir, model, modelsDir: models });
    const token = (server.config.annotate as { token: string }).token;
    const origin = `http://127.0.0.1:${server.port}`;
    post = (body, t = token) =>
      send(server.port, '/api/segment', {
        headers: { Origin: origin, 'Content-Type': 'application/json', 'X-Rhizoct-Token': t },
        body: JSON.stringify(body),
      });
  });

  afterAll(async () => {
    await server?.jobs?.idle();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a malformed, empty or out-of-scan region, naming it, and starts nothing', async () => {
    const bad: [unknown, RegExp][] = [
      ['all', /region .*must be three ranges, z, y and x/],
      [
        [
          [0, 10],
          [0, 10],
        ],
        /must be three ranges/,
      ],
      [[[0, 10], [0, 10], 5], /x must be a range \[start, end\]/],
      [
        [
          [0, 10],
          [0, 10],
          [0, 10, 20],
        ],
        /x must be a range/,
      ],
      [
        [
          [0, 10],
          ['0', 10],
          [0, 10],
        ],
        /y "0":10 must be whole numbers/,
      ],
      [
        [
          [0, 10],
          [0, 10],
          [0, 10.5],
        ],
        /x 0:10\.5 must be whole numbers/,
      ],
      [
        [
          [-1, 10],
          [0, 10],
          [0, 10],
        ],
        /z starts at -1, before the scan's first voxel 0/,
      ],
      [
        [
          [5, 5],
          [0, 10],
          [0, 10],
        ],
        /z 5:5 is empty/,
      ],
      [
        [
          [0, 10],
          [20, 10],
          [0, 10],
        ],
        /y 20:10 is empty/,
      ],
      [
        [
          [0, 10],
          [0, 10],
          [0, SHAPE[2] + 1],
        ],
        new RegExp(`x 0:${SHAPE[2] + 1} ends past the scan's ${SHAPE[2]} voxels along x \\(0:${SHAPE[2]}\\)`),
      ],
      [
        [
          [0, SHAPE[0] + 5],
          [0, 10],
          [0, 10],
        ],
        /z 0:69 ends past the scan's 64 voxels/,
      ],
      [null, /must be three ranges/],
    ];
    for (const [region, msg] of bad) {
      const r = await post({ region });
      expect(r.status, `${JSON.stringify(region)}: ${r.body}`).toBe(422);
      expect(String(r.json().error)).toMatch(
        /^region \(of the scan's 64×96×112 voxels, as \[\[z0, z1\], \[y0, y1\], \[x0, x1\]\], end excluded\): /,
      );
      expect(String(r.json().error), JSON.stringify(region)).toMatch(msg);
    }
    const unknown = await post({
      region: [
        [0, 10],
        [0, 10],
        [0, 10],
      ],
      box: 1,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.json().error).toMatch(/unknown key "box" \(model, region\)/);
    expect(
      (
        await post(
          {
            region: [
              [0, 10],
              [0, 10],
              [0, 10],
            ],
          },
          'forged',
        )
      ).status,
    ).toBe(403);
    expect(
      (
        await post({
          region: [
            [0, 10],
            [0, 10],
            [0, 10],
          ],
          model: 'nope',
        })
      ).status,
    ).toBe(404);
    expect(await jobs()).toEqual({ models: [], current: 'base' });
    expect(existsSync(models) && readdirSync(models).length > 0, 'nothing written').toBe(false);
  });

  it('segments the region into the store, and the overlay moves on saying which region it holds', async () => {
    const r = await post({
      region: [
        [0, 10],
        [0, 10],
        [0, 10],
      ],
    });
    expect(r.status, r.body).toBe(202);
    expect((r.json() as unknown as JobsState).segment).toMatchObject({
      model: 'base',
      region: [
        [0, 10],
        [0, 10],
        [0, 10],
      ],
      phase: 'running',
    });
    await server.jobs!.idle();
    const j = await jobs();
    expect(j.segment, j.segment?.error).toMatchObject({
      phase: 'done',
      region: [
        [0, 10],
        [0, 10],
        [0, 10],
      ],
    });
    // 64³ chunks over 64 × 96 × 112: 1 × 2 × 2; the region meets the first.
    expect(j.overlay).toEqual({
      generation: 1,
      url: 'data/overlay/1',
      model: 'base',
      coverage: {
        regions: [
          [
            [0, 10],
            [0, 10],
            [0, 10],
          ],
        ],
        chunks: { segmented: 1, total: 4 },
      },
    });
    expect(chunkFiles()).toEqual([join('0', '0', '0')]);
    const attrs = await send(server.port, '/data/overlay/1/.zattrs', { method: 'GET' });
    expect(attrs.status).toBe(200);
    expect((attrs.json().rhizoct as { coverage: unknown }).coverage).toMatchObject({
      complete: false,
      regions: [
        [
          [0, 10],
          [0, 10],
          [0, 10],
        ],
      ],
    });
  });

  it('a second region adds its chunk and keeps the first untouched; the whole scan then completes the store', async () => {
    const first = statSync(join(store(), '0', '0', '0', '0')).mtimeMs;
    expect(
      (
        await post({
          region: [
            [40, 64],
            [64, 96],
            [90, 112],
          ],
        })
      ).status,
    ).toBe(202);
    await server.jobs!.idle();
    let j = await jobs();
    expect(j.overlay).toMatchObject({
      generation: 2,
      coverage: {
        regions: [
          [
            [0, 10],
            [0, 10],
            [0, 10],
          ],
          [
            [40, 64],
            [64, 96],
            [90, 112],
          ],
        ],
        chunks: { segmented: 2, total: 4 },
      },
    });
    expect(chunkFiles()).toEqual([join('0', '0', '0'), join('0', '1', '1')]);
    expect(statSync(join(store(), '0', '0', '0', '0')).mtimeMs).toBe(first);
    expect((await send(server.port, '/data/overlay/1/.zattrs', { method: 'GET' })).status, 'the previous generation is gone').toBe(404);
    expect((await post({})).status).toBe(202);
    await server.jobs!.idle();
    j = await jobs();
    expect(j.segment).toMatchObject({ phase: 'done' });
    expect(j.segment!.region).toBeUndefined();
    expect(j.overlay).toEqual({ generation: 3, url: 'data/overlay/3', model: 'base' });
    expect(chunkFiles()).toHaveLength(4);
    expect(statSync(join(store(), '0', '0', '0', '0')).mtimeMs, 'chunks already segmented are kept').toBe(first);
    const attrs = await send(server.port, '/data/overlay/3/.zattrs', { method: 'GET' });
    expect((attrs.json().rhizoct as { coverage?: unknown }).coverage).toBeUndefined();
  });
});
