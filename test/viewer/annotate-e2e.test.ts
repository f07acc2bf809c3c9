import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANNOTATION_LABEL } from '../../src/io/annotation-store.js';
import { openZarr } from '../../src/io/zarr-source.js';
import { CHROMIUM, haveChromium, launchChromium } from './browser.js';
import { makeFixture, render, SHAPE } from './fixture.js';

/**
 * The corrective-annotation loop end to end, as a person does it: `rhizoct view` on a scan its
 * base model gets wrong (the fixture's roots are darker than its soil, which the presets' roots are
 * not: models/presets finds none), mouse strokes on the three full-resolution slices → the label holds
 * them at exactly the voxels drawn → Segment (base) → Train (a tiny budget) → a model folder
 * appears → Segment → the overlay now finds root where the strokes said root. The screenshot of
 * the page is kept as docs/figures/annotate.png.
 */

const REPO = resolve(import.meta.dirname, '..', '..');
const ARTIFACTS = join(REPO, 'test-artifacts', 'viewer');
const TRAIN_STEPS = 4;
/** A base model that gets this fixture wrong (the default model, trained on varied soils, finds half its roots already). */
const PRESETS_MODEL = join(REPO, 'models', 'presets');

if (!haveChromium) console.warn(`test/viewer/annotate-e2e.test.ts: skipped: no Chromium at ${CHROMIUM}`);

function view(args: string[]): Promise<{ child: ChildProcess; url: string; output: string[] }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO, 'test/viewer/cli.ts'), 'view', ...args, '--port', '0', '--verbose'],
    { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`rhizoct view did not start:\n${output.join('')}`)), 60_000);
    child.stdout!.on('data', (b: Buffer) => {
      output.push(b.toString());
      const m = /viewer at (http:\/\/\S+)/.exec(output.join(''));
      if (m) {
        clearTimeout(timer);
        ok({ child, url: m[1]!, output });
      }
    });
    child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`rhizoct view exited (${code}):\n${output.join('')}`));
    });
  });
}

type V3 = [number, number, number];
const key = (v: V3): string => v.join(',');

