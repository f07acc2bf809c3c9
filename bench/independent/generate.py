#!/usr/bin/python3
"""Independent synthetic soil-root X-ray CT scan generator -- FOR TESTING ONLY.

This generator exists to test a root-segmentation model on scans that do not come from the
generator it was trained on (`rhizoct synth`).  It is written from scratch, shares no code
and no physical model with that generator, and must never be used for training or tuning
(otherwise it stops being an independent test).

Physics, in brief
-----------------
Everything is first built as a field of linear attenuation coefficients mu (arbitrary units:
air 0, water 1.0, hydrated plant tissue ~1.0-1.5, organic solids ~1.2, soil aggregates ~1.8-2.2,
quartz 2.65, stones/heavy minerals up to ~4), then "scanned".

Roots.  A root system is a set of tubes.  Each axis grows as a gravity-biased random walk
(direction d <- normalise(d + kappa * noise + g * down)) whose control points are joined by a
natural cubic spline (scipy CubicSpline on chord length) and sampled every 0.3 voxel.  Radius
tapers linearly from base to tip with a slow sinusoidal wobble and a rounded cap where the tip lies
inside the volume.  Laterals of first and second order branch off at 45-90 degrees (random
azimuth) at exponentially distributed spacings, leaving a basal and an apical unbranched zone,
with radius a fraction of the parent's local radius and weaker gravitropism.  Systems: 1-3 tap
roots, 5-10 nodal roots, 3-7 adventitious roots (peat), or a crown with 5-12 nodal roots (air).
Radii are drawn in mm (0.03-0.48 mm for roots, crowns up to 0.66 mm), so at the default 60 um
they span ~0.5 to ~8 voxels (tips taper below that).  In `air` the roots are confined to a
cylinder (they turn inwards and down near it, as in a holder).
Rasterisation: per tube a KD tree of its centreline samples gives each voxel its distance d to
the centreline and the local radius r; voxels with |d - r| < 0.87 are supersampled 3x3x3 for the
partial-volume fraction, others are 0 or 1.  The mask is "voxel centre within radius" plus every
voxel that contains a centreline sample, so sub-voxel roots are in the mask.  Roots displace
whatever was there: scene = scene * (1 - occupancy) + root attenuation.

Soils (per --kind):
  loam  aggregates = cells of a warped Voronoi tessellation (KD tree on warped coordinates),
        inter-aggregate pores where the gap between nearest and second-nearest seed plus a
        Gaussian random field is small; capillary water fills pore voxels within a film
        distance of the solid (distance transform), the rest is air.  Per-aggregate density
        offsets, intra-aggregate texture, silt/sand specks, bright stone ellipsoids, root-like
        organic debris (curved tubes of root grey, NOT in the mask), air-filled earthworm
        biopores with a denser lining (one may contain a root), planar shrinkage cracks
        (level set of a warped plane), and patchy root-soil air gaps.  16-bit.
  sand  dry sand: polydisperse (log-normal) spheres placed largest first at random voxels
        whose distance to existing solid (distance transform, recomputed per size class)
        admits them, excluded from the roots' volume; quartz, some feldspar and a few heavy
        mineral grains; air between grains; homogeneous mid-grey roots.  8-bit.
  peat  saturated-to-partly-drained organic matrix from an anisotropic (horizontally
        elongated, layered) Gaussian random field, water-filled pores, air in large pores above
        a water table, many thin near-horizontal plant fibres (some as bright as roots, not in
        the mask), a few mineral specks; roots slightly brighter than the matrix.  16-bit.
  air   an excavated root crown scanned in air: a thick crown at the top with 5-12 nodal roots
        and a few laterals, roots partly dried and hollow-looking (bright cortex rim, darker
        centre), adhering soil crumbs (not in the mask), optionally a plastic container wall.
        Rician noise.  8-bit.

Scanner: Gaussian blur (sigma 0.5-1.5 voxel, slightly anisotropic), multiplicative cupping and a
smooth random bias field, ring artefacts about the vertical rotation axis, correlated Gaussian
noise with Poisson-like signal dependence (Rician for `air`), percentile windowing with some
clipping, gamma, 8- or 16-bit quantisation, optionally zero outside a cylindrical field of view
(the mask is cleared there too).

Outputs (OUT_DIR): scan.nii.gz, roots.nii.gz (uint8 0/1) and meta.json.  NIfTI data are indexed
[x, y, z] with z = depth (gravity; roots grow towards +z; k = 0 is the top), pixdim in mm.
meta.json records every drawn parameter, the roots, the measured contrast per radius class and
the best global grey-band Dice (a threshold interval is not enough to segment), also after a
sigma-1 Gaussian smoothing.

Usage: /usr/bin/python3 generate.py OUT_DIR --seed N --kind loam|sand|peat|air [--shape 96]
       [--voxel-um 60]
Deterministic given the arguments (gzip streams are written with mtime 0).
"""

import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import nibabel as nib
from scipy import ndimage as ndi
from scipy.interpolate import CubicSpline
from scipy.spatial import cKDTree

VERSION = 1
KINDS = ('loam', 'sand', 'peat', 'air')
DOWN = np.array([0.0, 0.0, 1.0])


# ----------------------------------------------------------------------------- drawing

