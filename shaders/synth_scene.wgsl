// Synthetic soil-root scene, one voxel per invocation over a (chunk + halo) box.
//
// Writes, for every voxel of the box, the grey value before the point-spread blur (roots with
// supersampled partial volume, soil grains, fines, water, air, stones, organic fragments,
// biopores, the container wall, and the correlated part of the noise), and for the voxels of
// the write box (the chunk itself) the root coverage code: bits 0-7 the number of the S^3
// subsamples inside a root, bit 8 set when a root's centreline passes through the voxel.
//
// Everything is a function of the global voxel index and the seed, never of the box, so a
// voxel comes out the same whichever chunk computes it. Positions are millimetres from the
// centre of voxel (0, 0, 0).
//
// Primitives are round cones (spheres swept from a to b with a linearly varying radius),
// three vec4 each: (a, ra), (b, rb), (value, roughness, kind, id). They arrive sorted into bins
// of BIN voxels: `offsets[bin] .. offsets[bin + 1]` index `list`, in increasing primitive order.

struct Params {
  ox: i32, oy: i32, oz: i32, total: u32,
  nx: u32, ny: u32, nz: u32, seed: u32,
  wx0: u32, wy0: u32, wz0: u32, binSize: u32,
  wx: u32, wy: u32, wz: u32, _pad0: u32,
  bx: u32, by: u32, bz: u32, _pad1: u32,
  vsx: f32, vsy: f32, vsz: f32, corrNoise: f32,
  axisX: f32, axisY: f32, rin: f32, rout: f32,
  wallValue: f32, outsideValue: f32, rootGapThreshold: f32, rootGapWidth: f32,
  grainSize: f32, grainSpread: f32, gapHalf: f32, roundRadius: f32,
  grainValue: f32, grainValueSd: f32, heavyFraction: f32, heavyValue: f32,
  darkFraction: f32, darkValue: f32, grainTexture: f32, macroporeScale: f32,
  macroporeThreshold: f32, finesThreshold: f32, finesValue: f32, finesTexture: f32,
  finesScale: f32, waterFilm: f32, waterValue: f32, saturationScale: f32,
  saturationThreshold: f32, airValue: f32, steleBoost: f32, grainFill: f32,
  // crackThreshold below -5: no cracks.
  crackScale: f32, crackWidth: f32, crackThreshold: f32, steleStart: f32,
  // Seeds of the random fields, stream(k) of the scan seed for k = 1..10 (set by the host).
  s1: u32, s2: u32, s3: u32, s4: u32,
  s5: u32, s6: u32, s7: u32, s8: u32,
  s9: u32, s10: u32, steleEnd: f32, _pad4: u32,
}

@group(0) @binding(0) var<storage, read> segs: array<vec4f>;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;
@group(0) @binding(2) var<storage, read> list: array<u32>;
@group(0) @binding(3) var<storage, read_write> value: array<f32>;
@group(0) @binding(4) var<storage, read_write> code: array<u32>;
@group(0) @binding(5) var<uniform> P: Params;

override WG: u32 = 64;
// #include linear_index
// Supersampling per axis for root coverage (S^3 samples, at most 216 so the count fits 8 bits).
override S: u32 = 4;
// Root primitives kept per voxel for supersampling; a voxel near more falls back to all of its bin.
const MAX_NEAR: u32 = 24u;

const KIND_ROOT: u32 = 0u;
const KIND_STONE: u32 = 1u;
const KIND_ORGANIC: u32 = 2u;
const KIND_PORE: u32 = 3u;

// ---- hashing and noise ---------------------------------------------------------------------

// PCG-based 4D hash (Jarzynski & Olano 2020).
fn pcg4d(v0: vec4u) -> vec4u {
  var v = v0 * 1664525u + 1013904223u;
  v.x += v.y * v.w; v.y += v.z * v.x; v.z += v.x * v.y; v.w += v.y * v.z;
  v ^= v >> vec4u(16u);
  v.x += v.y * v.w; v.y += v.z * v.x; v.z += v.x * v.y; v.w += v.y * v.z;
  return v;
}

fn unit(h: u32) -> f32 { return f32(h >> 8u) * (1.0 / 16777216.0); }

// Standard normal from two hash words (Box-Muller).
fn gauss(h0: u32, h1: u32) -> f32 {
  let u1 = max(unit(h0), 1.0 / 16777216.0);
  return sqrt(-2.0 * log(u1)) * cos(6.2831853 * unit(h1));
}

