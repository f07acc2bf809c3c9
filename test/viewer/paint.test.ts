import { describe, expect, it } from 'vitest';
import {
  type Axis,
  brushLine,
  cellsToVoxels,
  fitView,
  pan,
  planeAxes,
  planeToVoxel,
  screenToPlane,
  screenToVoxel,
  type Vec3,
  voxelToScreen,
  zoomAt,
} from '../../viewer/src/paint-geometry.js';
import { StrokeHistory, undoEdits } from '../../viewer/src/stroke-history.js';
import { describeJobs } from '../../viewer/src/annotate-panel.js';

/** Anisotropic on purpose, and with no two sides alike, so a swapped axis cannot pass. */
const SHAPE: Vec3 = [20, 30, 50];
const SPACING: Vec3 = [0.5, 0.2, 0.1];

describe('paint geometry: screen ↔ voxel on the three planes', () => {
  it('names rows and columns per plane: z slice y×x, y slice z×x, x slice z×y', () => {
    expect(planeAxes(0)).toEqual([1, 2]);
    expect(planeAxes(1)).toEqual([0, 2]);
    expect(planeAxes(2)).toEqual([0, 1]);
    expect(planeToVoxel(0, 7, 3, 4)).toEqual([7, 3, 4]);
    expect(planeToVoxel(1, 7, 3, 4)).toEqual([3, 7, 4]);
    expect(planeToVoxel(2, 7, 3, 4)).toEqual([3, 4, 7]);
  });

  it('draws voxels with their physical aspect, the slice centred and inside the canvas', () => {
    for (const axis of [0, 1, 2] as Axis[]) {
      const v = fitView(axis, SHAPE, SPACING, 640, 480);
      const [r, c] = planeAxes(axis);
      const w = SHAPE[c] * SPACING[c] * v.scale;
      const h = SHAPE[r] * SPACING[r] * v.scale;
      expect(w).toBeLessThanOrEqual(640);
      expect(h).toBeLessThanOrEqual(480);
      expect(v.left + w / 2).toBeCloseTo(320, 6);
      expect(v.top + h / 2).toBeCloseTo(240, 6);
      // One voxel step along the row axis moves spacing[row] / spacing[col] times a column step.
      const a = voxelToScreen(v, planeToVoxel(axis, 0, 0, 0));
      const down = voxelToScreen(v, planeToVoxel(axis, 0, 1, 0));
      const right = voxelToScreen(v, planeToVoxel(axis, 0, 0, 1));
      expect((down[1] - a[1]) / (right[0] - a[0])).toBeCloseTo(SPACING[r] / SPACING[c], 9);
      expect(down[0]).toBeCloseTo(a[0], 9);
      expect(right[1]).toBeCloseTo(a[1], 9);
    }
  });

  it('every voxel of every plane maps to its pixel and back, zoomed and panned, anywhere inside it', () => {
    for (const axis of [0, 1, 2] as Axis[]) {
      let v = fitView(axis, SHAPE, SPACING, 700, 500);
      v = pan(zoomAt(v, 123, 77, 3.7), -41, 19);
      const [r, c] = planeAxes(axis);
      const k = 5 + axis;
      for (let row = 0; row < SHAPE[r]; row += 3) {
        for (let col = 0; col < SHAPE[c]; col += 7) {
          const voxel = planeToVoxel(axis, k, row, col);
          const [px, py] = voxelToScreen(v, voxel);
          expect(screenToVoxel(v, k, px, py)).toEqual(voxel);
          // Just inside the voxel's corners (a pixel is 3.7× a fitted pixel here).
          const hw = 0.49 * SPACING[c] * v.scale;
          const hh = 0.49 * SPACING[r] * v.scale;
          for (const [dx, dy] of [
            [-hw, -hh],
            [hw, hh],
            [hw, -hh],
          ])
            expect(screenToVoxel(v, k, px + dx!, py + dy!)).toEqual(voxel);
        }
      }
      const [x0, y0] = voxelToScreen(v, planeToVoxel(axis, k, 0, 0));
      expect(screenToVoxel(v, k, x0 - SPACING[c] * v.scale, y0)).toBeUndefined();
      expect(screenToVoxel(v, k, x0, y0 - SPACING[r] * v.scale)).toBeUndefined();
    }
  });

  it('zooming keeps the point under the cursor fixed', () => {
    const v = fitView(1, SHAPE, SPACING, 400, 300);
    const before = screenToPlane(v, 210, 133);
    const after = screenToPlane(zoomAt(v, 210, 133, 2.5), 210, 133);
    expect(after[0]).toBeCloseTo(before[0], 9);
    expect(after[1]).toBeCloseTo(before[1], 9);
  });
});

