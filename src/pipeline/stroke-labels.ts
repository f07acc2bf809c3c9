import { openVolume } from '../io/open.js';
import { NotFoundError } from '../io/errors.js';
import { OmeZarrWriter } from '../io/zarr-write.js';
import { makeBox, type Point, wholeBox, type Vec3 } from '../volume/box.js';
import { StrokeLabels } from '../nn/train/annotations.js';

/** The label image annotation strokes are painted into (`rhizoct view`). */
export const ANNOTATION_LABEL = 'annotations';

/**
 * Reads a scan's `labels/annotations` (uint8: 0 unlabelled, 1 root, 2 not root) into sparse
 * stroke labels, slab by slab. Errors name the store and what is wrong: no such label image, a
 * shape other than the image's, another voxel type, a value other than 0, 1, 2.
 */
export async function readStrokeLabels(path: string, imageShape: Point): Promise<StrokeLabels> {
  const src = await openVolume(path, { label: ANNOTATION_LABEL }).catch((e: unknown) => {
    if (e instanceof NotFoundError)
      throw new Error(`${path}: no labels/${ANNOTATION_LABEL} to train on (paint root / not-root strokes in rhizoct view first)`);
    throw e;
  });
  try {
    if (src.shape.some((s, i) => s !== imageShape[i]))
      throw new Error(
        `${path}: labels/${ANNOTATION_LABEL} has shape [${src.shape.join(', ')}] but the image has [${imageShape.join(', ')}]`,
      );
    if (src.dtype !== 'uint8')
      throw new Error(`${path}: labels/${ANNOTATION_LABEL} holds ${src.dtype}; annotations are uint8 (0 unlabelled, 1 root, 2 not root)`);
    const labels = new StrokeLabels(`${path}/labels/${ANNOTATION_LABEL}`, [...src.shape] as Point);
    const [D, H, W] = src.shape;
    const slab = Math.max(1, Math.floor((16 << 20) / (H * W)));
    for (let z0 = 0; z0 < D; z0 += slab) {
      const d = Math.min(slab, D - z0);
      labels.addSlab(z0, d, await src.readBox(makeBox([z0, 0, 0], [d, H, W])));
    }
    return labels;
  } finally {
    await src.close();
  }
}

/**
 * Writes a whole `labels/annotations` (level 0 only, the scan's chunks), replacing any there: for
 * simulated annotators and tests; `rhizoct view` edits it chunk by chunk instead.
 */
export async function writeStrokeLabels(path: string, data: Uint8Array): Promise<void> {
  const image = await openVolume(path);
  await image.close();
  const [D, H, W] = image.shape;
  if (data.length !== D * H * W) throw new RangeError(`${path}: ${data.length} annotation voxels for an image of ${D}×${H}×${W}`);
  for (let i = 0; i < data.length; i++)
    if (data[i]! > 2) throw new RangeError(`${path}: annotation value ${data[i]} at voxel ${i}; annotations are 0, 1 or 2`);
  const meta = { shape: image.shape, dtype: 'uint8' as const, voxelSize: image.voxelSize, unit: image.unit, origin: image.origin };
  const chunk: Vec3 = image.chunkShape ?? [64, 64, 64];
  const w = await OmeZarrWriter.create(path, meta, {
    zarrFormat: 2,
    chunkShape: chunk,
    compression: { compression: 'blosc' },
    levelCount: 1,
    method: 'mode',
    label: ANNOTATION_LABEL,
    overwrite: true,
    colors: [
      { 'label-value': 1, rgba: [255, 40, 40, 255] },
      { 'label-value': 2, rgba: [40, 140, 255, 255] },
    ],
  });
  await w.writeLevelBox(0, wholeBox(image.shape), data);
  await w.finalize();
}