class Draw:
    """A seeded generator that records every named draw for meta.json."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.params = {}

    def u(self, name, lo, hi):
        v = float(self.rng.uniform(lo, hi))
        self.params[name] = v
        return v

    def i(self, name, lo, hi):
        """Integer in [lo, hi] inclusive."""
        v = int(self.rng.integers(lo, hi + 1))
        self.params[name] = v
        return v

    def b(self, name, p):
        v = bool(self.rng.random() < p)
        self.params[name] = v
        return v

    def c(self, name, options, p=None):
        v = options[int(self.rng.choice(len(options), p=p))]
        self.params[name] = v
        return v

    def set(self, name, v):
        self.params[name] = v
        return v


def unit(v):
    n = np.linalg.norm(v)
    return v / n if n > 0 else np.array([0.0, 0.0, 1.0])


def perpendicular(rng, t):
    a = np.array([1.0, 0.0, 0.0]) if abs(t[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    e1 = unit(np.cross(t, a))
    e2 = np.cross(t, e1)
    phi = rng.uniform(0, 2 * np.pi)
    return math.cos(phi) * e1 + math.sin(phi) * e2


def wobble(rng, s, lmin=8.0, lmax=40.0, k=3):
    """A smooth zero-mean function of arclength with unit-ish amplitude."""
    out = np.zeros_like(s)
    for _ in range(k):
        lam = rng.uniform(lmin, lmax)
        out += np.sin(2 * np.pi * s / lam + rng.uniform(0, 2 * np.pi))
    return out / math.sqrt(k / 2.0)


def grf(rng, shape, sigma):
    """Zero-mean unit-variance Gaussian random field (white noise smoothed by a Gaussian)."""
    w = rng.standard_normal(shape, dtype=np.float32)
    g = ndi.gaussian_filter(w, sigma, mode='wrap')
    g -= g.mean()
    g /= max(float(g.std()), 1e-12)
    return g


def grid(shape):
    return np.meshgrid(*[np.arange(n, dtype=np.float32) for n in shape], indexing='ij')


# ----------------------------------------------------------------------------- tubes

class Tube:
    def __init__(self, pts, rad, dens, meta):
        self.pts = pts
        self.rad = rad
        self.dens = dens
        self.meta = meta


def grow(rng, shape, p0, d0, length, step, kappa, grav, r0, r_end, dens0, dvar,
         ds=0.3, cap=True, plane=False, confine=None):
    """One axis: gravity-biased random walk -> cubic spline -> dense samples with radius.

    Returns a Tube (meta has no ids yet) or None when it never enters the volume."""
    n = max(2, int(math.ceil(length / step)))
    P = [np.asarray(p0, float)]
    d = unit(np.asarray(d0, float))
    lo = -r0 - 3.0
    hi = np.array(shape, float) - 1 + r0 + 3.0
    for k in range(n):
        if k > 0:
            d = unit(d + kappa * rng.standard_normal(3) + grav * DOWN)
            if plane:  # fibres: stay near-horizontal
                d[2] *= 0.5
                d = unit(d)
            if confine is not None:  # a container wall (cx, cy, R): turn inwards/downwards near it
                cx, cy, R = confine
                q = P[-1] + step * d
                rad_v = np.array([q[0] - cx, q[1] - cy, 0.0])
                rr = float(np.linalg.norm(rad_v))
                if rr > 0.75 * R:
                    push = min(3.0, (rr - 0.75 * R) / (0.25 * R)) * 1.5
                    d = unit(d - push * rad_v / max(rr, 1e-9) + 0.3 * push * DOWN)
        P.append(P[-1] + step * d)
    P = np.array(P)
    chord = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(P, axis=0), axis=1))])
    cs = CubicSpline(chord, P, axis=0, bc_type='natural')
    s = np.arange(0.0, chord[-1], ds)
    pts = cs(s)
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    inside = np.all((pts >= lo) & (pts <= hi), axis=1)
    if not inside.any():
        return None
    first = int(np.argmax(inside))
    after = np.nonzero(~inside[first:])[0]
    end = first + int(after[0]) if after.size else len(pts)
    truncated = end < len(pts)
    pts, s = pts[:end], s[:end]
    if len(pts) < 2:
        return None
    L = max(float(length), 1e-6)
    frac = np.clip(s / L, 0.0, 1.0)
    rad = (r0 + (r_end - r0) * frac) * (1.0 + 0.06 * wobble(rng, s))
    if cap and not truncated:
        c = max(1.5 * rad[-1], 1.0)
        u = s - (s[-1] - c)
        f = np.where(u > 0, np.sqrt(np.clip(1.0 - (u / c) ** 2, 0.09, 1.0)), 1.0)
        rad = rad * f
    dens = dens0 * (1.0 + dvar * wobble(rng, s, 10.0, 60.0))
    return Tube(pts.astype(np.float64), rad.astype(np.float64), dens.astype(np.float64),
                {'length_vox': float(s[-1]), 'truncated_at_border': bool(truncated)})


def rasterize(tubes, shape, ss=3, margin=2.5, shape_fn=None):
    """Partial-volume rasterisation of tubes (see module docstring).

    Returns dict: occ (fraction), val (integrated attenuation), mask (bool), f (distance to
    surface of the nearest tube, negative inside; inf far away), r (local drawn radius), id
    (tube index, -1 far away), center (voxels holding a centreline sample)."""
    S = np.array(shape)
    best_f = np.full(shape, np.inf, np.float32)
    best_g = np.full(shape, -1, np.int64)
    best_d = np.zeros(shape, np.float32)
    center = np.zeros(shape, bool)
    trees, offs = [], []
    off = 0
    for tb in tubes:
        offs.append(off)
        off += len(tb.pts)
    if not tubes:
        z = np.zeros(shape, np.float32)
        return {'occ': z, 'val': z.copy(), 'mask': np.zeros(shape, bool), 'f': best_f,
                'r': z.copy(), 'id': np.full(shape, -1, np.int32), 'center': center}
    R_all = np.concatenate([t.rad for t in tubes])
    D_all = np.concatenate([t.dens for t in tubes])
    T_all = np.concatenate([np.full(len(t.pts), i, np.int32) for i, t in enumerate(tubes)])
    for ti, tb in enumerate(tubes):
        P, R = tb.pts, tb.rad
        tree = cKDTree(P)
        trees.append(tree)
        reach = float(R.max()) + margin + 1.0
        lo_u = np.floor(P.min(0) - reach).astype(int)
        hi_u = np.ceil(P.max(0) + reach).astype(int) + 1
        lo = np.maximum(lo_u, 0)
        hi = np.minimum(hi_u, S)
        if np.any(hi <= lo):
            continue
        seed = np.ones(tuple(hi_u - lo_u), bool)
        q = np.round(P).astype(int)
        seed[tuple((q - lo_u).T)] = False
        edt = ndi.distance_transform_edt(seed)
        crop = tuple(slice(a - b, c - b) for a, b, c in zip(lo, lo_u, hi))
        cand = np.nonzero(edt[crop] <= reach)
        coords = np.stack(cand, axis=1) + lo
        if coords.size == 0:
            continue
        d, j = tree.query(coords.astype(np.float64), distance_upper_bound=reach)
        ok = j < len(P)
        coords, d, j = coords[ok], d[ok], j[ok]
        f = (d - R[j]).astype(np.float32)
        ix = tuple(coords.T)
        better = f < best_f[ix]
        ix = tuple(coords[better].T)
        best_f[ix] = f[better]
        best_g[ix] = j[better] + offs[ti]
        best_d[ix] = d[better]
        qin = q[np.all((q >= 0) & (q < S), axis=1)]
        if len(qin):
            center[tuple(qin.T)] = True
    near = best_g >= 0
    r_loc = np.zeros(shape, np.float32)
    r_loc[near] = R_all[best_g[near]]
    tid = np.full(shape, -1, np.int32)
    tid[near] = T_all[best_g[near]]
    mask = (best_f <= 0) | center
    if shape_fn is None:
        shape_fn = lambda t: np.ones_like(t)  # noqa: E731
    occ = np.zeros(shape, np.float32)
    val = np.zeros(shape, np.float32)
    h = 0.87
    inner = best_f <= -h
    gi = best_g[inner]
    occ[inner] = 1.0
    val[inner] = D_all[gi] * shape_fn(best_d[inner] / R_all[gi])
    band = (best_f > -h) & (best_f < h)
    if ss <= 1:
        g = best_g[band]
        r = R_all[g]
        o = np.clip(0.5 - best_f[band], 0, 1) * np.minimum(1.0, np.pi * r * r)
        occ[band] = o
        val[band] = o * D_all[g] * shape_fn(np.minimum(best_d[band] / r, 1.0))
    else:
        a = (np.arange(ss) + 0.5) / ss - 0.5
        offv = np.stack(np.meshgrid(a, a, a, indexing='ij'), -1).reshape(-1, 3)
        bc = np.stack(np.nonzero(band), axis=1)
        bt = tid[band]
        for ti in np.unique(bt):
            sel = bt == ti
            c = bc[sel]
            sub = (c[:, None, :] + offv[None]).reshape(-1, 3)
            d, j = trees[ti].query(sub, distance_upper_bound=float(tubes[ti].rad.max()) + 1)
            okj = j < len(tubes[ti].pts)
            jj = np.where(okj, j, 0)
            rr = tubes[ti].rad[jj]
            ins = okj & (d <= rr)
            dv = np.where(ins, tubes[ti].dens[jj] * shape_fn(np.where(ins, d / rr, 0.0)), 0.0)
            ix = tuple(c.T)
            occ[ix] = ins.reshape(len(c), -1).mean(1)
            val[ix] = dv.reshape(len(c), -1).mean(1)
    return {'occ': occ, 'val': val, 'mask': mask, 'f': best_f, 'r': r_loc, 'id': tid,
            'center': center}


def composite(img, layer):
    """Put a rasterised layer over img: displaced fraction replaced by the layer's attenuation."""
    img *= 1.0 - layer['occ']
    img += layer['val']
    return img


# ----------------------------------------------------------------------------- root systems

