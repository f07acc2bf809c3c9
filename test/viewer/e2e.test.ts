import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decode } from 'fast-png';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, haveChromium, launchChromium } from './browser.js';
import { type Fixture, makeFixture, ROOTS } from './fixture.js';

/**
 * `rhizoct view` end to end: the real command serves a synthetic scan, its segmentation and traits;
 * Debian's Chromium renders the page with WebGL2 on SwiftShader; the tests look at the pixels.
 * Screenshots are kept under test-artifacts/viewer/.
 */

const REPO = resolve(import.meta.dirname, '..', '..');
const ARTIFACTS = join(REPO, 'test-artifacts', 'viewer');

if (!haveChromium)
  console.warn(`test/viewer/e2e.test.ts: skipped: no Chromium at ${CHROMIUM} (apt-get install chromium, or set RHIZOCT_CHROMIUM)`);

interface Served {
  child: ChildProcess;
  url: string;
  output: string[];
}

/** Starts `rhizoct view ARGS --port 0` and waits for the URL it prints. */
function view(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'test/viewer/cli.ts'), 'view', ...args, '--port', '0'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`rhizoct view did not start:\n${output.join('')}`)), 60_000);
    const onData = (b: Buffer): void => {
      output.push(b.toString());
      const m = /viewer at (http:\/\/\S+)/.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        ok({ child, url: m[1]!, output });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`rhizoct view exited (${code}):\n${output.join('')}`));
    });
  });
}

interface Rgba {
  width: number;
  height: number;
  at(x: number, y: number): [number, number, number];
}

function png(buf: Buffer): Rgba {
  const img = decode(buf);
  const ch = img.channels;
  return {
    width: img.width,
    height: img.height,
    at: (x, y) => {
      const i = (Math.round(y) * img.width + Math.round(x)) * ch;
      return [img.data[i]!, img.data[i + 1]!, img.data[i + 2]!];
    },
  };
}

/** The orange of labels/roots (255, 128, 0), shaded or blended with grey: red over green over blue. */
function isRootColour([r, g, b]: [number, number, number]): boolean {
  return r > 1.25 * g && g > 1.3 * b && g >= 20;
}

function countRoot(img: Rgba): number {
  let n = 0;
  for (let y = 0; y < img.height; y++) for (let x = 0; x < img.width; x++) if (isRootColour(img.at(x, y))) n++;
  return n;
}

function differingPixels(a: Rgba, b: Rgba): number {
  let n = 0;
  for (let y = 0; y < a.height; y++) {
    for (let x = 0; x < a.width; x++) {
      const p = a.at(x, y);
      const q = b.at(x, y);
      if (Math.abs(p[0] - q[0]) + Math.abs(p[1] - q[1]) + Math.abs(p[2] - q[2]) > 30) n++;
    }
  }
  return n;
}

/** Whether a root-coloured pixel lies within `r` pixels of (x, y). */
function rootNear(img: Rgba, x: number, y: number, r = 3): boolean {
  for (let dy = -r; dy <= r; dy++)
    for (let dx = -r; dx <= r; dx++)
      if (isRootColour(img.at(Math.min(img.width - 1, Math.max(0, x + dx)), Math.min(img.height - 1, Math.max(0, y + dy))))) return true;
  return false;
}

