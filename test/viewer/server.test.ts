import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startViewServer, type ViewServer, ViewerNotBuiltError } from '../../src/pipeline/view-server.js';
import { type Fixture, makeFixture } from './fixture.js';

/** A raw HTTP request: the path goes out byte for byte (fetch would resolve "..", curl too). */
function raw(
  port: number,
  path: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on('error', fail);
    req.end();
  });
}

const SECRET = 'TOP-SECRET-do-not-serve';

describe('rhizoct view server', () => {
  let dir: string;
  let fx: Fixture;
  let viewerDir: string;
  let server: ViewServer;
  let cors: ViewServer;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rhizoct-view-server-'));
    fx = await makeFixture(join(dir, 'fx'));
    // A stand-in viewer bundle, so this test does not need `npm run build:viewer`.
    viewerDir = join(dir, 'viewer');
    await mkdir(viewerDir);
    await writeFile(join(viewerDir, 'index.html'), '<!doctype html><title>viewer</title>');
    await writeFile(join(viewerDir, 'main.js'), 'export {};');
    // Things outside what is served, and links from inside pointing at them.
    await writeFile(join(dir, 'secret.txt'), SECRET);
    await writeFile(join(fx.dir, 'secret.txt'), SECRET);
    await writeFile(join(fx.traits, 'notes.txt'), SECRET);
    await symlink(join(dir, 'secret.txt'), join(fx.scan, 'secret-link'));
    await symlink(dir, join(fx.scan, 'dir-link'));
    await symlink(join(dir, 'secret.txt'), join(viewerDir, 'bundle-link.js'));
    server = await startViewServer({ scan: fx.scan, seg: fx.seg, traits: fx.traits, port: 0, viewerDir });
    cors = await startViewServer({ scan: fx.labelled, port: 0, viewerDir, cors: true });
  });

  afterAll(async () => {
    await server?.close();
    await cors?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('binds 127.0.0.1 and describes what it serves in /config.json', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await raw(server.port, '/config.json');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    const cfg = JSON.parse(r.body.toString());
    expect(cfg.scan).toMatchObject({ url: 'data/scan', zarrFormat: 2, labels: [] });
    expect(cfg.seg).toMatchObject({ url: 'data/seg', zarrFormat: 2, labels: ['roots'] });
    expect(cfg.traits).toEqual({ json: 'data/traits/traits.json', mesh: 'data/traits/roots.vtp' });
  });

  it('serves the store, the bundle and the traits with content types', async () => {
    const cases: [string, string][] = [
      ['/', 'text/html; charset=utf-8'],
      ['/main.js', 'text/javascript; charset=utf-8'],
      ['/data/scan/.zattrs', 'application/json'],
      ['/data/scan/0/.zarray', 'application/json'],
      ['/data/scan/0/0/0/0', 'application/octet-stream'],
      ['/data/seg/labels/roots/.zattrs', 'application/json'],
      ['/data/traits/traits.json', 'application/json'],
      ['/data/traits/roots.vtp', 'application/xml'],
    ];
    for (const [path, type] of cases) {
      const r = await raw(server.port, path);
      expect(r.status, path).toBe(200);
      expect(r.headers['content-type'], path).toBe(type);
      expect(r.headers['x-content-type-options'], path).toBe('nosniff');
    }
    const zattrs = await raw(server.port, '/data/scan/.zattrs');
    expect(zattrs.body.equals(await readFile(join(fx.scan, '.zattrs')))).toBe(true);
    expect((await raw(server.port, '/')).headers['content-security-policy']).toMatch(/default-src 'self'/);
  });

  it('answers byte ranges', async () => {
    const whole = await readFile(join(fx.scan, '0', '0', '0', '0'));
    const a = await raw(server.port, '/data/scan/0/0/0/0', { headers: { Range: 'bytes=10-29' } });
    expect(a.status).toBe(206);
    expect(a.headers['content-range']).toBe(`bytes 10-29/${whole.length}`);
    expect(a.headers['content-length']).toBe('20');
    expect(a.body.equals(whole.subarray(10, 30))).toBe(true);
    const suffix = await raw(server.port, '/data/scan/0/0/0/0', { headers: { Range: 'bytes=-16' } });
    expect(suffix.status).toBe(206);
    expect(suffix.body.equals(whole.subarray(whole.length - 16))).toBe(true);
    const open = await raw(server.port, '/data/scan/0/0/0/0', { headers: { Range: `bytes=${whole.length - 3}-` } });
    expect(open.body.equals(whole.subarray(whole.length - 3))).toBe(true);
    const past = await raw(server.port, '/data/scan/0/0/0/0', { headers: { Range: `bytes=${whole.length}-` } });
    expect(past.status).toBe(416);
    expect(past.headers['content-range']).toBe(`bytes */${whole.length}`);
    const head = await raw(server.port, '/data/scan/0/0/0/0', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers['content-length']).toBe(String(whole.length));
    expect(head.headers['accept-ranges']).toBe('bytes');
    expect(head.body.length).toBe(0);
  });

  it('gives no file from outside the store and the bundle, whatever the path', async () => {
    const crafted = [
      '/data/scan/../secret.txt',
      '/data/scan/../../secret.txt',
      '/data/scan/0/../../secret.txt',
      '/data/scan/..%2fsecret.txt',
      '/data/scan/%2e%2e/secret.txt',
      '/data/scan/%2E%2E/%2E%2E/secret.txt',
      '/data/scan/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/data/scan/%252e%252e/secret.txt',
      '/data/scan/..%5csecret.txt',
      '/data/scan/..\\secret.txt',
      '/data/scan/%c0%ae%c0%ae/secret.txt',
      '/data/scan/secret.txt%00.zattrs',
      '/data/scan//etc/passwd',
      '//etc/passwd',
      `/${encodeURIComponent(join(dir, 'secret.txt'))}`,
      `/data/scan/${encodeURIComponent(join(dir, 'secret.txt'))}`,
      '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/..%2f..%2f..%2f..%2fetc%2fpasswd',
      '/etc/passwd',
      '/data/scan/secret-link',
      '/data/scan/dir-link/secret.txt',
      '/bundle-link.js',
      '/data/traits/notes.txt',
      '/data/traits/../secret.txt',
      '/data/traits/%2e%2e/secret.txt',
      '/data/seg/../../secret.txt',
      '/data/scan/C:%5cWindows%5cwin.ini',
      '/data/scan/.',
      '/data/scan',
      'http://127.0.0.1/etc/passwd',
    ];
    for (const path of crafted) {
      const r = await raw(server.port, path);
      expect([400, 403, 404], `${path} → ${r.status}`).toContain(r.status);
      expect(r.body.toString(), path).not.toContain(SECRET);
      expect(r.body.toString(), path).not.toMatch(/root:.*:0:0:/);
    }
  });

  it('refuses other methods, and Host names that are not loopback (DNS rebinding)', async () => {
    expect((await raw(server.port, '/data/scan/.zattrs', { method: 'POST' })).status).toBe(405);
    expect((await raw(server.port, '/data/scan/.zattrs', { method: 'PUT' })).status).toBe(405);
    expect((await raw(server.port, '/data/scan/.zattrs', { headers: { Host: 'attacker.example:80' } })).status).toBe(403);
    expect((await raw(server.port, '/data/scan/.zattrs', { headers: { Host: `localhost:${server.port}` } })).status).toBe(200);
  });

  it('sends CORS headers on the data only when asked', async () => {
    expect((await raw(server.port, '/data/scan/.zattrs')).headers['access-control-allow-origin']).toBeUndefined();
    const r = await raw(cors.port, '/data/scan/labels/roots/.zattrs');
    expect(r.status).toBe(200);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    const pre = await raw(cors.port, '/data/scan/0/0/0/0', {
      method: 'OPTIONS',
      headers: { Origin: 'http://elsewhere', 'Access-Control-Request-Headers': 'range' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-headers']).toMatch(/Range/);
    // A missing key must read as 404 from another origin too, not as a network error.
    const missing = await raw(cors.port, '/data/scan/zarr.json');
    expect(missing.status).toBe(404);
    expect(missing.headers['access-control-allow-origin']).toBe('*');
  });

  it('says clearly what is wrong with its input', async () => {
    await expect(startViewServer({ scan: fx.scan, port: 0, viewerDir: join(dir, 'nowhere') })).rejects.toThrow(ViewerNotBuiltError);
    await expect(startViewServer({ scan: fx.scan, port: 0, viewerDir: join(dir, 'nowhere') })).rejects.toThrow(/npm run build:viewer/);
    await expect(startViewServer({ scan: join(dir, 'missing.zarr'), port: 0, viewerDir })).rejects.toThrow(/missing\.zarr: no such file/);
    await expect(startViewServer({ scan: fx.scan, seg: fx.scan, port: 0, viewerDir })).rejects.toThrow(/labels\/roots/);
    await expect(startViewServer({ scan: fx.scan, traits: viewerDir, port: 0, viewerDir })).rejects.toThrow(
      /neither traits\.json nor roots\.vtp/,
    );
    await expect(startViewServer({ scan: fx.scan, port: server.port, viewerDir })).rejects.toThrow(/in use/);
    const s = await startViewServer({ scan: fx.scan, port: 0, viewerDir });
    expect(s.warnings.join()).toMatch(/no labels\/roots/);
    await s.close();
  });
});
