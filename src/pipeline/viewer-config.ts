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
}
