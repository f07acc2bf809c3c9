import { writeFile } from 'node:fs/promises';
import type * as zarr from 'zarrita';
import type { VolumeMeta } from '../io/volume.js';
import { buildMultiscale, type LabelColor, labelImageAttributes, labelsGroupAttributes } from '../io/ome-ngff.js';
import { OmeZarrWriter, type OmeZarrWriteOptions } from '../io/zarr-write.js';
import { AtomicFileStore } from '../io/zarr-store.js';

/**
 * ADAPTER (to be replaced by an io/ feature): an OME-Zarr image and its label image written
 * in the same single pass. io/zarr-write's OmeZarrWriter adds labels only to an image that
 * is already complete, so the generator would have to render twice. Here the label volume is
 * written as a plain image into `<image>.partial/labels/<name>` (the image writer's working
 * folder, which OmeZarrWriter names `PATH.partial`), its attributes are then rewritten as a
 * label image's, extra files (the RSML) are added, and finally the image itself is finalized,
 * which renames the whole folder into place. Until then nothing looks complete.
 */
export class ImageWithLabel {
  private constructor(
    readonly image: OmeZarrWriter,
    readonly label: OmeZarrWriter,
    private readonly path: string,
    private readonly labelName: string,
    private readonly colors: LabelColor[],
  ) {}

  static async create(
    path: string,
    imageMeta: VolumeMeta,
    labelMeta: VolumeMeta,
    opts: OmeZarrWriteOptions,
    labelName: string,
    labelOpts: { method: OmeZarrWriteOptions['method']; colors: LabelColor[]; provenance?: Record<string, unknown> },
  ): Promise<ImageWithLabel> {
    const image = await OmeZarrWriter.create(path, imageMeta, opts);
    const { provenance: _p, ...rest } = opts;
    const label = await OmeZarrWriter.create(`${partialDir(path)}/labels/${labelName}`, labelMeta, {
      ...rest,
      name: labelName,
      method: labelOpts.method,
      overwrite: true,
      ...(labelOpts.provenance ? { provenance: labelOpts.provenance } : {}),
    });
    return new ImageWithLabel(image, label, path, labelName, labelOpts.colors);
  }

  /** Adds a file (e.g. the RSML) at `name` inside the image folder. */
  async addFile(name: string, text: string): Promise<void> {
    await writeFile(`${partialDir(this.path)}/${name}`, text);
  }

  async finalize(): Promise<void> {
    await this.label.finalize();
    const store = new AtomicFileStore(partialDir(this.path));
    const v = this.image.ngffVersion;
    const ms = buildMultiscale(v, {
      name: this.labelName,
      unit: this.label.meta.unit,
      voxelSize: this.label.meta.voxelSize,
      origin: this.label.meta.origin,
      levelCount: this.label.opts.levelCount,
      method: this.label.opts.method,
    });
    const prov = this.label.opts.provenance ? { rhizoct: this.label.opts.provenance } : {};
    await writeGroup(store, this.image.opts.zarrFormat, `labels/${this.labelName}`, labelImageAttributes(v, ms, this.colors, prov));
    await writeGroup(store, this.image.opts.zarrFormat, 'labels', labelsGroupAttributes(v, [this.labelName]));
    await this.image.finalize();
  }

  async abort(): Promise<void> {
    await this.label.abort().catch(() => undefined);
    await this.image.abort();
  }
}

function partialDir(path: string): string {
  return `${path}.partial`;
}

function jsonBytes(o: unknown): Uint8Array {
  const text = JSON.stringify(o, null, 2).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return new TextEncoder().encode(`${text}\n`);
}

async function writeGroup(store: AtomicFileStore, fmt: 2 | 3, key: string, attrs: Record<string, unknown>): Promise<void> {
  if (fmt === 2) {
    await store.set(`/${key}/.zgroup` as zarr.AbsolutePath, jsonBytes({ zarr_format: 2 }));
    await store.set(`/${key}/.zattrs` as zarr.AbsolutePath, jsonBytes(attrs));
  } else {
    await store.set(`/${key}/zarr.json` as zarr.AbsolutePath, jsonBytes({ zarr_format: 3, node_type: 'group', attributes: attrs }));
  }
}