// Per-object seeds (stream 20 + id); the fixed fields use P.s1 .. P.s10, computed the same way.
fn stream(k: u32) -> u32 { return pcg4d(vec4u(P.seed, k, 0x9e3779b9u, 0x85ebca6bu)).x; }

// A cheap one-word hash for noise lattices (the fields are smooth; pcg4d is kept for grains).
fn hash3(c: vec3i, s: u32) -> u32 {
  var h = bitcast<u32>(c.x) * 0x8da6b343u + bitcast<u32>(c.y) * 0xd8163841u + bitcast<u32>(c.z) * 0xcb1ab31fu + s;
  h = (h ^ (h >> 16u)) * 0x7feb352du;
  h = (h ^ (h >> 15u)) * 0x846ca68bu;
  return h ^ (h >> 16u);
}

fn lattice(c: vec3i, s: u32) -> f32 {
  return unit(hash3(c, s)) * 2.0 - 1.0;
}

// Value noise in [-1, 1] with quintic interpolation.
fn vnoise(p: vec3f, s: u32) -> f32 {
  let fl = floor(p);
  let i = vec3i(fl);
  let f = p - fl;
  let u = f * f * f * (f * (f * 6.0 - 15.0) + 10.0);
  let a = lattice(i, s);
  let b = lattice(i + vec3i(1, 0, 0), s);
  let c = lattice(i + vec3i(0, 1, 0), s);
  let d = lattice(i + vec3i(1, 1, 0), s);
  let e = lattice(i + vec3i(0, 0, 1), s);
  let g = lattice(i + vec3i(1, 0, 1), s);
  let h = lattice(i + vec3i(0, 1, 1), s);
  let k = lattice(i + vec3i(1, 1, 1), s);
  return mix(mix(mix(a, b, u.x), mix(c, d, u.x), u.y), mix(mix(e, g, u.x), mix(h, k, u.x), u.y), u.z);
}

// Two octaves; the host picks thresholds from this field's distribution (synth/noise-field.ts).
fn fbm(p: vec3f, s: u32) -> f32 {
  return 0.7 * vnoise(p, s) + 0.3 * vnoise(p * 2.13 + vec3f(17.1, 3.7, 9.2), s + 1u);
}

// ---- geometry --------------------------------------------------------------------------------

// Signed distance to a round cone (after Inigo Quilez); a == b is a sphere of radius r1.
fn sdRoundCone(p: vec3f, a: vec3f, b: vec3f, r1: f32, r2: f32) -> f32 {
  let ba = b - a;
  let l2 = dot(ba, ba);
  if (l2 < 1e-14) { return length(p - a) - max(r1, r2); }
  let rr = r1 - r2;
  let a2 = l2 - rr * rr;
  let il2 = 1.0 / l2;
  let pa = p - a;
  let y = dot(pa, ba);
  let z = y - l2;
  let xv = pa * l2 - ba * y;
  let x2 = dot(xv, xv);
  let y2 = y * y * l2;
  let z2 = z * z * l2;
  let k = sign(rr) * rr * rr * x2;
  if (sign(z) * a2 * z2 > k) { return sqrt(x2 + z2) * il2 - r2; }
  if (sign(y) * a2 * y2 < k) { return sqrt(x2 + y2) * il2 - r1; }
  return (sqrt(x2 * a2 * il2) + y * rr) * il2 - r1;
}

// Does the segment a-b pass through the box [lo, hi]? (slab test)
fn segmentHitsBox(a: vec3f, b: vec3f, lo: vec3f, hi: vec3f) -> bool {
  let d = b - a;
  var t0 = 0.0;
  var t1 = 1.0;
  for (var i = 0u; i < 3u; i++) {
    if (abs(d[i]) < 1e-12) {
      if (a[i] < lo[i] || a[i] > hi[i]) { return false; }
    } else {
      let ta = (lo[i] - a[i]) / d[i];
      let tb = (hi[i] - a[i]) / d[i];
      t0 = max(t0, min(ta, tb));
      t1 = min(t1, max(ta, tb));
    }
  }
  return t0 <= t1;
}

fn segDist(s: u32, p: vec3f) -> f32 {
  let A = segs[3u * s];
  let B = segs[3u * s + 1u];
  return sdRoundCone(p, A.xyz, B.xyz, A.w, B.w);
}

// ---- soil ------------------------------------------------------------------------------------

