/**
 * The shape of /config.json, which `rhizoct view` writes and the browser page (viewer/src) reads.
 * Types only, importing nothing, so the page's bundle can share them without pulling in Node.
 */

/** A store the page opens: a URL relative to the page (served here) or absolute (elsewhere). */
export interface StoreRef {
  url: string;
  /** Shown to the user; the server names every store, URL parameters do not. */
  name?: string;
  /** 2 or 3 when known, so the page opens the right metadata without probing (no 404s). */
  zarrFormat?: 2 | 3;
  /** Label images under labels/, when known. */
  labels?: string[];
}

/** What /config.json tells the page. URL parameters of the page override it. */
export interface ViewerConfig {
  title: string;
  scan: StoreRef;
  seg?: StoreRef;
  traits?: { json?: string; mesh?: string };
  /** Largest number of voxels the page loads into one 3D texture. */
  maxVoxels?: number;
  /** Present when the page may paint annotations into the scan's store (local stores only). */
  annotate?: AnnotateConfig;
}

/** What the page needs to paint and to run the loop; the token goes in every write's header. */
export interface AnnotateConfig {
  token: string;
  /** Header the token travels in. */
  header: string;
  /** The label image painted, under the scan's labels/. */
  label: string;
  /** Whether the label exists yet (else the page starts from all 0). */
  exists: boolean;
  /** Train and Segment are offered. */
  jobs: boolean;
  /** The base model, as given to --model; models are saved under `modelsDir`. */
  baseModel?: string;
  modelsDir?: string;
}