def root_system(D, kind, shape, vox_mm):
    rng = D.rng
    nx, ny, nz = shape
    side = float(min(nx, ny))
    mm = lambda v: v / vox_mm  # noqa: E731  mm -> voxels
    rmin = mm(0.03)
    tubes = []
    max_tubes = int(D.set('max_tubes', 220))

    def add(tb, order, parent, kind_name):
        if tb is None:
            return None
        tb.meta.update({'id': len(tubes), 'order': order, 'parent': parent, 'type': kind_name,
                        'r0_vox': float(tb.rad[0]), 'r_end_vox': float(tb.rad[-1]),
                        'r0_mm': float(tb.rad[0] * vox_mm), 'r_end_mm': float(tb.rad[-1] * vox_mm)})
        tubes.append(tb)
        return tb

    if kind == 'loam':
        style = D.c('root_style', ['tap', 'fibrous'], p=[0.6, 0.4])
    elif kind == 'sand':
        style = D.set('root_style', 'tap')
    elif kind == 'peat':
        style = D.set('root_style', 'adventitious')
    else:
        style = D.set('root_style', 'crown')

    dens_mu = {'loam': (0.8, 1.1), 'sand': (1.0, 1.3), 'peat': (1.38, 1.6), 'air': (0.6, 0.95)}[kind]
    dvar = D.u('root_density_along_variation', 0.02, 0.07) if kind != 'sand' else D.u('root_density_along_variation', 0.0, 0.02)
    D.set('root_density_range', list(dens_mu))

    def dens():
        return float(rng.uniform(*dens_mu))

    mains = []
    if style == 'tap':
        n = D.i('n_main', 1, 3) if kind == 'loam' else D.i('n_main', 1, 2)
        for k in range(n):
            r0 = mm(rng.uniform(0.2, 0.48))
            p0 = [nx / 2 + rng.uniform(-0.25, 0.25) * nx, ny / 2 + rng.uniform(-0.25, 0.25) * ny, -r0 - 1]
            tilt = math.radians(rng.uniform(0, 25))
            az = rng.uniform(0, 2 * np.pi)
            d0 = [math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), math.cos(tilt)]
            tb = grow(rng, shape, p0, d0, nz * rng.uniform(1.1, 1.6), rng.uniform(3, 6),
                      rng.uniform(0.08, 0.2), rng.uniform(0.05, 0.2), r0, r0 * rng.uniform(0.45, 0.8),
                      dens(), dvar, cap=True)
            if add(tb, 0, -1, 'tap') is not None:
                mains.append(tb)
        lat = dict(ib=(0.45, 1.1), ratio=(0.25, 0.45), length=(0.2, 0.6), grav=(0.0, 0.08), p2=(0.15, 0.45))
    elif style == 'fibrous':
        n = D.i('n_main', 5, 10)
        cx, cy = nx / 2 + rng.uniform(-0.1, 0.1) * nx, ny / 2 + rng.uniform(-0.1, 0.1) * ny
        for k in range(n):
            r0 = mm(rng.uniform(0.1, 0.25))
            az = 2 * np.pi * (k + rng.uniform(-0.3, 0.3)) / n
            tilt = math.radians(rng.uniform(15, 60))
            off = rng.uniform(0, 0.2) * side
            p0 = [cx + off * math.cos(az), cy + off * math.sin(az), -r0 - 1]
            d0 = [math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), math.cos(tilt)]
            tb = grow(rng, shape, p0, d0, nz * rng.uniform(1.0, 1.5), rng.uniform(3, 6),
                      rng.uniform(0.08, 0.2), rng.uniform(0.05, 0.15), r0, r0 * rng.uniform(0.6, 0.9),
                      dens(), dvar)
            if add(tb, 0, -1, 'nodal') is not None:
                mains.append(tb)
        lat = dict(ib=(0.7, 1.6), ratio=(0.3, 0.5), length=(0.15, 0.45), grav=(0.0, 0.06), p2=(0.0, 0.15))
    elif style == 'adventitious':
        n = D.i('n_main', 3, 7)
        for k in range(n):
            r0 = mm(rng.uniform(0.09, 0.27))
            az = rng.uniform(0, 2 * np.pi)
            tilt = math.radians(rng.uniform(20, 75))
            p0 = [rng.uniform(0.15, 0.85) * nx, rng.uniform(0.15, 0.85) * ny, -r0 - 1]
            d0 = [math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), math.cos(tilt)]
            tb = grow(rng, shape, p0, d0, nz * rng.uniform(1.0, 1.6), rng.uniform(3, 6),
                      rng.uniform(0.1, 0.25), rng.uniform(0.02, 0.1), r0, r0 * rng.uniform(0.55, 0.85),
                      dens(), dvar)
            if add(tb, 0, -1, 'adventitious') is not None:
                mains.append(tb)
        lat = dict(ib=(0.5, 1.2), ratio=(0.3, 0.5), length=(0.15, 0.45), grav=(0.0, 0.05), p2=(0.0, 0.15))
    else:  # crown in air
        cx, cy = nx / 2 + rng.uniform(-0.06, 0.06) * nx, ny / 2 + rng.uniform(-0.06, 0.06) * ny
        rc = mm(D.u('crown_radius_mm', 0.42, 0.66))
        zc = D.u('crown_bottom_z_frac', 0.12, 0.22) * nz
        crown = grow(rng, shape, [cx, cy, -rc - 4], [0, 0, 1], zc + rc + 4, 3.0, 0.02, 0.0,
                     rc, rc * 0.9, dens() * 1.1, dvar, ds=0.3, cap=True)
        add(crown, 0, -1, 'crown')
        n = D.i('n_main', 5, 12)
        conf_R = D.u('roots_confined_radius_frac', 0.36, 0.4) * side
        for k in range(n):
            r0 = mm(rng.uniform(0.12, 0.36))
            az = 2 * np.pi * (k + rng.uniform(-0.35, 0.35)) / n
            tilt = math.radians(rng.uniform(20, 60))
            zk = rng.uniform(0.35, 0.95) * zc
            p0 = [cx + 0.6 * rc * math.cos(az), cy + 0.6 * rc * math.sin(az), zk]
            d0 = [math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), math.cos(tilt)]
            tb = grow(rng, shape, p0, d0, nz * rng.uniform(0.8, 1.4), rng.uniform(3, 6),
                      rng.uniform(0.06, 0.16), rng.uniform(0.05, 0.15), r0, r0 * rng.uniform(0.55, 0.85),
                      dens(), dvar, confine=((nx - 1) / 2, (ny - 1) / 2, conf_R - r0))
            if add(tb, 1, 0, 'nodal') is not None:
                mains.append(tb)
        lat = dict(ib=(1.0, 2.5), ratio=(0.2, 0.4), length=(0.1, 0.3), grav=(0.0, 0.06), p2=(0.0, 0.0))
    D.set('lateral_params', {k: list(v) for k, v in lat.items()})

    def branch(parent, order, ib_mm, ratio_rng, len_rng, grav_rng, p_next):
        P, R = parent.pts, parent.rad
        seg = np.linalg.norm(np.diff(P, axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(seg)])
        L = s[-1]
        s_pos = L * rng.uniform(0.05, 0.15)
        s_stop = L * (1 - rng.uniform(0.1, 0.2)) if not parent.meta['truncated_at_border'] else L
        S = np.array(shape, float)
        while True:
            s_pos += rng.exponential(mm(ib_mm))
            if s_pos >= s_stop or len(tubes) >= max_tubes:
                break
            i = int(np.searchsorted(s, s_pos))
            i = min(max(i, 1), len(P) - 2)
            p = P[i]
            if np.any(p < -2) or np.any(p > S + 1):
                continue
            t = unit(P[i + 1] - P[i - 1])
            th = math.radians(rng.uniform(45, 90))
            d0 = math.cos(th) * t + math.sin(th) * perpendicular(rng, t)
            r0 = max(rmin, min(rng.uniform(*ratio_rng) * R[i], 0.7 * R[i]))
            length = side * rng.uniform(*len_rng) * (1 - 0.5 * s_pos / L)
            tb = grow(rng, shape, p, d0, length, rng.uniform(2.5, 5), rng.uniform(0.1, 0.25),
                      rng.uniform(*grav_rng), r0, max(rmin, r0 * rng.uniform(0.6, 0.9)),
                      float(parent.dens.mean() * rng.uniform(0.93, 1.07)), dvar,
                      confine=((nx - 1) / 2, (ny - 1) / 2, conf_R - r0) if style == 'crown' else None)
            if add(tb, order, parent.meta['id'], 'lateral') is None:
                continue
            if rng.random() < p_next and order < 2 + (1 if style == 'crown' else 0):
                branch(tb, order + 1, ib_mm * 1.3, (0.4, 0.65), (len_rng[0] * 0.4, len_rng[1] * 0.4),
                       grav_rng, 0.0)

    p2 = D.u('p_second_order', *lat['p2']) if lat['p2'][1] > 0 else D.set('p_second_order', 0.0)
    ib = D.u('interbranch_mm', *lat['ib'])
    for m in list(mains):
        if style == 'crown':
            if rng.random() < 0.5:
                continue
        branch(m, m.meta['order'] + 1, ib, lat['ratio'], lat['length'], lat['grav'], p2)
    return tubes