// Shrinkage cracks: the walls of a cell network of crackScale (the distance to the nearest of the
// planes bisecting the nearest jittered cell point and each of its neighbours), the point warped
// first so walls bend and meet at uneven angles. A second field keeps part of the network and
// tapers each wall's width to nothing where it ends, as a crack closes at its tip. Returns the
// share of the voxel in a crack.
fn crack(p: vec3f, vmin: f32) -> f32 {
  let open = clamp((P.crackThreshold - fbm(p / (1.4 * P.crackScale), P.s10 + 7u)) / 0.15, 0.0, 1.0);
  let halfWidth = 0.5 * P.crackWidth * open;
  if (halfWidth <= 0.0) { return 0.0; }
  let cp = p / P.crackScale;
  let wq = cp * 1.7;
  let w = cp + 0.15 * vec3f(vnoise(wq, P.s10), vnoise(wq + vec3f(31.7, 5.3, 0.0), P.s10), vnoise(wq + vec3f(0.0, 47.3, 11.9), P.s10));
  let ci = vec3i(floor(w));
  var pts: array<vec3f, 27>;
  var near = 0u;
  var nearD = 1e30;
  var n = 0u;
  for (var dz = -1; dz <= 1; dz++) {
    for (var dy = -1; dy <= 1; dy++) {
      for (var dx = -1; dx <= 1; dx++) {
        let cell = ci + vec3i(dx, dy, dz);
        let h = pcg4d(vec4u(bitcast<vec3u>(cell), P.s10 ^ 0x2c1b3c6du));
        let c = vec3f(cell) + 0.1 + 0.8 * vec3f(unit(h.x), unit(h.y), unit(h.z));
        let q = w - c;
        pts[n] = c;
        if (dot(q, q) < nearD) { nearD = dot(q, q); near = n; }
        n++;
      }
    }
  }
  var wall = 1e30;
  for (var i = 0u; i < 27u; i++) {
    if (i == near) { continue; }
    let d = pts[i] - pts[near];
    wall = min(wall, dot(w - 0.5 * (pts[i] + pts[near]), -normalize(d)));
  }
  return clamp((halfWidth - wall * P.crackScale) / vmin + 0.5, 0.0, 1.0);
}