describe('paint geometry: the brush', () => {
  const decode = (axis: Axis, cells: number[]): string[] => {
    const cols = SHAPE[planeAxes(axis)[1]];
    return cells.map((c) => `${Math.floor(c / cols)},${c % cols}`).sort();
  };

  it('radius 0 paints exactly the voxels a straight line passes', () => {
    const v = { axis: 0 as Axis, shape: SHAPE, spacing: SPACING };
    expect(decode(0, brushLine(v, [4.5, 2.5], [4.5, 9.5], 0))).toEqual(Array.from({ length: 8 }, (_, i) => `4,${i + 2}`).sort());
    expect(decode(0, brushLine(v, [1.5, 3.5], [6.5, 3.5], 0))).toEqual(Array.from({ length: 6 }, (_, i) => `${i + 1},3`).sort());
    expect(brushLine(v, [4.5, 2.5], [4.5, 2.5], 0)).toEqual([4 * 50 + 2]);
  });

  it('a disc is round in physical units: on a y slice (0.5 × 0.1 voxels) it spans 5× more columns than rows', () => {
    const v = { axis: 1 as Axis, shape: SHAPE, spacing: SPACING };
    // Radius 5 voxels of the finer axis = 0.5 units: ±1 row (0.5 each), ±5 columns (0.1 each).
    const cells = decode(1, brushLine(v, [10.5, 25.5], [10.5, 25.5], 5));
    const rows = new Set(cells.map((s) => Number(s.split(',')[0])));
    const cols = new Set(cells.map((s) => Number(s.split(',')[1])));
    expect([...rows].sort((a, b) => a - b)).toEqual([9, 10, 11]);
    expect([...cols].sort((a, b) => a - b)).toEqual([20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    // Round: the centre row spans more than the rows beside it.
    expect(cells.filter((s) => s.startsWith('10,')).length).toBeGreaterThan(cells.filter((s) => s.startsWith('9,')).length);
  });

  it('stays inside the slice at its edges', () => {
    for (const axis of [0, 1, 2] as Axis[]) {
      const v = { axis, shape: SHAPE, spacing: SPACING };
      const [r, c] = planeAxes(axis);
      for (const cell of brushLine(v, [0.2, 0.2], [SHAPE[r] - 0.2, SHAPE[c] - 0.2], 4)) {
        expect(cell).toBeGreaterThanOrEqual(0);
        expect(cell).toBeLessThan(SHAPE[r] * SHAPE[c]);
      }
    }
  });

  it('cells become z, y, x voxels of the slice', () => {
    expect(cellsToVoxels({ axis: 0, shape: SHAPE }, 7, [3 * 50 + 4])).toEqual([7, 3, 4]);
    expect(cellsToVoxels({ axis: 1, shape: SHAPE }, 7, [3 * 50 + 4])).toEqual([3, 7, 4]);
    expect(cellsToVoxels({ axis: 2, shape: SHAPE }, 7, [3 * 30 + 4])).toEqual([3, 4, 7]);
  });
});

describe('undo and redo of strokes', () => {
  it('undo writes back what each voxel held, grouped by value; a new stroke clears redo', () => {
    const h = new StrokeHistory();
    const s = { voxels: [1, 2, 3, 4, 5, 6, 7, 8, 9], value: 1, previous: [0, 2, 0] };
    h.push(s);
    expect(h.canUndo).toBe(true);
    expect(undoEdits(h.undo()!)).toEqual([
      { value: 0, voxels: [1, 2, 3, 7, 8, 9] },
      { value: 2, voxels: [4, 5, 6] },
    ]);
    expect(h.canRedo).toBe(true);
    expect(h.redo()).toBe(s);
    h.undo();
    h.push({ voxels: [0, 0, 0], value: 2, previous: [0] });
    expect(h.canRedo).toBe(false);
  });

  it('describes training progress for the page', () => {
    const text = describeJobs({
      train: { name: 'm1', phase: 'running', step: 12, steps: 40, loss: 0.3123, valDice: 0.8, bestDice: 0.85, epochs: [], seconds: 75 },
      models: ['m0'],
      current: 'm0',
    });
    expect(text).toContain('Training m1: step 12/40, loss 0.312, held-out Dice 0.800 (best 0.850), 1:15');
    expect(text).toContain('Segment uses: m0');
  });
});