describe.skipIf(!haveChromium)('rhizoct view in Chromium (SwiftShader WebGL2)', () => {
  let dir: string;
  let fx: Fixture;
  let main: Served;
  let remote: Served;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const shot = async (selector: string, name: string): Promise<Rgba> => {
    await page.evaluate(() => (window as unknown as { rhizoctViewer: { renderNow(): void } }).rhizoctViewer.renderNow());
    const buf = await page.locator(`${selector} canvas`).first().screenshot();
    await writeFile(join(ARTIFACTS, `${name}.png`), buf);
    return png(buf);
  };
  const state = (p: Page = page) =>
    p.evaluate(() => (window as unknown as { rhizoctViewer: { state(): Record<string, unknown> } }).rhizoctViewer.state());

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'rhizoct-view-e2e-'));
    fx = await makeFixture(dir);
    [main, remote] = await Promise.all([view([fx.scan, '--seg', fx.seg, '--traits', fx.traits]), view([fx.labelled, '--cors'])]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    for (const s of [main, remote]) s?.child.kill('SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('loads the scan, coarsest level first, without console errors', async () => {
    expect(main.output.join('')).toMatch(/scan .*scan\.zarr: uint16, levels 64×96×112, 32×48×56, 16×24×28/);
    await page.goto(main.url);
    const ok = await page.evaluate(() => (window as unknown as { rhizoctViewer: { ready: Promise<boolean> } }).rhizoctViewer.ready);
    const s = await state();
    expect(s.errors).toEqual([]);
    expect(ok).toBe(true);
    expect(problems).toEqual([]);
    // Level 2 (16×24×28) first, then level 0, which fits SwiftShader's 3D textures.
    expect(s.levelsShown).toEqual([2, 0]);
    expect(s.firstRenderMs).toBeLessThan(20_000);
    expect(s.unit).toBe('millimeter');
    expect(await page.locator('#status').textContent()).toMatch(/^Ready/);
    expect(await page.locator('#traits').textContent()).toMatch(/root count\s*3/);
    expect(s.surfaceColorings).toEqual(expect.arrayContaining(['diameter (mm)', 'depth (mm)']));
    await page.screenshot({ path: join(ARTIFACTS, 'page.png') });
  });

  it('renders the root surface where the roots are and background elsewhere', async () => {
    await page.locator('#show-volume').uncheck();
    await page.locator('#surface-source').selectOption('mask');
    await page.locator('#surface-color').selectOption('');
    await page.locator('[data-camera="front"]').click();
    const img = await shot('#view3d', 'surface-front');
    const toPixel = (p: [number, number, number]) =>
      page.evaluate(
        ([x, y, z]) =>
          (
            window as unknown as { rhizoctViewer: { worldToPixel(x: number, y: number, z: number): [number, number] } }
          ).rhizoctViewer.worldToPixel(x, y, z),
        p,
      );
    for (const [i, r] of ROOTS.entries()) {
      for (const t of [0.15, 0.3, 0.5, 0.7, 0.85]) {
        const w: [number, number, number] = [0, 1, 2].map((k) => r.a[k]! + t * (r.b[k]! - r.a[k]!)) as [number, number, number];
        const [px, py] = await toPixel(w);
        expect(rootNear(img, px, py), `root ${i} at t=${t}: pixel (${px.toFixed(0)}, ${py.toFixed(0)})`).toBe(true);
      }
    }
    // Between the two vertical roots and above the lateral one there is no root: background only.
    const [x0, y0] = await toPixel([3.65, 2.5, 0.8]);
    const [x1, y1] = await toPixel([4.95, 2.5, 2.2]);
    const bg = img.at(5, img.height - 5);
    let other = 0;
    for (let y = Math.ceil(Math.min(y0, y1)); y < Math.max(y0, y1); y++) {
      for (let x = Math.ceil(Math.min(x0, x1)); x < Math.max(x0, x1); x++) {
        const p = img.at(x, y);
        if (Math.abs(p[0] - bg[0]) + Math.abs(p[1] - bg[1]) + Math.abs(p[2] - bg[2]) > 12) other++;
      }
    }
    expect(Math.abs(x1 - x0) * Math.abs(y1 - y0)).toBeGreaterThan(2000);
    expect(other).toBe(0);
    expect(countRoot(img)).toBeGreaterThan(2000);
    // The traits mesh lies on the same roots.
    await page.locator('#surface-source').selectOption('mesh');
    const mesh = await shot('#view3d', 'surface-front-traits-mesh');
    const [mx, my] = await toPixel([ROOTS[2]!.a[0], ROOTS[2]!.a[1], 2]);
    expect(rootNear(mesh, mx, my)).toBe(true);
    await page.locator('#surface-source').selectOption('mask');
  });

  it('toggling the surface changes the image', async () => {
    const on = await shot('#view3d', 'surface-on');
    await page.locator('#show-surface').uncheck();
    const off = await shot('#view3d', 'surface-off');
    expect(countRoot(on)).toBeGreaterThan(2000);
    expect(countRoot(off)).toBeLessThan(20);
    expect(differingPixels(on, off)).toBeGreaterThan(2000);
    await page.locator('#show-surface').check();
    expect(countRoot(await shot('#view3d', 'surface-on-again'))).toBeGreaterThan(2000);
  });

  it('moving a slice slider changes the slice and its overlay', async () => {
    const before = await shot('#view-z', 'slice-z-before');
    const k0 = Number(/\((\d+)\/64\)/.exec((await page.locator('#slice-z-val').textContent()) ?? '')![1]) - 1;
    // Keyboard steps, as a person would, to slice 40: the plane of the lateral root.
    await page.locator('#slice-z').focus();
    for (let k = k0; k < 40; k++) await page.keyboard.press('ArrowRight');
    for (let k = k0; k > 40; k--) await page.keyboard.press('ArrowLeft');
    expect(await page.locator('#slice-z-val').textContent()).toMatch(/\(41\/64\)/);
    const after = await shot('#view-z', 'slice-z-after');
    expect(differingPixels(before, after)).toBeGreaterThan(1000);
    // Before: two root cross-sections; after: the lateral root along x as well.
    const nb = countRoot(before);
    const na = countRoot(after);
    expect(nb).toBeGreaterThan(30);
    expect(na).toBeGreaterThan(1.5 * nb);
    // The 3D view's slice planes follow.
    await page.locator('#show-slices3d').check();
    await page.locator('#show-volume').check();
    await page.locator('[data-camera="3d"]').click();
    await shot('#view3d', '3d-with-planes');
    await page.screenshot({ path: join(ARTIFACTS, 'page-planes.png') });
    await page.locator('#show-slices3d').uncheck();
  });

  it('has CT presets and an editable opacity ramp', async () => {
    type Pts = [number, number][];
    const before = (await state()).opacity as Pts;
    const ramp = page.locator('#ramp');
    const box = (await ramp.boundingBox())!;
    // Double-click empty space high in the middle: a new point; drag it to the bottom: opacity 0.
    await ramp.dblclick({ position: { x: box.width * 0.55, y: box.height * 0.15 } });
    const added = (await state()).opacity as Pts;
    expect(added.length).toBe(before.length + 1);
    const i = added.findIndex((p) => !before.some((q) => q[0] === p[0]));
    expect(added[i]![1]).toBeGreaterThan(0.6);
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.15);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.95, { steps: 4 });
    await page.mouse.up();
    expect(((await state()).opacity as Pts)[i]![1]).toBe(0);
    await page.locator('#preset').selectOption('MIP');
    expect(((await state()).opacity as Pts).length).toBe(2);
    await page.locator('#preset').selectOption('CT soil');
    expect((await state()).opacity as Pts).toEqual(before);
  });

  it('saves a screenshot of the 3D view as PNG', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#screenshot').click()]);
    expect(download.suggestedFilename()).toBe('scan.zarr-view.png');
    const file = join(ARTIFACTS, 'download.png');
    await download.saveAs(file);
    const img = png(await readFile(file));
    const box = (await page.locator('#view3d canvas').boundingBox())!;
    expect(img.width).toBe(Math.round(box.width));
    expect(countRoot(img)).toBeGreaterThan(500);
    expect(problems).toEqual([]);
  });

  it('reduces what exceeds the voxel budget (?maxVoxels=): a coarser level, the one-level mask by block maxima', async () => {
    const p3 = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const errors: string[] = [];
    p3.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await p3.goto(`${main.url}?maxVoxels=60000`);
    const ok = await p3.evaluate(() => (window as unknown as { rhizoctViewer: { ready: Promise<boolean> } }).rhizoctViewer.ready);
    const s = await state(p3);
    expect(s.errors).toEqual([]);
    expect(ok).toBe(true);
    expect(errors).toEqual([]);
    // uint16 halves the budget to 30,000 voxels: level 2 (16×24×28) only. The mask has one level
    // of 64×96×112 voxels: read as maxima of 4³ blocks.
    expect(s.levelsShown).toEqual([2]);
    expect(s.maskLevel).toBe(0);
    expect(s.maskFactor).toBe(4);
    await p3.locator('#surface-source').selectOption('mask');
    expect((await state(p3)).surfacePoints as number).toBeGreaterThan(100);
    await p3.screenshot({ path: join(ARTIFACTS, 'reduced.png') });
    await p3.close();
  });

  it('reads an OME-Zarr from another origin (CORS), its labels inside it', async () => {
    const p2 = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const failed: string[] = [];
    const errors: string[] = [];
    p2.on('response', (r) => {
      if (r.status() >= 400) failed.push(r.url());
    });
    p2.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    const storeUrl = `${remote.url}data/scan`;
    expect(new URL(storeUrl).origin).not.toBe(new URL(main.url).origin);
    await p2.goto(`${main.url}?scan=${encodeURIComponent(storeUrl)}`);
    const ok = await p2.evaluate(() => (window as unknown as { rhizoctViewer: { ready: Promise<boolean> } }).rhizoctViewer.ready);
    const s = await state(p2);
    expect(s.errors).toEqual([]);
    expect(ok).toBe(true);
    expect(s.levelsShown).toEqual([1, 0]);
    expect(s.maskLevel).toBe(0);
    expect(s.surfacePoints as number).toBeGreaterThan(1000);
    // Without the server's hint the page probes for Zarr v3 metadata first: that 404 is all.
    expect(
      failed.every((u) => u.endsWith('/zarr.json')),
      failed.join(', '),
    ).toBe(true);
    expect(
      errors.every((e) => /404/.test(e)),
      errors.join('\n'),
    ).toBe(true);
    await p2.screenshot({ path: join(ARTIFACTS, 'remote.png') });
    await p2.close();
  });
});