describe.skipIf(!haveChromium)('annotating in Chromium: strokes → label → Train → Segment', () => {
  let dir: string;
  let scan: string;
  let models: string;
  let served: { child: ChildProcess; url: string; output: string[] };
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  /** The voxels the test painted, by value, as the label should hold them. */
  const expected = new Map<string, number>();

  const ev = <T>(f: string): Promise<T> => page.evaluate(f) as Promise<T>;
  const annot = 'window.rhizoctViewer.annotator()';

  /** Page coordinates of voxel v's centre on the plane along `axis`. */
  const at = async (axis: number, v: V3): Promise<[number, number]> => {
    const box = (await page.locator(`canvas.paint[data-axis="${axis}"]`).boundingBox())!;
    const [x, y] = await ev<[number, number]>(`${annot}.voxelToCanvas(${axis}, ${JSON.stringify(v)})`);
    return [box.x + x, box.y + y];
  };
  const drag = async (axis: number, from: V3, to: V3): Promise<void> => {
    const a = await at(axis, from);
    const b = await at(axis, to);
    await page.mouse.move(a[0], a[1]);
    await page.mouse.down();
    await page.mouse.move(b[0], b[1], { steps: 12 });
    await page.mouse.up();
    await ev(`${annot}.settled()`);
  };
  const cursor = (): Promise<V3> => ev<V3>(`${annot}.cursor`);
  const labelNonZero = async (): Promise<Map<string, number>> => {
    const src = await openZarr(scan, { label: ANNOTATION_LABEL });
    const all = await src.readBox({ offset: [0, 0, 0], shape: SHAPE });
    const out = new Map<string, number>();
    for (let i = 0; i < all.length; i++) {
      if (all[i]) out.set(key([Math.floor(i / (SHAPE[1] * SHAPE[2])), Math.floor(i / SHAPE[2]) % SHAPE[1], i % SHAPE[2]]), all[i]!);
    }
    return out;
  };
  const waitFor = async (what: string, test: () => Promise<boolean>, ms: number): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await test())) {
      if (Date.now() > end)
        throw new Error(
          `timed out waiting for ${what}; the page says: ${await page.locator('#job-status').textContent()}\n` +
            `the server says: ${await fetch(`${served.url}api/jobs`).then(
              (r) => r.text(),
              (e: Error) => e.message,
            )}\n` +
            served.output.join('').slice(-2000),
        );
      await new Promise((r) => setTimeout(r, 1000));
    }
  };

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'rhizoct-annotate-e2e-'));
    scan = (await makeFixture(join(dir, 'fx'))).scan;
    models = join(dir, 'models');
    served = await view([scan, '--models', models, '--model', PRESETS_MODEL]);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      // A missing chunk is the fill value (404 by design), and the probe for zarr.json of a v2 store.
      if (r.status() >= 400 && !/\/data\/.*\/(\d+|zarr\.json)$/.test(r.url())) problems.push(`HTTP ${r.status()} ${r.url()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    served?.child.kill('SIGTERM');
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('strokes on each plane land in labels/annotations at exactly the voxels drawn; undo and redo too', async () => {
    await page.goto(`${served.url}?trainSteps=${TRAIN_STEPS}`);
    expect(await ev<boolean>('window.rhizoctViewer.ready')).toBe(true);
    await page.keyboard.press('a');
    await waitFor('full-resolution slices', () => ev<boolean>(`${annot}.planes.every((p) => p.scan !== undefined)`), 30_000);
    // Move the cursor onto the vertical root (y 48, x 30) with shift+click on the z slice.
    const c0 = await cursor();
    const onRoot = await at(0, [c0[0], 48, 30]);
    await page.keyboard.down('Shift');
    await page.mouse.click(onRoot[0], onRoot[1]);
    await page.keyboard.up('Shift');
    await waitFor('the cursor', async () => key(await cursor()) === key([c0[0], 48, 30]), 10_000);
    const [kz, ky, kx] = await cursor();
    await waitFor(
      'slices at the cursor',
      () => ev<boolean>(`${annot}.planes.every((p, a) => p.k === ${annot}.cursor[a] && p.scan)`),
      20_000,
    );

    // Radius 0 (two presses of '['): single-voxel lines, so the expected voxels are exact.
    await page.keyboard.press('[');
    await page.keyboard.press('[');
    expect(await ev<number>(`${annot}.radius`)).toBe(0);
    // Root on the x slice (z–y plane) down the vertical root's axis, z 8 → 56.
    await page.keyboard.press('1');
    await drag(2, [8, ky, kx], [56, ky, kx]);
    for (let z = 8; z <= 56; z++) expected.set(key([z, ky, kx]), 1);
    // Root on the y slice (z–x plane) along the lateral root (z 40), x 40 → 95.
    await drag(1, [40, ky, 40], [40, ky, 95]);
    for (let x = 40; x <= 95; x++) expected.set(key([40, ky, x]), 1);
    // Not root on the z slice (y–x plane) through soil, y 10 → 35 at x 60.
    await page.keyboard.press('2');
    await drag(0, [kz, 10, 60], [kz, 35, 60]);
    for (let y = 10; y <= 35; y++) expected.set(key([kz, y, 60]), 2);
    // And on the x slice, beside the root: y 5 → 30 at z 20.
    await drag(2, [20, 5, kx], [20, 30, kx]);
    for (let y = 5; y <= 30; y++) expected.set(key([20, y, kx]), 2);
    expect(await labelNonZero()).toEqual(expected);

    // Erase part of the last stroke, undo the erasing, redo it.
    await page.keyboard.press('e');
    await drag(2, [20, 5, kx], [20, 12, kx]);
    const erased = new Map(expected);
    for (let y = 5; y <= 12; y++) erased.delete(key([20, y, kx]));
    expect(await labelNonZero()).toEqual(erased);
    await page.keyboard.press('Control+z');
    await ev(`${annot}.settled()`);
    expect(await labelNonZero()).toEqual(expected);
    await page.keyboard.press('Control+Shift+z');
    await ev(`${annot}.settled()`);
    expect(await labelNonZero()).toEqual(erased);
    await page.keyboard.press('Control+z');
    await ev(`${annot}.settled()`);
    expect(await labelNonZero()).toEqual(expected);

    // A wide root brush across the vertical root on the z slice: a disc of radius 3 voxels.
    await page.keyboard.press('1');
    for (let i = 0; i < 3; i++) await page.keyboard.press(']');
    await drag(0, [kz, 48, 30], [kz, 48, 30]);
    const disc = [...(await labelNonZero()).entries()].filter(([k, v]) => v === 1 && k.startsWith(`${kz},`));
    expect(disc.length).toBeGreaterThanOrEqual(25);
    for (const [k] of disc) {
      const [, y, x] = k.split(',').map(Number) as V3;
      expect(Math.hypot(y - 48, x - 30), k).toBeLessThanOrEqual(3.01);
    }

    // Reopened, the page shows them again: the strokes are in the slices it reads.
    await page.reload();
    expect(await ev<boolean>('window.rhizoctViewer.ready')).toBe(true);
    await page.keyboard.press('a');
    await page.evaluate(`window.rhizoctViewer.annotator().setCursor([${kz}, ${ky}, ${kx}])`);
    const shown = await ev<number[]>(`Array.from(${annot}.planes[2].ann)`);
    const onDisk = new Array<number>(SHAPE[0] * SHAPE[1]).fill(0);
    for (const [k, v] of await labelNonZero()) {
      const [z, y, x] = k.split(',').map(Number) as V3;
      if (x === kx) onDisk[z * SHAPE[1] + y] = v;
    }
    expect(shown).toEqual(onDisk);
    expect(shown.filter((v) => v === 1).length).toBeGreaterThan(49);
    expect(problems).toEqual([]);
  }, 180_000);

  it('Segment, Train, Segment: a model folder appears and the overlay finds root where the strokes said so', async () => {
    const { mask } = render();
    const strokes = [...(await labelNonZero()).entries()].map(([k, v]) => ({ v: k.split(',').map(Number) as V3, value: v }));
    const segRootAt = async (path: string): Promise<{ rootOnRoot: number; rootOnNot: number }> => {
      const src = await openZarr(path, { label: 'roots' });
      const m = await src.readBox({ offset: [0, 0, 0], shape: SHAPE });
      let rootOnRoot = 0;
      let rootOnNot = 0;
      for (const s of strokes) {
        const i = (s.v[0] * SHAPE[1] + s.v[1]) * SHAPE[2] + s.v[2];
        if (m[i] && s.value === 1) rootOnRoot++;
        if (m[i] && s.value === 2) rootOnNot++;
      }
      return { rootOnRoot, rootOnNot };
    };
    // The strokes are true: root strokes lie on the fixture's roots, not-root strokes off them.
    for (const s of strokes) expect(mask[(s.v[0] * SHAPE[1] + s.v[1]) * SHAPE[2] + s.v[2]], key(s.v)).toBe(s.value === 1 ? 1 : 0);

    // Segment runs over the region in view by default; the fitted slices show the whole of this small scan.
    expect(await page.locator('#segment-scope').inputValue()).toBe('view');
    expect(await page.locator('#segment-region').textContent()).toMatch(
      /^Region in view .*: z 0–63, y 0–95, x 0–111 \(64×96×112 voxels\); segments the 4 chunks of 64³ it meets/,
    );
    await page.locator('#segment').click();
    await waitFor(
      'Segment with the base model',
      async () => /Segmented with base/.test((await page.locator('#job-status').textContent()) ?? ''),
      240_000,
    );
    expect(await page.locator('#job-status').textContent()).toContain('Segmented with base (region z 0–63, y 0–95, x 0–111)');
    const before = await segRootAt(join(models, 'base.segmentation.zarr'));

    const name = await page.locator('#model-name').inputValue();
    expect(name).toMatch(/^scan-annotated-1$/);
    await page.locator('#train').click();
    await waitFor(
      'training to start',
      async () => /Train(ing|ed) scan-annotated-1/.test((await page.locator('#job-status').textContent()) ?? ''),
      30_000,
    );
    // Painting goes on while it trains.
    await drag(0, [await cursor().then((c) => c[0]), 80, 100], [await cursor().then((c) => c[0]), 80, 100]);
    await waitFor(
      'training to end',
      async () => /Trained scan-annotated-1/.test((await page.locator('#job-status').textContent()) ?? ''),
      480_000,
    );
    const status = (await page.locator('#job-status').textContent()) ?? '';
    expect(status).toMatch(new RegExp(`step ${TRAIN_STEPS}/${TRAIN_STEPS}, loss \\d\\.\\d{3}, held-out Dice \\d\\.\\d{3}`));
    expect(existsSync(join(models, name, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(models, name, 'card.json'))).toBe(true);

    await page.locator('#segment').click();
    await waitFor(
      'Segment with the new model',
      async () => new RegExp(`Segmented with ${name}`).test((await page.locator('#job-status').textContent()) ?? ''),
      240_000,
    );
    const after = await segRootAt(join(models, name, 'segmentation.zarr'));
    // The page's overlay is the new segmentation: its slices show root on the stroked root.
    await waitFor(
      'the new overlay',
      () => ev<boolean>(`${annot}.planes[2].mask !== undefined && ${annot}.planes[2].mask.data.some((v) => v > 0)`),
      30_000,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'annotate.png') });
    // The README's screenshot is refreshed on request only, so a test run leaves the checkout clean.
    if (process.env.RHIZOCT_FIGURES === '1') await copyFile(join(ARTIFACTS, 'annotate.png'), join(REPO, 'docs', 'figures', 'annotate.png'));
    console.log(
      `root strokes called root: base ${before.rootOnRoot}, fine-tuned ${after.rootOnRoot} of ${strokes.filter((s) => s.value === 1).length}; not-root strokes called root: base ${before.rootOnNot}, fine-tuned ${after.rootOnNot}`,
    );
    expect(after.rootOnRoot).toBeGreaterThan(before.rootOnRoot);
    expect(problems).toEqual([]);
  }, 900_000);
});
