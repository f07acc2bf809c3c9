#!/usr/bin/env python3
"""Classical threshold reference of the roots and stem of the maize-crown-ct scan.

Usage: maize_reference.py OUT.(nii|nii.gz|npy) [--air OUT_AIR.(nii.gz|npy)] [--json]

Deterministic; reads ../shared/data/maize-crown-ct (or $RHIZOCT_DATA/maize-crown-ct) and never
writes into the repository unless told to. See README.md beside this file for what was seen in
the scan and why each step is there. The steps:

 1. the 471 PNG slices as a float32 volume (z = slice index, 471 x 375 x 375);
 2. a 3D Gaussian smoothing, sigma 1 voxel, to lift the single-voxel noise of the air;
 3. each slice's air level = the median of that smoothed slice (air is > 97 % of every slice;
    it drifts from 8.0 at the first/last slices to 8.9 in the middle);
 4. object = smoothed grey more than 2.5 above its slice's air level (about 11.4 on the 0-255
    scale, half-way between air at ~8.9 and the ~14 of the dimmest root interiors);
 5. hollow interiors: the roots are bright rings (cortex ~18-24) around a dimmer centre
    (~12-16), and the stem is a bright rind around a mottled pith. Holes of the object in every
    z, y and x slice are filled when they are smaller than 2000 pixels AND not air (their mean
    smoothed grey is more than 1.0 above the air level); holes at air level are air enclosed
    between touching roots and stay open;
 6. components (26-connected) smaller than 20 voxels are removed (isolated noise peaks and
    fragments too small to be called anything).

The mask is written as uint8 0/1: .npy in z, y, x order; NIfTI in x, y, z order (NIfTI's
convention, identity affine, as rhizoct reads it back as z, y, x).

--air writes the 'air' region used to check that no air is called root: voxels whose smoothed
grey is at most 0.5 above the slice's air level (air's smoothed noise has a standard deviation
of 0.12, so this keeps > 99 % of true air) AND farther than 3 voxels from every voxel that is
more than 1.0 above it (that is the reference and also the faint fine roots, 8 noise standard
deviations up, that the threshold leaves out) AND inside the scanner's circular field of view
(radius 180 voxels about the slice centre; the corners outside it read lower).
"""
import argparse
import json
import os
import sys

import numpy as np
from scipy import ndimage as ndi

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import load_maize  # noqa: E402

SIGMA = 1.0
THRESHOLD = 2.5  # above the slice's air level (0-255 scale)
HOLE_MAX = 2000  # pixels: the largest 2D hole that is filled
HOLE_NOT_AIR = 2.0  # a hole is filled only when its mean is this far above air (0.5 below the threshold)
MIN_COMPONENT = 20  # voxels, 26-connected
AIR_MARGIN = 3  # voxels from anything above FAINT
AIR_LEVEL = 0.5  # air: at most this above the slice's air level
FAINT = 1.0  # above this is something (the reference or a faint fine root), never air
FOV_RADIUS = 180  # voxels, about the slice centre


def fill_holes_2d(obj, g, air, axis):
    """Fill the non-air holes, smaller than HOLE_MAX pixels, of every slice along `axis`."""
    out = obj.copy()
    n = obj.shape[axis]
    filled = 0
    for i in range(n):
        sl = [slice(None)] * 3
        sl[axis] = i
        sl = tuple(sl)
        o = obj[sl]
        if not o.any():
            continue
        holes = ndi.binary_fill_holes(o) & ~o
        if not holes.any():
            continue
        lab, k = ndi.label(holes)
        if k == 0:
            continue
        idx = np.arange(1, k + 1)
        area = ndi.sum(holes, lab, idx)
        lift = g[sl] - air[sl]
        mean = ndi.mean(lift, lab, idx)
        keep = idx[(area <= HOLE_MAX) & (mean > HOLE_NOT_AIR)]
        if len(keep):
            add = np.isin(lab, keep)
            out[sl] |= add
            filled += int(add.sum())
    return out, filled


def build(verbose=True):
    v = load_maize().astype(np.float32)
    g = ndi.gaussian_filter(v, SIGMA)
    air_level = np.median(g.reshape(g.shape[0], -1), axis=1).astype(np.float32)
    air = np.broadcast_to(air_level[:, None, None], g.shape)
    obj = (g - air) > THRESHOLD
    stats = {'threshold_voxels': int(obj.sum())}
    # each axis fills the holes of the thresholded object; the reference is their union
    ref = obj.copy()
    for axis in (0, 1, 2):
        f, n = fill_holes_2d(obj, g, air, axis)
        stats[f'filled_{"zyx"[axis]}'] = n
        ref |= f
    stats['after_fill_voxels'] = int(ref.sum())
    lab, n = ndi.label(ref, structure=np.ones((3, 3, 3), bool))
    sizes = np.bincount(lab.ravel())
    small = np.flatnonzero(sizes < MIN_COMPONENT)
    small = small[small > 0]
    ref[np.isin(lab, small)] = False
    stats['components_removed'] = int(len(small))
    stats['reference_voxels'] = int(ref.sum())
    lab, n = ndi.label(ref, structure=np.ones((3, 3, 3), bool))
    sizes = np.bincount(lab.ravel())[1:]
    stats['components'] = int(n)
    stats['largest_component_voxels'] = int(sizes.max()) if n else 0
    stats['air_level_range'] = [float(air_level.min()), float(air_level.max())]
    if verbose:
        print(json.dumps(stats), file=sys.stderr)
    return ref, g, air, stats


def air_region(ref, g, air):
    something = ref | ((g - air) > FAINT)
    far = ndi.distance_transform_edt(~something) > AIR_MARGIN
    Z, Y, X = ref.shape
    yy, xx = np.mgrid[:Y, :X]
    fov = (yy - (Y - 1) / 2) ** 2 + (xx - (X - 1) / 2) ** 2 <= FOV_RADIUS ** 2
    return far & ((g - air) <= AIR_LEVEL) & fov[None]


def save(mask, path):
    m = mask.astype(np.uint8)
    if path.endswith('.npy'):
        np.save(path, m)
    elif path.endswith('.nii') or path.endswith('.nii.gz'):
        import nibabel as nib
        img = nib.Nifti1Image(np.ascontiguousarray(m.transpose(2, 1, 0)), np.eye(4))
        img.header.set_data_dtype(np.uint8)
        nib.save(img, path)
    else:
        raise SystemExit(f'{path}: write .npy, .nii or .nii.gz')


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('out', help='reference mask to write (.npy, .nii or .nii.gz)')
    ap.add_argument('--air', help='also write the air region (.npy, .nii or .nii.gz)')
    ap.add_argument('--json', action='store_true', help='print the statistics as JSON on stdout')
    a = ap.parse_args()
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for p in [a.out] + ([a.air] if a.air else []):
        if os.path.abspath(p).startswith(repo + os.sep):
            raise SystemExit(f'{p}: write the reference outside the repository (it is derived from unlicensed data)')
    ref, g, air, stats = build(verbose=not a.json)
    save(ref, a.out)
    if a.air:
        A = air_region(ref, g, air)
        stats['air_voxels'] = int(A.sum())
        save(A, a.air)
    if a.json:
        print(json.dumps(stats))
    else:
        print(f'wrote {a.out}: {stats["reference_voxels"]} reference voxels' + (f'; {a.air}: {stats["air_voxels"]} air voxels' if a.air else ''))


if __name__ == '__main__':
    main()