# ----------------------------------------------------------------------------- soils

def tube_clear_of(tree, rads, tb, gap=1.0):
    """True when tube tb stays at least `gap` voxels away from the tubes in (tree, rads)."""
    d, j = tree.query(tb.pts)
    return bool(np.all(d - rads[j] - tb.rad > gap))


def spheres_max(img, centres, radii, values, occ_out=None):
    """img = max(img, occupancy * value) over spheres, smooth 1-voxel edge."""
    S = np.array(img.shape)
    for c, r, v in zip(centres, radii, values):
        lo = np.maximum(np.floor(c - r - 1).astype(int), 0)
        hi = np.minimum(np.ceil(c + r + 1).astype(int) + 1, S)
        if np.any(hi <= lo):
            continue
        xs = [np.arange(a, b, dtype=np.float32) - cc for a, b, cc in zip(lo, hi, c)]
        d = np.sqrt(xs[0][:, None, None] ** 2 + xs[1][None, :, None] ** 2 + xs[2][None, None, :] ** 2)
        o = np.clip(r + 0.5 - d, 0, 1) * min(1.0, (4 / 3) * np.pi * r ** 3)
        sl = tuple(slice(a, b) for a, b in zip(lo, hi))
        np.maximum(img[sl], o * v, out=img[sl])
        if occ_out is not None:
            np.maximum(occ_out[sl], o, out=occ_out[sl])


def soil_loam(D, shape, vox_mm, roots, root_tree, root_rad):
    rng = D.rng
    nx, ny, nz = shape
    mm = lambda v: v / vox_mm  # noqa: E731
    X = grid(shape)
    # warped Voronoi aggregates
    agg_d = mm(D.u('aggregate_diameter_mm', 0.6, 2.0))
    n_seeds = max(8, int(np.prod(shape) / (agg_d ** 3 * 0.52)))
    D.set('n_aggregate_seeds', n_seeds)
    seeds = rng.uniform(0, 1, size=(n_seeds, 3)) * (np.array(shape) + agg_d) - agg_d / 2
    warp_amp = D.u('aggregate_warp_vox', 1.5, 0.35 * agg_d + 1.5)
    wsig = max(2.0, agg_d / 2)
    q = np.stack([X[k] + warp_amp * grf(rng, shape, wsig) for k in range(3)], -1).reshape(-1, 3)
    dd, ii = cKDTree(seeds).query(q, k=2)
    del q
    gap = ((dd[:, 1] - dd[:, 0]) / 2).reshape(shape).astype(np.float32)
    cell = ii[:, 0].reshape(shape)
    del dd, ii
    por = D.u('inter_aggregate_porosity', 0.04, 0.12)
    score = gap + D.u('pore_noise_vox', 0.3, 1.2) * grf(rng, shape, D.u('pore_noise_sigma', 1.0, 2.5))
    pore = score < np.quantile(score, por)
    # macro-pores from a second thresholded field
    macro = grf(rng, shape, D.u('macropore_sigma', 1.5, 4.0)) > D.u('macropore_threshold', 2.2, 3.0)
    pore |= macro
    # aggregates: per-aggregate density, intra-aggregate texture
    mu_agg = D.u('aggregate_mu', 1.85, 2.2)
    per_agg = rng.normal(0, D.u('aggregate_density_sd', 0.03, 0.08), n_seeds).astype(np.float32)
    img = mu_agg + per_agg[cell] + D.u('aggregate_texture', 0.03, 0.07) * grf(rng, shape, 1.0)
    img = img.astype(np.float32)
    del cell, gap, score
    # silt/sand specks inside aggregates
    n_specks = int(D.u('speck_per_1e4_vox', 2, 15) * np.prod(shape) / 1e4)
    c = rng.uniform(0, 1, (n_specks, 3)) * np.array(shape)
    r = rng.uniform(0.5, 1.6, n_specks)
    sp = np.zeros(shape, np.float32)
    spheres_max(sp, c, r, rng.uniform(2.4, 2.8, n_specks))
    img = np.maximum(img, sp)
    # capillary water in narrow pores, air elsewhere
    film = D.u('water_film_vox', 0.0, 1.6)
    pd = ndi.distance_transform_edt(pore)
    water = pore & (pd <= film)
    img[pore] = 0.0
    img[water] = 1.0
    D.set('air_porosity', float(np.mean(pore & ~water)))
    D.set('water_fraction', float(np.mean(water)))
    img = ndi.gaussian_filter(img, 0.35)  # sub-voxel softening of phase edges
    # stones
    n_st = D.i('n_stones', 0, 4)
    stones = []
    tries = 0
    while len(stones) < n_st and tries < 40:
        tries += 1
        a = np.sort(mm(rng.uniform(0.3, 1.0, 3)))[::-1]
        cst = rng.uniform(0, 1, 3) * np.array(shape)
        dd, jj = root_tree.query(cst)
        if dd - root_rad[jj] < a[0] + 1.5:
            continue
        Q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        mu_s = rng.uniform(2.5, 3.0)
        lo = np.maximum(np.floor(cst - a[0] - 2).astype(int), 0)
        hi = np.minimum(np.ceil(cst + a[0] + 2).astype(int) + 1, np.array(shape))
        if np.any(hi <= lo):
            continue
        sl = tuple(slice(l, h) for l, h in zip(lo, hi))
        loc = np.stack([X[k][sl] - cst[k] for k in range(3)], -1) @ Q
        qv = np.sqrt(((loc / a) ** 2).sum(-1))
        rough = 0.05 * rng.standard_normal(qv.shape).astype(np.float32)
        qv = ndi.gaussian_filter(qv + rough, 0.8)
        aeff = 3.0 / np.sum(1.0 / a)
        o = np.clip(0.5 - (qv - 1) * aeff, 0, 1).astype(np.float32)
        img[sl] = img[sl] * (1 - o) + o * (mu_s + 0.05 * rng.standard_normal(o.shape).astype(np.float32))
        stones.append({'centre_vox': cst.tolist(), 'semi_axes_vox': a.tolist(), 'mu': mu_s})
    D.set('stones', stones)
    # planar shrinkage cracks (air)
    n_cr = D.i('n_cracks', 0, 2)
    cr_list = []
    for k in range(n_cr):
        nrm = unit(rng.standard_normal(3) * np.array([1, 1, 0.4]))
        cc = rng.uniform(0.2, 0.8, 3) * np.array(shape)
        H = sum(nrm[i] * (X[i] - cc[i]) for i in range(3)) + rng.uniform(2, 6) * grf(rng, shape, 10.0)
        w = rng.uniform(0.5, 1.4)
        ext_t = rng.uniform(-0.6, 0.4)
        E = np.clip((grf(rng, shape, 12.0) - ext_t) * 2.0, 0, 1)
        o = np.clip(w / 2 + 0.5 - np.abs(H), 0, 1) * E
        img *= 1 - o
        cr_list.append({'normal': nrm.tolist(), 'width_vox': w, 'extent_threshold': ext_t})
    D.set('cracks', cr_list)
    # biopores (air) with a denser lining; maybe one around a root
    n_bp = D.i('n_biopores', 1, 3)
    pores = []
    lining = []
    bp_meta = []
    if D.b('root_in_biopore', 0.4) and roots:
        main = roots[int(rng.integers(0, min(3, len(roots))))]
        n = len(main.pts)
        a0 = int(rng.uniform(0.05, 0.5) * n)
        a1 = min(n, a0 + int(mm(rng.uniform(1.5, 3.0)) / 0.3))
        if a1 - a0 > 10:
            extra = rng.uniform(0.8, 2.5)
            rad = main.rad[a0:a1] + extra
            pts = main.pts[a0:a1]
            pores.append(Tube(pts, rad, np.zeros(len(pts)), {}))
            lining.append(Tube(pts, rad + 1.0, np.full(len(pts), mu_agg + 0.12), {}))
            bp_meta.append({'around_root': main.meta['id'], 'gap_vox': extra})
    tries = 0
    while len([m for m in bp_meta if 'around_root' not in m]) < n_bp and tries < 30:
        tries += 1
        rb = mm(rng.uniform(0.06, 0.2))
        p0 = rng.uniform(0.1, 0.9, 3) * np.array(shape)
        p0[2] = rng.uniform(-0.2, 0.6) * nz
        tilt = math.radians(rng.uniform(0, 35))
        az = rng.uniform(0, 2 * np.pi)
        tb = grow(rng, shape, p0, [math.sin(tilt) * math.cos(az), math.sin(tilt) * math.sin(az), math.cos(tilt)],
                  nz * rng.uniform(0.4, 1.2), 4.0, 0.12, 0.05, rb, rb * 0.95, 0.0, 0.0)
        if tb is None or not tube_clear_of(root_tree, root_rad, tb, 1.5):
            continue
        pores.append(tb)
        lining.append(Tube(tb.pts, tb.rad + rng.uniform(0.7, 1.5), np.full(len(tb.pts), mu_agg + 0.12), {}))
        bp_meta.append({'radius_vox': rb, 'length_vox': tb.meta['length_vox']})
    D.set('biopores', bp_meta)
    if pores:
        composite(img, rasterize(lining, shape, ss=1))
        composite(img, rasterize(pores, shape, ss=2))
    # root-like organic debris (not in the mask)
    n_deb = D.i('n_debris', 4, 12)
    deb = []
    tries = 0
    lo_mu, hi_mu = D.params['root_density_range']
    while len(deb) < n_deb and tries < 60:
        tries += 1
        rd = mm(rng.uniform(0.03, 0.16))
        p0 = rng.uniform(0, 1, 3) * np.array(shape)
        dv = unit(rng.standard_normal(3) * np.array([1, 1, 0.6]))
        tb = grow(rng, shape, p0, dv, min(nx, ny) * rng.uniform(0.12, 0.45), rng.uniform(2.5, 5), 0.2, 0.0,
                  rd, rd * rng.uniform(0.5, 1.0), rng.uniform(lo_mu, hi_mu) * rng.uniform(0.9, 1.05), 0.12)
        if tb is None or not tube_clear_of(root_tree, root_rad, tb, 1.0):
            continue
        deb.append(tb)
    D.set('debris', [{'radius_vox': float(t.rad[0]), 'length_vox': t.meta['length_vox'],
                      'mu': float(t.dens.mean())} for t in deb])
    if deb:
        composite(img, rasterize(deb, shape, ss=2))
    return img


