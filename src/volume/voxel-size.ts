import type { Vec3 } from './box.js';

/** Length units as the OME-NGFF spec names them; '' where the source does not say. */
export type LengthUnit = 'nanometer' | 'micrometer' | 'millimeter' | 'centimeter' | 'meter' | '';

const METRES: Record<Exclude<LengthUnit, ''>, number> = {
  nanometer: 1e-9,
  micrometer: 1e-6,
  millimeter: 1e-3,
  centimeter: 1e-2,
  meter: 1,
};

const ALIASES: Record<string, LengthUnit> = {
  nm: 'nanometer',
  nanometer: 'nanometer',
  nanometre: 'nanometer',
  um: 'micrometer',
  µm: 'micrometer',
  μm: 'micrometer',
  micron: 'micrometer',
  microns: 'micrometer',
  micrometer: 'micrometer',
  micrometre: 'micrometer',
  mm: 'millimeter',
  millimeter: 'millimeter',
  millimetre: 'millimeter',
  cm: 'centimeter',
  centimeter: 'centimeter',
  centimetre: 'centimeter',
  m: 'meter',
  meter: 'meter',
  metre: 'meter',
  '': '',
  pixel: '',
  pixels: '',
  unknown: '',
};

/** Maps a unit as written by tools (µm, micron, mm, …) to its NGFF name; undefined if unknown. */
export function parseUnit(text: string): LengthUnit | undefined {
  return ALIASES[text.trim().toLowerCase()];
}

/** Converts a length between units; unknown units ('') convert only to themselves. */
export function convertLength(value: number, from: LengthUnit, to: LengthUnit): number {
  if (from === to) return value;
  if (from === '' || to === '') throw new RangeError(`cannot convert a length from '${from}' to '${to}'`);
  return (value * METRES[from]) / METRES[to];
}

/** NIfTI xyzt_units spatial codes. */
export function unitFromNiftiCode(xyztUnits: number): LengthUnit {
  switch (xyztUnits & 7) {
    case 1:
      return 'meter';
    case 2:
      return 'millimeter';
    case 3:
      return 'micrometer';
    default:
      return '';
  }
}

/** The NIfTI spatial unit code for a unit; lengths in other units must be converted first. */
export function niftiCodeFromUnit(unit: LengthUnit): number {
  switch (unit) {
    case 'meter':
      return 1;
    case 'millimeter':
      return 2;
    case 'micrometer':
      return 3;
    default:
      return 0;
  }
}

/** Voxel size of pyramid level `level` when each level halves every axis. */
export function levelVoxelSize(voxelSize: Vec3, level: number): Vec3 {
  const f = 2 ** level;
  return [voxelSize[0] * f, voxelSize[1] * f, voxelSize[2] * f];
}

/**
 * Physical position of the first voxel's centre at pyramid level `level`: a level-l voxel
 * averages a 2^l block whose centre lies (2^l − 1)/2 voxels of level 0 past the block's start.
 */
export function levelOrigin(origin: Vec3, voxelSize: Vec3, level: number): Vec3 {
  const f = (2 ** level - 1) / 2;
  return [origin[0] + f * voxelSize[0], origin[1] + f * voxelSize[1], origin[2] + f * voxelSize[2]];
}