// Grains: a Laguerre (power) tessellation of jittered points, one per cell of grainSize, with
// log-normal radii as the power weights (as for a packing of spheres of mixed sizes). Each grain
// is its ellipsoid (the sphere stretched along a random axis) clipped by its cell eroded by half
// the gap: rounded grains with flat contacts. Cells whose centre falls where the macropore field
// is high hold no grain. Between grains: fines where the fines field is low, else water films
// on the grains (thicker in wet patches), else air. Cracks split the soil, grains and all, and hold air.
fn soil(p: vec3f, vmin: f32) -> f32 {
  let gs = P.grainSize;
  let gp = p / gs;
  let ci = vec3i(floor(gp));
  let sGrain = P.s1;
  var cs: array<vec4f, 27>;
  var best = 0u;
  var bestPow = 1e30;
  var bestR = 0.5;
  var bestHash = vec4u(0u);
  var n = 0u;
  for (var dz = -1; dz <= 1; dz++) {
    for (var dy = -1; dy <= 1; dy++) {
      for (var dx = -1; dx <= 1; dx++) {
        let cell = ci + vec3i(dx, dy, dz);
        let h = pcg4d(vec4u(bitcast<vec3u>(cell), sGrain));
        let c = vec3f(cell) + 0.05 + 0.9 * vec3f(unit(h.x), unit(h.y), unit(h.z));
        let r = clamp(P.grainFill * exp(P.grainSpread * (unit(h.w) * 2.0 - 1.0)), 0.15, 0.95);
        let q = gp - c;
        let pw = dot(q, q) - r * r;
        cs[n] = vec4f(c, pw);
        if (pw < bestPow) { bestPow = pw; best = n; bestR = r; bestHash = h; }
        n++;
      }
    }
  }
  let cb = cs[best].xyz;
  var edge = 1e30;
  for (var i = 0u; i < 27u; i++) {
    if (i == best) { continue; }
    let dc = cs[i].xyz - cb;
    edge = min(edge, (cs[i].w - bestPow) / (2.0 * length(dc)));
  }
  // The grain's own shape: an ellipsoid stretched by up to 1.6 along a random axis.
  let hs = pcg4d(bestHash.yzwx ^ vec4u(0x68bc21ebu));
  let ax = normalize(vec3f(unit(hs.x), unit(hs.y), unit(hs.z)) - 0.5 + vec3f(1e-4));
  let stretch = 1.0 + 0.6 * unit(hs.w);
  let q = gp - cb;
  let qa = dot(q, ax);
  let qe = q - ax * qa * (1.0 - 1.0 / stretch);
  let sdfGrain = max(P.gapHalf - edge, length(qe) - bestR * P.roundRadius) * gs;
  let bestHashW = bestHash.w ^ bestHash.x;

  // Is this grain here at all (macropores are cells without grains)?
  let macroField = fbm(cb * (gs / P.macroporeScale), P.s2);
  let present = macroField < P.macroporeThreshold;
  let aGrain = select(0.0, clamp(0.5 - sdfGrain / vmin, 0.0, 1.0), present);

  // The grain's mineral: heavy (bright), dark (porous, organic-coated) or ordinary.
  let hv = pcg4d(vec4u(bestHashW, sGrain, 7u, 11u));
  let u = unit(hv.x);
  var gv = P.grainValue + P.grainValueSd * gauss(hv.y, hv.z);
  if (u < P.heavyFraction) {
    gv = P.heavyValue + 0.04 * gauss(hv.y, hv.z);
  } else if (u < P.heavyFraction + P.darkFraction) {
    gv = P.darkValue + 0.03 * gauss(hv.y, hv.z);
  }
  if (P.grainTexture > 0.0 && aGrain > 0.0) { gv += P.grainTexture * vnoise(gp * 3.1, P.s3); }

  // The space between grains.
  let fines = fbm(p / P.finesScale, P.s4);
  var aFines = clamp((P.finesThreshold - fines) / 0.1 + 0.5, 0.0, 1.0);
  let inMacro = select(1.0, 0.0, present);
  aFines *= 1.0 - 0.85 * inMacro;
  var fv = P.finesValue;
  if (aFines > 0.0 && P.finesTexture > 0.0) { fv += P.finesTexture * vnoise(p / (gs * 0.35), P.s5); }
  var aSat = 0.0;
  if (P.saturationThreshold < 5.0) {
    let sat = fbm(p / P.saturationScale, P.s6);
    aSat = clamp((sat - P.saturationThreshold) / 0.08 + 0.5, 0.0, 1.0) * (1.0 - 0.7 * inMacro);
  }
  let film = P.waterFilm * (1.0 + 2.0 * aSat);
  let dSurf = select(1e30, sdfGrain, present);
  let aWater = max(aSat, clamp((film - dSurf) / vmin + 0.5, 0.0, 1.0) * step(1e-9, P.waterFilm));
  let pore = mix(P.airValue, P.waterValue, aWater);
  let between = mix(pore, fv, aFines);
  let v = mix(between, gv, aGrain);
  if (P.crackThreshold > -5.0) { return mix(v, P.airValue, crack(p, vmin)); }
  return v;
}