def soil_sand(D, shape, vox_mm, root_layer):
    rng = D.rng
    mm = lambda v: v / vox_mm  # noqa: E731
    d50 = D.u('d50_mm', 0.15, 0.45)
    r_med = max(0.9, mm(d50) / 2)
    slog = D.u('grain_size_log_sd', 0.2, 0.45)
    phi_t = D.u('target_solid_fraction', 0.5, 0.6)
    allow = D.u('grain_overlap_allowance', 0.85, 0.97)
    V = float(np.prod(shape))
    radii = []
    vol = 0.0
    while vol < phi_t * V * 1.4:
        r = float(np.clip(r_med * math.exp(rng.normal(0, slog)), 0.8, 4 * r_med))
        radii.append(r)
        vol += 4 / 3 * np.pi * r ** 3
    radii = np.sort(np.array(radii))[::-1]
    solid = root_layer['mask'] | (root_layer['occ'] > 0.2)
    n_chunks = 14
    chunks = np.array_split(radii, n_chunks)
    centres, rads = [], []
    S = np.array(shape)
    for ch in chunks:
        if len(ch) == 0:
            continue
        free = ndi.distance_transform_edt(~solid)
        if float(solid.mean()) >= phi_t:
            break
        need = allow * ch.max()
        cand = np.flatnonzero(free.ravel() >= need)
        if cand.size == 0:
            cand = np.flatnonzero(free.ravel() >= allow * ch.min())
            if cand.size == 0:
                continue
        pick = rng.choice(cand, size=len(ch), replace=cand.size < len(ch))
        ok_free = free.ravel()[pick] >= allow * ch
        pos = np.stack(np.unravel_index(pick, shape), 1) + rng.uniform(-0.5, 0.5, (len(ch), 3))
        acc_p = np.empty((len(ch), 3))
        acc_rr = np.empty(len(ch))
        na = 0
        for p, r, ok in zip(pos, ch, ok_free):
            if not ok:
                continue
            if na:
                d2 = ((acc_p[:na] - p) ** 2).sum(1)
                if np.any(d2 < (allow * (acc_rr[:na] + r)) ** 2):
                    continue
            acc_p[na] = p
            acc_rr[na] = r
            na += 1
        acc_c, acc_r = list(acc_p[:na]), list(acc_rr[:na])
        for p, r in zip(acc_c, acc_r):
            lo = np.maximum(np.floor(p - r).astype(int), 0)
            hi = np.minimum(np.ceil(p + r).astype(int) + 1, S)
            xs = [np.arange(a, b) - cc for a, b, cc in zip(lo, hi, p)]
            d2 = xs[0][:, None, None] ** 2 + xs[1][None, :, None] ** 2 + xs[2][None, None, :] ** 2
            sl = tuple(slice(a, b) for a, b in zip(lo, hi))
            solid[sl] |= d2 <= r * r
        centres += acc_c
        rads += acc_r
    centres = np.array(centres).reshape(-1, 3)
    rads = np.array(rads)
    # mineralogy
    u = rng.random(len(rads))
    p_feld = D.u('feldspar_fraction', 0.03, 0.15)
    p_heavy = D.u('heavy_mineral_fraction', 0.0, 0.03)
    mu = np.where(u < p_heavy, rng.uniform(3.4, 4.5, len(rads)),
                  np.where(u < p_heavy + p_feld, rng.uniform(2.45, 2.6, len(rads)),
                           rng.normal(2.65, 0.04, len(rads))))
    img = np.zeros(shape, np.float32)
    spheres_max(img, centres, rads, mu)
    D.set('n_grains', int(len(rads)))
    D.set('solid_fraction', float(np.mean(img > 1.3)))
    D.set('grain_radius_vox_range', [float(rads.min()) if len(rads) else 0.0, float(rads.max()) if len(rads) else 0.0])
    return img


