import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_LABEL } from '../../src/io/annotation-store.js';
import { openZarr } from '../../src/io/zarr-source.js';
import { parseEdits } from '../../src/pipeline/annotation-api.js';
import { startViewServer, type ViewServer } from '../../src/pipeline/view-server.js';
import { type Fixture, makeFixture, SHAPE } from './fixture.js';

/**
 * The write side of `rhizoct view`: painting into labels/annotations of the scan's store, and
 * every way a write is refused. Requests go out byte for byte (node:http), headers as given.
 */

const REPO = resolve(import.meta.dirname, '..', '..');

interface Reply {
  status: number;
  body: string;
  json: () => Record<string, unknown>;
}

/** One request; a refusal may arrive while the body is still going out, so a reset after the answer is not an error. */
function send(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<Reply> {
  return new Promise((ok, fail) => {
    let status = 0;
    const parts: Buffer[] = [];
    const done = (): void => {
      const body = Buffer.concat(parts).toString('utf8');
      ok({ status, body, json: () => JSON.parse(body) as Record<string, unknown> });
    };
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'POST', headers: opts.headers ?? {} }, (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', done);
      res.on('error', done);
    });
    req.on('error', (e) => (status ? done() : fail(e)));
    req.end(opts.body);
  });
}

async function annotationFiles(store: string): Promise<string[]> {
  return (await readdir(join(store, 'labels', ANNOTATION_LABEL), { recursive: true }).catch(() => [])).map(String).sort();
}