// ---- main ------------------------------------------------------------------------------------

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let gid = linear(wid, nwg, lid);
  if (gid >= P.total) { return; }
  let lx = gid % P.nx;
  let ly = (gid / P.nx) % P.ny;
  let lz = gid / (P.nx * P.ny);
  let g = vec3i(i32(lx) + P.ox, i32(ly) + P.oy, i32(lz) + P.oz);
  let vs = vec3f(P.vsx, P.vsy, P.vsz);
  let p = vec3f(g) * vs;
  let vmin = min(P.vsx, min(P.vsy, P.vsz));
  let half = 0.5 * length(vs);

  // Primitives near this voxel.
  let bin = ((lz / P.binSize) * P.by + ly / P.binSize) * P.bx + lx / P.binSize;
  let start = offsets[bin];
  let end = offsets[bin + 1u];
  var dRoot = 1e30;
  var rootSeg = 0u;
  var dObj = 1e30;
  var objSeg = 0u;
  var near: array<u32, MAX_NEAR>;
  var nNear = 0u;
  var overflow = false;
  var centreline = false;
  let lo = p - 0.5 * vs;
  let hi = p + 0.5 * vs;
  for (var i = start; i < end; i++) {
    let s = list[i];
    let A = segs[3u * s];
    let B = segs[3u * s + 1u];
    let M = segs[3u * s + 2u];
    let kind = u32(M.z);
    var d = sdRoundCone(p, A.xyz, B.xyz, A.w, B.w);
    if (kind == KIND_ROOT) {
      if (d < dRoot) { dRoot = d; rootSeg = s; }
      if (d < half) {
        if (nNear < MAX_NEAR) { near[nNear] = s; nNear++; } else { overflow = true; }
        if (!centreline && segmentHitsBox(A.xyz, B.xyz, lo, hi)) { centreline = true; }
      }
    } else {
      let r = max(A.w, B.w);
      if (M.y > 0.0 && d < r * M.y + vmin) {
        d += M.y * r * vnoise(p / max(r * 0.6, vmin), stream(20u + u32(M.w) % 1024u));
      }
      if (d < dObj) { dObj = d; objSeg = s; }
    }
  }

  // Root coverage by supersampling where the surface may cross the voxel.
  let S3 = S * S * S;
  var k = 0u;
  if (dRoot <= -half) {
    k = S3;
  } else if (dRoot < half) {
    for (var sz = 0u; sz < S; sz++) {
      for (var sy = 0u; sy < S; sy++) {
        for (var sx = 0u; sx < S; sx++) {
          let q = p + ((vec3f(f32(sx), f32(sy), f32(sz)) + 0.5) / f32(S) - 0.5) * vs;
          var inside = false;
          if (!overflow) {
            for (var j = 0u; j < nNear; j++) {
              if (segDist(near[j], q) < 0.0) { inside = true; break; }
            }
          } else {
            for (var i = start; i < end; i++) {
              let s = list[i];
              if (u32(segs[3u * s + 2u].z) == KIND_ROOT && segDist(s, q) < 0.0) { inside = true; break; }
            }
          }
          if (inside) { k++; }
        }
      }
    }
  }
  let cov = f32(k) / f32(S3);

  // The grey value outside roots: soil, then objects, then the air gap around roots.
  var outside = P.airValue;
  let rxy = length(p.xy - vec2f(P.axisX, P.axisY));
  if (k < S3 && rxy < P.rout + vmin) {
    outside = soil(p, vmin);
    if (dObj < vmin) {
      let M = segs[3u * objSeg + 2u];
      let kind = u32(M.z);
      var ov = M.x;
      if (kind == KIND_STONE) { ov += 0.05 * vnoise(p / (P.grainSize * 0.5), P.s7); }
      if (kind == KIND_ORGANIC) { ov += 0.03 * vnoise(p / (P.grainSize * 0.3), P.s8); }
      let aObj = clamp(0.5 - dObj / vmin, 0.0, 1.0);
      outside = mix(outside, ov, aObj);
    }
    if (P.rootGapWidth > 0.0 && dRoot > -half && dRoot < P.rootGapWidth + vmin) {
      let gn = vnoise(p / 0.6, P.s9);
      let w = P.rootGapWidth * clamp((gn - P.rootGapThreshold) / 0.25, 0.0, 1.0);
      let aGap = clamp((w - max(dRoot, 0.0)) / vmin + 0.5, 0.0, 1.0) * step(1e-6, w);
      outside = mix(outside, P.airValue, aGap);
    }
  }
  var v = outside;
  if (k > 0u) {
    let A = segs[3u * rootSeg];
    let B = segs[3u * rootSeg + 1u];
    let M = segs[3u * rootSeg + 2u];
    let rMean = max(0.5 * (A.w + B.w), 1e-6);
    let rv = M.x + P.steleBoost * smoothstep(P.steleStart, P.steleEnd, -dRoot / rMean);
    v = mix(outside, rv, cov);
  }

  // The container: wall, then air outside it.
  let aWall = clamp((rxy - P.rin) / vmin + 0.5, 0.0, 1.0);
  let aOut = clamp((rxy - P.rout) / vmin + 0.5, 0.0, 1.0);
  v = mix(mix(v, P.wallValue, aWall), P.outsideValue, aOut);

  // Noise before blurring comes out spatially correlated, as in reconstructed scans.
  if (P.corrNoise > 0.0) {
    let h = pcg4d(vec4u(bitcast<vec3u>(g), P.seed ^ 0x51ed270bu));
    v += P.corrNoise * gauss(h.x, h.y);
  }
  value[gid] = v;

  if (lx >= P.wx0 && ly >= P.wy0 && lz >= P.wz0 && lx < P.wx0 + P.wx && ly < P.wy0 + P.wy && lz < P.wz0 + P.wz) {
    let ci = ((lz - P.wz0) * P.wy + (ly - P.wy0)) * P.wx + (lx - P.wx0);
    code[ci] = k | select(0u, 256u, centreline);
  }
}