def soil_peat(D, shape, vox_mm, root_tree, root_rad):
    rng = D.rng
    nx, ny, nz = shape
    mm = lambda v: v / vox_mm  # noqa: E731
    # amorphous, horizontally layered decomposed matter
    lh = D.u('layer_sigma_horizontal_vox', 3.0, 7.0)
    lv = D.u('layer_sigma_vertical_vox', 0.7, 1.6)
    G = grf(rng, shape, (lh, lh, lv))
    # fibrous mat: noise elongated along a few horizontal directions (rotated about z)
    n_dir = D.i('fibre_texture_directions', 2, 4)
    ll = D.u('fibre_texture_length_vox', 4.0, 9.0)
    F = np.zeros(shape, np.float32)
    for k in range(n_dir):
        f = grf(rng, shape, (ll, 0.7, 0.6))
        F += ndi.rotate(f, rng.uniform(0, 180), axes=(0, 1), reshape=False, order=1, mode='reflect')
    F /= max(float(F.std()), 1e-9)
    wf = D.u('fibrous_weight', 0.5, 1.2)
    H = G + wf * F
    phis = D.u('organic_solid_fraction', 0.35, 0.6)
    solid = H > np.quantile(H, 1 - phis)
    mu_org = D.u('organic_mu', 1.12, 1.22)
    img = np.where(solid, mu_org + 0.04 * grf(rng, shape, 1.0), 1.0).astype(np.float32)
    # drained upper part (sometimes): only the largest pores hold air
    if D.b('drained_top', 0.5):
        zwt = D.u('water_table_z_frac', 0.1, 0.6) * nz
        pd = ndi.distance_transform_edt(~solid)
        air_min = D.u('air_pore_min_distance_vox', 1.8, 2.8)
        Z = np.arange(nz, dtype=np.float32)[None, None, :]
        air = (~solid) & (pd >= air_min) & (Z < zwt)
        img[air] = 0.0
        D.set('air_fraction', float(air.mean()))
    else:
        D.set('air_fraction', 0.0)
    img = ndi.gaussian_filter(img, 0.35)
    # fibres: thin near-horizontal plant remains, some as bright as roots
    n_f = int(D.u('fibres_per_96cube', 60, 160) * np.prod(shape) / 96 ** 3)
    D.set('n_fibres', n_f)
    fib = []
    tries = 0
    while len(fib) < n_f and tries < 3 * n_f:
        tries += 1
        rf = mm(rng.uniform(0.03, 0.1))
        p0 = rng.uniform(0, 1, 3) * np.array(shape)
        dv = unit(np.array([rng.normal(), rng.normal(), 0.15 * rng.normal()]))
        tb = grow(rng, shape, p0, dv, min(nx, ny) * rng.uniform(0.2, 0.7), 4.0, 0.12, 0.0, rf,
                  rf * rng.uniform(0.7, 1.0), rng.uniform(1.18, 1.5), 0.05, plane=True)
        if tb is None or not tube_clear_of(root_tree, root_rad, tb, 0.5):
            continue
        fib.append(tb)
    if fib:
        composite(img, rasterize(fib, shape, ss=2, margin=1.0))
    n_m = D.i('n_mineral_specks', 0, 60)
    sp = np.zeros(shape, np.float32)
    spheres_max(sp, rng.uniform(0, 1, (n_m, 3)) * np.array(shape), rng.uniform(0.5, 1.3, n_m), rng.uniform(2.3, 2.8, n_m))
    return np.maximum(img, sp)


def scene_air(D, shape, vox_mm, roots, root_layer):
    rng = D.rng
    nx, ny, nz = shape
    img = np.zeros(shape, np.float32)
    # optional plastic container wall (not in the mask)
    if D.b('container', 0.5):
        rc = D.u('container_radius_frac', 0.43, 0.47) * min(nx, ny)
        th = D.u('container_wall_vox', 1.0, 2.5)
        X = grid(shape)
        rr = np.sqrt((X[0] - (nx - 1) / 2) ** 2 + (X[1] - (ny - 1) / 2) ** 2)
        o = np.clip(th / 2 + 0.5 - np.abs(rr - rc), 0, 1)
        img += o * D.u('container_mu', 0.7, 1.0)
    # soil crumbs stuck to root surfaces (not in the mask)
    n_c = D.i('n_soil_crumbs', 10, 60)
    allp = np.concatenate([t.pts for t in roots])
    allr = np.concatenate([t.rad for t in roots])
    pick = rng.integers(0, len(allp), n_c)
    rc_ = rng.uniform(0.6, 2.5, n_c)
    dirs = np.array([unit(v) for v in rng.standard_normal((n_c, 3))])
    cen = allp[pick] + dirs * (allr[pick] + 0.6 * rc_)[:, None]
    spheres_max(img, cen, rc_, rng.uniform(1.6, 2.4, n_c))
    img[root_layer['mask'] & (root_layer['occ'] > 0.5)] = 0.0  # crumbs only outside roots
    dust = D.i('n_dust_specks', 0, 40)
    spheres_max(img, rng.uniform(0, 1, (dust, 3)) * np.array(shape), rng.uniform(0.4, 0.9, dust), rng.uniform(1.5, 2.5, dust))
    return img


# ----------------------------------------------------------------------------- scanner

def scanner(D, mu, kind, fov):
    rng = D.rng
    shape = mu.shape
    nx, ny, nz = shape
    sig = D.set('blur_sigma_vox', 0.5 + 1.0 * float(rng.random()) ** 1.5)  # 0.5-1.5, sharper more often
    sz = sig * D.u('blur_z_factor', 0.9, 1.2)
    img = ndi.gaussian_filter(mu, (sig, sig, sz))
    X = grid(shape)
    cx, cy = (nx - 1) / 2 + rng.normal(0, 1.5), (ny - 1) / 2 + rng.normal(0, 1.5)
    D.set('rotation_axis_xy', [float(cx), float(cy)])
    rr = np.sqrt((X[0] - cx) ** 2 + (X[1] - cy) ** 2) / (0.5 * min(nx, ny))
    cup = D.u('cupping', 0.0, 0.1)
    bias = (1.0 - cup * np.clip(1.0 - rr ** 2, 0, 1)) * (1.0 + D.u('bias_amplitude', 0.02, 0.1) * grf(rng, shape, max(shape) / 4))
    ref = float(np.mean(mu[fov])) if kind != 'air' else 0.8
    ref = max(ref, 0.3)
    img = img * bias
    noise_rel = {'loam': (0.035, 0.08), 'sand': (0.08, 0.16), 'peat': (0.025, 0.05), 'air': (0.05, 0.12)}[kind]
    sd = D.u('noise_sd_rel', *noise_rel) * ref
    ncorr = D.u('noise_correlation_sigma', 0.3, 0.8)

    def noise():
        n = ndi.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), ncorr)
        return n / max(float(n.std()), 1e-12)

    # ring artefacts about the vertical rotation axis
    n_r = D.i('n_rings', 0, 8)
    rings = np.zeros((nx, ny), np.float32)
    rlist = []
    for k in range(n_r):
        rad = rng.uniform(0.05, 0.95)
        w = rng.uniform(0.4, 1.0) / (0.5 * min(nx, ny))
        amp = rng.choice([-1, 1]) * rng.uniform(0.5, 2.0) * sd
        rings += amp * np.exp(-0.5 * ((rr[:, :, 0] - rad) / w) ** 2)
        rlist.append({'radius_frac': rad, 'amplitude': float(amp)})
    D.set('rings', rlist)
    img += rings[:, :, None] * (1.0 + 0.2 * np.sin(np.arange(nz) / max(nz, 1) * 2 * np.pi * rng.uniform(0.5, 2)))[None, None, :]
    if kind == 'air':
        D.set('noise_model', 'rician')
        img = np.sqrt((img + sd * noise()) ** 2 + (sd * noise()) ** 2)
    else:
        D.set('noise_model', 'gaussian, poisson-like signal dependence')
        a = D.u('noise_signal_dependence', 0.3, 0.8)
        local = sd * np.sqrt((1 - a) + a * np.clip(img, 0, None) / ref)
        img = img + local * noise()
    img = img.astype(np.float32)
    vals = img[fov]
    plo = D.u('window_low_percentile', 0.05, 0.6)
    phi = D.u('window_high_percentile', 99.5, 99.95)
    lo, hi = np.percentile(vals, [plo, phi])
    gamma = D.u('gamma', 0.8, 1.25)
    v = np.clip((img - lo) / max(hi - lo, 1e-9), 0, 1) ** gamma
    if kind in ('loam', 'peat'):
        code_lo = D.u('code_low', 0, 6000)
        code_hi = D.u('code_high', 40000, 65535)
        out = np.round(code_lo + v * (code_hi - code_lo)).astype(np.uint16)
    else:
        code_lo = D.u('code_low', 0, 12)
        code_hi = D.u('code_high', 235, 255)
        out = np.round(code_lo + v * (code_hi - code_lo)).astype(np.uint8)
    out[~fov] = 0
    D.set('dtype', str(out.dtype))
    return out