describe('rhizoct view: painting annotations', () => {
  let dir: string;
  let fx: Fixture;
  let server: ViewServer;
  let readOnly: ViewServer;
  let token: string;
  let good: (body: unknown, extra?: Record<string, string>) => Promise<Reply>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rhizoct-annotate-'));
    fx = await makeFixture(join(dir, 'fx'));
    const viewerDir = join(dir, 'viewer');
    await mkdir(viewerDir);
    await writeFile(join(viewerDir, 'index.html'), '<!doctype html><title>viewer</title>');
    await writeFile(join(viewerDir, 'main.js'), 'export {};');
    server = await startViewServer({ scan: fx.scan, seg: fx.seg, port: 0, viewerDir });
    readOnly = await startViewServer({ scan: fx.labelled, port: 0, viewerDir, annotate: false });
    const cfg = (await send(server.port, '/config.json', { method: 'GET' })).json();
    token = (cfg.annotate as { token: string }).token;
    const origin = `http://127.0.0.1:${server.port}`;
    good = (body, extra = {}) =>
      send(server.port, '/api/annotations', {
        headers: { Origin: origin, 'Content-Type': 'application/json', 'X-Rhizoct-Token': token, ...extra },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
  });

  afterAll(async () => {
    await server?.close();
    await readOnly?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('hands the page a random per-run token in /config.json and says the label does not exist yet', async () => {
    const cfg = (await send(server.port, '/config.json', { method: 'GET' })).json();
    const a = cfg.annotate as Record<string, unknown>;
    expect(a.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(a).toMatchObject({ header: 'x-rhizoct-token', label: 'annotations', exists: false, jobs: true });
    const other = await startViewServer({ scan: fx.scan, port: 0, viewerDir: join(dir, 'viewer') });
    expect(other.config.annotate!.token).not.toBe(a.token);
    await other.close();
  });

  it('writes strokes into labels/annotations at the voxels sent; GET serves them read-only', async () => {
    const r = await good({
      edits: [
        { value: 1, voxels: [5, 6, 7, 63, 95, 111] },
        { value: 2, voxels: [40, 50, 60] },
      ],
    });
    expect(r.status, r.body).toBe(200);
    expect(r.json()).toEqual({ previous: [0, 0, 0], chunks: 3 });
    const src = await openZarr(fx.scan, { label: ANNOTATION_LABEL });
    expect(src.shape).toEqual(SHAPE);
    const at = async (z: number, y: number, x: number): Promise<number> => (await src.readBox({ offset: [z, y, x], shape: [1, 1, 1] }))[0]!;
    expect(await at(5, 6, 7)).toBe(1);
    expect(await at(63, 95, 111)).toBe(1);
    expect(await at(40, 50, 60)).toBe(2);
    expect(await at(5, 6, 8)).toBe(0);
    const chunk = await send(server.port, '/data/scan/labels/annotations/0/0/0/0', { method: 'GET' });
    expect(chunk.status).toBe(200);
    const put = await send(server.port, '/data/scan/labels/annotations/0/0/0/0', {
      method: 'PUT',
      headers: { Origin: `http://127.0.0.1:${server.port}`, 'X-Rhizoct-Token': token },
      body: 'x',
    });
    expect(put.status).toBe(405);
  });

  it('refuses a cross-origin page, a missing Origin, a cross-site fetch and a wrong Host', async () => {
    const before = await annotationFiles(fx.scan);
    const body = { edits: [{ value: 1, voxels: [1, 1, 1] }] };
    const cross = await good(body, { Origin: 'http://evil.example' });
    expect(cross.status).toBe(403);
    expect(cross.json().error).toMatch(/cross-origin write refused: Origin http:\/\/evil\.example/);
    expect((await good(body, { Origin: `http://127.0.0.1:${server.port + 1}` })).status).toBe(403);
    expect((await good(body, { 'Sec-Fetch-Site': 'cross-site' })).status).toBe(403);
    const noOrigin = await send(server.port, '/api/annotations', {
      headers: { 'Content-Type': 'application/json', 'X-Rhizoct-Token': token },
      body: JSON.stringify(body),
    });
    expect(noOrigin.status).toBe(403);
    const rebound = await good(body, { Host: 'evil.example', Origin: 'http://evil.example' });
    expect(rebound.status).toBe(403);
    expect(await annotationFiles(fx.scan)).toEqual(before);
  });

  it('refuses a missing or forged token and a non-JSON content type', async () => {
    const before = await annotationFiles(fx.scan);
    const body = JSON.stringify({ edits: [{ value: 1, voxels: [1, 1, 1] }] });
    const origin = `http://127.0.0.1:${server.port}`;
    const missing = await send(server.port, '/api/annotations', { headers: { Origin: origin, 'Content-Type': 'application/json' }, body });
    expect(missing.status).toBe(401);
    const forged = await good(body, { 'X-Rhizoct-Token': `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}` });
    expect(forged.status).toBe(403);
    expect(forged.json().error).toMatch(/wrong x-rhizoct-token/);
    expect((await good(body, { 'X-Rhizoct-Token': 'short' })).status).toBe(403);
    // A form post (no preflight) is not JSON and is refused whatever it holds.
    expect((await good(body, { 'Content-Type': 'text/plain' })).status).toBe(415);
    expect(await annotationFiles(fx.scan)).toEqual(before);
  });

  it('refuses any path but the annotation label, and writes in a read-only viewer', async () => {
    const headers = { Origin: `http://127.0.0.1:${server.port}`, 'Content-Type': 'application/json', 'X-Rhizoct-Token': token };
    const body = JSON.stringify({ edits: [{ value: 1, voxels: [1, 1, 1] }] });
    expect((await send(server.port, '/data/scan/labels/roots/0/0/0/0', { headers, body })).status).toBe(405);
    expect((await send(server.port, '/api/labels/roots', { headers, body })).status).toBe(404);
    expect((await send(server.port, '/api/annotations/../roots', { headers, body })).status).toBe(404);
    expect((await send(server.port, '/api/annotations', { method: 'PUT', headers, body })).status).toBe(405);
    expect((await send(server.port, '/api/annotations', { method: 'GET' })).status).toBe(405);
    const ro = await send(readOnly.port, '/api/annotations', {
      headers: { ...headers, Origin: `http://127.0.0.1:${readOnly.port}` },
      body,
    });
    expect(ro.status).toBe(404);
    expect(readOnly.config.annotate).toBeUndefined();
    expect(await annotationFiles(fx.labelled)).toEqual([]);
  });

  it('refuses an oversized body (declared or streamed) and too many voxels', async () => {
    const before = await annotationFiles(fx.scan);
    const huge = await good(`{"edits":[{"value":1,"voxels":[${'1,'.repeat(2_200_000)}1]}]}`);
    expect(huge.status).toBe(413);
    const streamed = await new Promise<number>((ok, fail) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/api/annotations',
          method: 'POST',
          headers: {
            Origin: `http://127.0.0.1:${server.port}`,
            'Content-Type': 'application/json',
            'X-Rhizoct-Token': token,
            'Transfer-Encoding': 'chunked',
          },
        },
        (res) => {
          res.resume();
          ok(res.statusCode ?? 0);
        },
      );
      req.on('error', fail);
      const piece = Buffer.alloc(2 ** 20, 32);
      for (let i = 0; i < 5; i++) req.write(piece);
      req.end();
    });
    expect(streamed).toBe(413);
    const many = Array.from({ length: 2 ** 18 + 1 }, () => [0, 0, 0]).flat();
    const tooMany = await good({ edits: [{ value: 1, voxels: many }] });
    expect(tooMany.status).toBe(413);
    expect(await annotationFiles(fx.scan)).toEqual(before);
  });

  it('refuses malformed bodies with 400 and voxels outside the scan with 422, writing nothing', async () => {
    const before = await annotationFiles(fx.scan);
    const cases: [unknown, number, RegExp][] = [
      ['{"edits": [', 400, /not JSON/],
      [[1, 2], 400, /must be an object/],
      [{ edits: [], more: 1 }, 400, /only "edits"/],
      [{ edits: {} }, 400, /must be a list/],
      [{ edits: [{ value: 3, voxels: [1, 1, 1] }] }, 400, /value must be 0/],
      [{ edits: [{ value: '1', voxels: [1, 1, 1] }] }, 400, /value must be 0/],
      [{ edits: [{ value: 1, voxels: [1, 1] }] }, 400, /not z, y, x triples/],
      [{ edits: [{ value: 1, voxels: [1, 1.5, 1] }] }, 400, /voxels\[1\] is 1.5/],
      [{ edits: [{ value: 1, voxels: [1, '1', 1] }] }, 400, /voxels\[1\]/],
      [{ edits: [{ value: 1, voxels: [1, 1, 1], path: 'labels/roots' }] }, 400, /unknown key "path"/],
      [{ edits: [{ value: 1, voxels: [0, 0, 0, 64, 0, 0] }] }, 422, /voxel \(z 64, y 0, x 0\) is outside the scan's 64×96×112/],
      [{ edits: [{ value: 1, voxels: [0, -1, 0] }] }, 422, /outside/],
    ];
    for (const [body, status, msg] of cases) {
      const r = await good(body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(r.json().error).toMatch(msg);
    }
    expect(await annotationFiles(fx.scan)).toEqual(before);
    expect(() => parseEdits({ edits: [{ value: 2, voxels: [] }] })).not.toThrow();
  });

  it('Train and Segment check their requests before starting anything', async () => {
    const origin = `http://127.0.0.1:${server.port}`;
    const post = (path: string, body: unknown, t = token): Promise<Reply> =>
      send(server.port, path, {
        headers: { Origin: origin, 'Content-Type': 'application/json', 'X-Rhizoct-Token': t },
        body: JSON.stringify(body),
      });
    const jobs = await send(server.port, '/api/jobs', { method: 'GET' });
    expect(jobs.status).toBe(200);
    expect(jobs.json()).toEqual({ models: [], current: 'base' });
    expect((await post('/api/train', { name: '../escape' })).status).toBe(422);
    expect((await post('/api/train', { name: 'a/b' })).status).toBe(422);
    expect((await post('/api/train', { name: '' })).status).toBe(422);
    expect((await post('/api/train', { name: 'ok', minutes: -1 })).status).toBe(422);
    expect((await post('/api/train', { name: 'ok', lr: 1 })).status).toBe(400);
    expect((await post('/api/train', { name: 'ok' }, 'forged')).status).toBe(403);
    expect((await post('/api/segment', { model: 'nope' })).status).toBe(404);
    expect((await post('/api/segment', { model: '../../etc' })).status).toBe(422);
    expect((await send(server.port, '/api/jobs', { method: 'GET' })).json()).toEqual({ models: [], current: 'base' });
  });

  it('two tabs writing the same chunk at once: every stroke lands', async () => {
    // Two "tabs" paint interleaved voxels of one chunk, many requests each, all in flight at once.
    const tab = (value: number, parity: number): Promise<Reply>[] =>
      Array.from({ length: 16 }, (_, i) =>
        good({
          edits: [
            {
              value,
              voxels: Array.from({ length: 32 }, (_, x) => (x % 2 === parity ? [20 + (i % 8), 40 + Math.floor(i / 8), x] : [])).flat(),
            },
          ],
        }),
      );
    const replies = await Promise.all([...tab(1, 0), ...tab(2, 1)]);
    for (const r of replies) expect(r.status, r.body).toBe(200);
    const src = await openZarr(fx.scan, { label: ANNOTATION_LABEL, missingChunks: 'error' });
    const box = await src.readBox({ offset: [20, 40, 0], shape: [8, 2, 32] });
    for (let z = 0; z < 8; z++)
      for (let y = 0; y < 2; y++)
        for (let x = 0; x < 32; x++) expect(box[(z * 2 + y) * 32 + x], `z ${20 + z} y ${40 + y} x ${x}`).toBe(x % 2 === 0 ? 1 : 2);
  });

  it('a write killed mid-way leaves the chunk as it was before or after, never torn', async () => {
    const scan = (await makeFixture(join(dir, 'killed'))).scan;
    for (let round = 0; round < 3; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/viewer/annotate-writer.ts'), scan, '32'], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const err: string[] = [];
      child.stderr!.on('data', (b: Buffer) => err.push(b.toString()));
      await new Promise<void>((ok, fail) => {
        let out = '';
        const timer = setTimeout(() => fail(new Error(`writer did not start: ${err.join('')}`)), 60_000);
        child.stdout!.on('data', (b: Buffer) => {
          out += b.toString();
          // Kill at a different moment each round, while it is writing.
          if ((out.match(/wrote/g) ?? []).length >= 3 + round * 2) {
            clearTimeout(timer);
            setTimeout(() => {
              child.kill('SIGKILL');
              ok();
            }, 3 * round);
          }
        });
      });
      await new Promise((r) => child.once('exit', r));
      const src = await openZarr(scan, { label: ANNOTATION_LABEL, missingChunks: 'error' });
      const box = await src.readBox({ offset: [0, 0, 0], shape: [32, 32, 32] });
      const first = box[0]!;
      expect([1, 2]).toContain(first);
      expect(box.every((v) => v === first)).toBe(true);
    }
  }, 180_000);
});
