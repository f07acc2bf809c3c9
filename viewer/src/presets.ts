/**
 * Transfer-function presets for CT of soil and roots, and small colour maps. Positions are
 * fractions of the display range [lo, hi] (by default the 0.5th and 99.5th percentiles of the
 * scan), so one preset suits uint8 and uint16 scans alike.
 */

/** [t, r, g, b], t in [0, 1] of the range, colours in [0, 1]. */
export type ColorPoint = [number, number, number, number];
/** [t, opacity]. */
export type OpacityPoint = [number, number];

export interface Preset {
  name: string;
  description: string;
  colors: ColorPoint[];
  opacity: OpacityPoint[];
  blend: 'composite' | 'mip';
  shade: boolean;
}

export const PRESETS: readonly Preset[] = [
  {
    name: 'CT soil',
    description: 'ParaView CT-Bone colours: air clear, mineral grains opaque and bright',
    colors: [
      [0, 0, 0, 0],
      [0.3, 0.55, 0.25, 0.15],
      [0.45, 0.88, 0.6, 0.29],
      [0.7, 1, 0.94, 0.85],
      [1, 1, 1, 1],
    ],
    opacity: [
      [0, 0],
      [0.5, 0],
      [0.75, 0.04],
      [1, 0.3],
    ],
    blend: 'composite',
    shade: true,
  },
  {
    name: 'CT grey',
    description: 'grey ramp, dense material opaque',
    colors: [
      [0, 0, 0, 0],
      [1, 1, 1, 1],
    ],
    opacity: [
      [0, 0],
      [0.35, 0],
      [1, 0.45],
    ],
    blend: 'composite',
    shade: false,
  },
  {
    name: 'Low density (roots, water)',
    description: 'a band between air and mineral: organic matter, roots, water films',
    colors: [
      [0, 0.1, 0.1, 0.2],
      [0.25, 0.35, 0.55, 0.2],
      [0.4, 0.95, 0.75, 0.3],
      [0.55, 0.6, 0.3, 0.15],
      [1, 0.3, 0.3, 0.3],
    ],
    opacity: [
      [0, 0],
      [0.2, 0],
      [0.33, 0.18],
      [0.45, 0.18],
      [0.55, 0],
      [1, 0],
    ],
    blend: 'composite',
    shade: false,
  },
  {
    name: 'Pores (air)',
    description: 'air-filled pores and cracks opaque, solids clear',
    colors: [
      [0, 0.2, 0.55, 1],
      [0.2, 0.5, 0.8, 1],
      [1, 1, 1, 1],
    ],
    opacity: [
      [0, 0.5],
      [0.18, 0.3],
      [0.3, 0],
      [1, 0],
    ],
    blend: 'composite',
    shade: true,
  },
  {
    name: 'MIP',
    description: 'maximum intensity projection',
    colors: [
      [0, 0, 0, 0],
      [1, 1, 1, 1],
    ],
    opacity: [
      [0, 0],
      [1, 1],
    ],
    blend: 'mip',
    shade: false,
  },
  {
    name: 'Root probability',
    description: 'for a segmentation: probable roots warm and opaque',
    colors: [
      [0, 0.05, 0.02, 0.2],
      [0.5, 0.75, 0.2, 0.35],
      [0.75, 0.98, 0.55, 0.05],
      [1, 0.99, 0.95, 0.6],
    ],
    opacity: [
      [0, 0],
      [0.45, 0],
      [0.6, 0.4],
      [1, 0.9],
    ],
    blend: 'composite',
    shade: true,
  },
];

export function presetByName(name: string): Preset {
  return PRESETS.find((p) => p.name === name) ?? PRESETS[0]!;
}

/** Maps a preset's fractional positions onto data values in [lo, hi]. */
export function toDataRange<T extends number[]>(points: readonly T[], lo: number, hi: number): T[] {
  const span = hi > lo ? hi - lo : 1;
  return points.map((p) => [lo + p[0]! * span, ...p.slice(1)] as T);
}

/** Colour maps for scalars on the root surface: [t, r, g, b]. */
export const COLOR_MAPS: Record<string, ColorPoint[]> = {
  viridis: [
    [0, 0.267, 0.005, 0.329],
    [0.125, 0.283, 0.141, 0.458],
    [0.25, 0.254, 0.265, 0.53],
    [0.375, 0.207, 0.372, 0.553],
    [0.5, 0.164, 0.471, 0.558],
    [0.625, 0.128, 0.567, 0.551],
    [0.75, 0.267, 0.678, 0.48],
    [0.875, 0.478, 0.821, 0.318],
    [1, 0.993, 0.906, 0.144],
  ],
  'cool to warm': [
    [0, 0.23, 0.299, 0.754],
    [0.5, 0.865, 0.865, 0.865],
    [1, 0.706, 0.016, 0.15],
  ],
};

/** Linear interpolation of a colour map at t ∈ [0, 1]. */
export function sampleColorMap(map: readonly ColorPoint[], t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  for (let i = 1; i < map.length; i++) {
    const b = map[i]!;
    if (x <= b[0]) {
      const a = map[i - 1]!;
      const f = b[0] > a[0] ? (x - a[0]) / (b[0] - a[0]) : 0;
      return [a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2]), a[3] + f * (b[3] - a[3])];
    }
  }
  const l = map[map.length - 1]!;
  return [l[1], l[2], l[3]];
}