# ----------------------------------------------------------------------------- measurements

CLASSES = [(0.0, 1.0, 'r<1'), (1.0, 2.0, '1<=r<2'), (2.0, 4.0, '2<=r<4'), (4.0, np.inf, 'r>=4')]


def measure(scan, mask, layer, fov):
    """Contrast per radius class and per root, and the best global grey-band Dice."""
    s = scan.astype(np.float64)
    m = mask & fov
    rloc, f, tid, center = layer['r'], layer['f'], layer['id'], layer['center']
    interior = m & ((f <= -np.minimum(1.0, 0.5 * rloc)) | center)
    dist, inds = ndi.distance_transform_edt(~mask, return_indices=True)
    ring = (~mask) & (dist <= 3.0) & fov
    near = tuple(ix[ring] for ix in inds)
    del inds
    ring_r = rloc[near]
    ring_id = tid[near]
    ring_v = s[ring]
    int_r = rloc[interior]
    int_id = tid[interior]
    int_v = s[interior]
    soil_all = s[(~mask) & fov]
    global_sd = float(soil_all.std()) if soil_all.size else float('nan')
    out = {'definition': 'contrast = |mean(root interior) - mean(non-root within 3 voxels of the '
                         'roots of that class)| / sd(that non-root shell); root interior = mask voxels '
                         'at least min(1, r/2) voxel inside the drawn surface or holding a centreline '
                         'sample; r = drawn local radius (voxels) of the nearest centreline sample; '
                         'contrast_global_sd uses the sd of all non-root voxels in the field of view',
           'classes': {}}
    for lo, hi, name in CLASSES:
        a = int_v[(int_r >= lo) & (int_r < hi)]
        b = ring_v[(ring_r >= lo) & (ring_r < hi)]
        e = {'root_voxels': int(a.size), 'shell_voxels': int(b.size)}
        if a.size >= 3 and b.size >= 10:
            e.update({'mean_root': float(a.mean()), 'sd_root': float(a.std()), 'mean_soil': float(b.mean()),
                      'sd_soil': float(b.std()),
                      'contrast': float(abs(a.mean() - b.mean()) / max(b.std(), 1e-9)),
                      'signed_contrast': float((a.mean() - b.mean()) / max(b.std(), 1e-9)),
                      'contrast_global_sd': float(abs(a.mean() - b.mean()) / max(global_sd, 1e-9))})
        out['classes'][name] = e
    # per root
    nroot = int(tid.max()) + 1 if tid.size else 0
    per = []
    if nroot > 0:
        cnt_a = np.bincount(int_id, minlength=nroot)
        sum_a = np.bincount(int_id, weights=int_v, minlength=nroot)
        ok_ring = ring_id >= 0
        cnt_b = np.bincount(ring_id[ok_ring], minlength=nroot)
        sum_b = np.bincount(ring_id[ok_ring], weights=ring_v[ok_ring], minlength=nroot)
        sq_b = np.bincount(ring_id[ok_ring], weights=ring_v[ok_ring] ** 2, minlength=nroot)
        for i in range(nroot):
            if cnt_a[i] >= 3 and cnt_b[i] >= 10:
                ma, mb = sum_a[i] / cnt_a[i], sum_b[i] / cnt_b[i]
                sdb = math.sqrt(max(sq_b[i] / cnt_b[i] - mb * mb, 1e-18))
                per.append((i, float(abs(ma - mb) / sdb)))
            else:
                per.append((i, None))
    out['per_root'] = per
    measured = [c for _, c in per if c is not None]
    out['roots_measured'] = len(measured)
    out['fraction_roots_contrast_ge_1'] = float(np.mean(np.array(measured) >= 1.0)) if measured else None
    out['median_root_contrast'] = float(np.median(measured)) if measured else None
    if nroot > 0:
        w = np.array([cnt_a[i] for i, c in per if c is not None], float)
        cc = np.array([c for _, c in per if c is not None], float)
        out['fraction_root_interior_voxels_in_roots_with_contrast_ge_1'] = float(w[cc >= 1].sum() / w.sum()) if w.sum() > 0 else None
    return out


def best_band_dice(scan, mask, fov, nq=200):
    v = scan[fov].astype(np.float64)
    t = mask[fov]
    edges = np.unique(np.quantile(v, np.linspace(0, 1, nq + 1)))
    # bin b holds edges[b] <= v < edges[b+1]; the last edge closes the top bin
    b = np.clip(np.searchsorted(edges, v, side='right') - 1, 0, len(edges) - 1)
    tot = np.bincount(b, minlength=len(edges)).astype(np.float64)
    pos = np.bincount(b, weights=t.astype(np.float64), minlength=len(edges))
    T = np.concatenate([[0.0], np.cumsum(tot)])
    Pc = np.concatenate([[0.0], np.cumsum(pos)])
    M = float(t.sum())
    if M == 0:
        return {'dice': 0.0}
    tp = Pc[None, :] - Pc[:, None]
    pr = T[None, :] - T[:, None]
    dice = np.where(pr > 0, 2 * tp / (pr + M), 0.0)
    dice = np.triu(dice, 1)
    i, j = np.unravel_index(int(np.argmax(dice)), dice.shape)
    E = len(edges)
    return {'dice': float(dice[i, j]), 'lo': float(edges[i]),
            'hi': float(edges[j]) if j < E else float(edges[-1]), 'hi_inclusive': bool(j >= E),
            'lo_percentile': float(np.mean(v < edges[i]) * 100),
            'hi_percentile': float(np.mean(v < edges[j]) * 100) if j < E else 100.0,
            'search': f'every interval between {E} quantile edges (0.5% steps) of the grey values in the field of view'}


# ----------------------------------------------------------------------------- output

def save_nifti(arr, path, vox_mm, descrip):
    aff = np.diag([vox_mm, vox_mm, vox_mm, 1.0])
    img = nib.Nifti1Image(arr, aff)
    img.set_data_dtype(arr.dtype)
    img.header.set_xyzt_units(xyz='mm', t='sec')
    img.set_qform(aff, code=1)
    img.set_sform(aff, code=1)
    img.header['descrip'] = descrip.encode()[:79]
    raw = img.to_bytes()
    with open(path, 'wb') as fh:
        with gzip.GzipFile(filename='', mode='wb', fileobj=fh, mtime=0, compresslevel=6) as gz:
            gz.write(raw)


def jsonable(o):
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [jsonable(v) for v in o]
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating, float)):
        f = float(o)
        return f if math.isfinite(f) else None
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, np.ndarray):
        return jsonable(o.tolist())
    return o


def generate(out_dir, seed, kind, shape, voxel_um):
    t0 = time.time()
    vox_mm = voxel_um / 1000.0
    D = Draw([seed, KINDS.index(kind), 0x5eed])
    D.set('kind', kind)
    shape = tuple(int(n) for n in shape)
    nx, ny, nz = shape
    # field of view
    if D.b('cylindrical_fov', {'loam': 0.5, 'sand': 0.5, 'peat': 0.4, 'air': 0.7}[kind]):
        R = D.u('fov_radius_frac', 0.47, 0.5) * min(nx, ny)
        X = grid((nx, ny, 1))
        fov2 = ((X[0] - (nx - 1) / 2) ** 2 + (X[1] - (ny - 1) / 2) ** 2) <= R * R
        fov = np.broadcast_to(fov2, shape).copy()
    else:
        fov = np.ones(shape, bool)
    roots = root_system(D, kind, shape, vox_mm)
    if not roots:
        raise RuntimeError('no root entered the volume')
    D.set('n_roots', len(roots))
    if kind == 'air':
        rim = D.u('rim_boost', 0.3, 0.55)
        core = D.u('core_level', 0.55, 0.8)
        shape_fn = lambda t: core + (1 - core) * np.clip(t / 0.6, 0, 1) + rim * np.exp(-0.5 * ((t - 0.82) / 0.12) ** 2)  # noqa: E731
    else:
        shape_fn = None
    layer = rasterize(roots, shape, ss=3, margin=2.5, shape_fn=shape_fn)
    Pall = np.concatenate([t.pts for t in roots])
    Rall = np.concatenate([t.rad for t in roots])
    rtree = cKDTree(Pall)
    if kind == 'loam':
        mu = soil_loam(D, shape, vox_mm, roots, rtree, Rall)
        if D.b('root_soil_gaps', 0.6):
            gw = D.u('root_gap_width_vox', 0.4, 1.5)
            frac = D.u('root_gap_fraction_of_roots', 0.3, 0.8)
            has = np.array([D.rng.random() < frac * (0.5 + 0.5 * min(1.0, t.rad[0] / 3.0)) for t in roots])
            patch = grf(D.rng, shape, 3.0) > D.u('root_gap_patch_threshold', -0.5, 0.5)
            tid = layer['id']
            sel = (tid >= 0) & np.isfinite(layer['f'])
            g = np.zeros(shape, np.float32)
            ff = layer['f'][sel]
            g[sel] = np.clip(gw + 0.5 - ff, 0, 1) * (ff > -1.0) * has[tid[sel]]
            g *= patch
            mu *= 1 - g
    elif kind == 'sand':
        mu = soil_sand(D, shape, vox_mm, layer)
    elif kind == 'peat':
        mu = soil_peat(D, shape, vox_mm, rtree, Rall)
    else:
        mu = scene_air(D, shape, vox_mm, roots, layer)
    if kind != 'sand':
        tex = D.u('root_texture_sd', 0.01, 0.04)
        layer['val'] = layer['val'] * (1.0 + tex * grf(D.rng, shape, 0.8))
    composite(mu, layer)
    scan = scanner(D, mu.astype(np.float32), kind, fov)
    mask = layer['mask'] & fov
    meas = measure(scan, mask, layer, fov)
    band = best_band_dice(scan, mask, fov)
    sm = ndi.gaussian_filter(scan.astype(np.float32), 1.0)
    band_s = best_band_dice(sm, mask, fov)
    # write
    os.makedirs(out_dir, exist_ok=True)
    desc = f'rhizoct-independent v{VERSION} kind={kind} seed={seed} TEST ONLY'
    save_nifti(np.ascontiguousarray(scan), os.path.join(out_dir, 'scan.nii.gz'), vox_mm, desc)
    save_nifti(np.ascontiguousarray(mask.astype(np.uint8)), os.path.join(out_dir, 'roots.nii.gz'), vox_mm, desc + ' mask')
    per = dict(meas.pop('per_root'))
    root_list = []
    for t in roots:
        e = dict(t.meta)
        e['contrast'] = per.get(t.meta['id'])
        e['voxels_in_mask'] = int(np.sum((layer['id'] == t.meta['id']) & mask))
        root_list.append(e)
    r_in = layer['r'][mask]
    meta = {
        'generator': 'bench/independent/generate.py', 'version': VERSION,
        'purpose': 'TEST ONLY: independent of rhizoct synth; never train or tune on it',
        'kind': kind, 'seed': seed,
        'shape_xyz': list(shape), 'axes': 'NIfTI data [x, y, z]; z (k) = depth, roots grow towards +z, k=0 is the top',
        'voxel_size_mm': vox_mm, 'dtype': D.params.get('dtype'),
        'root_voxel_count': int(mask.sum()),
        'root_volume_fraction': float(mask.sum() / mask.size),
        'root_voxels_by_radius_class': {name: int(np.sum((r_in >= lo) & (r_in < hi))) for lo, hi, name in CLASSES},
        'root_base_radius_vox_range': [float(min(t.rad[0] for t in roots)), float(max(t.rad[0] for t in roots))],
        'root_base_radius_mm_range': [float(min(t.rad[0] for t in roots) * vox_mm), float(max(t.rad[0] for t in roots) * vox_mm)],
        'root_local_radius_vox_range_in_mask_incl_tips': [float(r_in.min()), float(r_in.max())] if r_in.size else None,
        'contrast': meas,
        'best_grey_band_dice': band,
        'best_grey_band_dice_after_gaussian_sigma1': band_s,
        'fov_voxels': int(fov.sum()),
        'params': D.params,
        'roots': root_list,
    }
    with open(os.path.join(out_dir, 'meta.json'), 'w') as fh:
        json.dump(jsonable(meta), fh, indent=1, sort_keys=False)
        fh.write('\n')
    return meta, time.time() - t0


def parse_shape(s):
    parts = [int(p) for p in str(s).split(',')]
    if len(parts) == 1:
        parts = parts * 3
    if len(parts) != 3 or min(parts) < 16:
        raise argparse.ArgumentTypeError('shape is N or X,Y,Z (each >= 16)')
    return tuple(parts)


def main(argv=None):
    ap = argparse.ArgumentParser(description='Independent synthetic soil-root CT generator (TEST ONLY).')
    ap.add_argument('out_dir')
    ap.add_argument('--seed', type=int, required=True)
    ap.add_argument('--kind', choices=KINDS, required=True)
    ap.add_argument('--shape', type=parse_shape, default=(96, 96, 96), help='N or X,Y,Z (NIfTI order, Z = depth); default 96')
    ap.add_argument('--voxel-um', type=float, default=60.0)
    a = ap.parse_args(argv)
    if a.seed < 0:
        ap.error('--seed must be >= 0')
    meta, dt = generate(a.out_dir, a.seed, a.kind, a.shape, a.voxel_um)
    c = meta['contrast']['classes']
    cs = ', '.join(f"{k}: {v['contrast']:.2f}" if 'contrast' in v else f'{k}: -' for k, v in c.items())
    print(f"{a.kind} seed {a.seed} shape {meta['shape_xyz']} -> {a.out_dir}: {meta['root_voxel_count']} root voxels, "
          f"contrast {cs}; roots with contrast>=1: {meta['contrast']['fraction_roots_contrast_ge_1']}; "
          f"best band Dice {meta['best_grey_band_dice']['dice']:.3f} (smoothed {meta['best_grey_band_dice_after_gaussian_sigma1']['dice']:.3f}); {dt:.1f} s")


if __name__ == '__main__':
    main()
