// Last step of a synthetic scan chunk: beam-hardening cupping, ring artefacts and white noise on
// the blurred grey values, quantised to uint16 (two per word), and the root mask from the
// coverage codes (one byte per voxel, four per word): a voxel is root when at least half of its
// subsamples lie in a root, or when a root's centreline passes through it (so roots thinner than
// a voxel stay connected in the mask). Also sums the subsample counts, for the root volume.
//
// Each invocation handles four consecutive voxels of the chunk (x fastest).
struct Params {
  wx: u32, wy: u32, count: u32, words: u32,
  gx: i32, gy: i32, gz: i32, seed: u32,
  vsx: f32, vsy: f32, axisX: f32, axisY: f32,
  noise: f32, rings: f32, ringDensity: f32, cupping: f32,
  cupRadius: f32, gain: f32, offset: f32, s3: u32,
  maxValue: f32, gamma: f32, bias: f32, biasScale: f32,
}

@group(0) @binding(0) var<storage, read> value: array<f32>;
@group(0) @binding(1) var<storage, read> code: array<u32>;
@group(0) @binding(2) var<storage, read_write> image: array<u32>;
@group(0) @binding(3) var<storage, read_write> mask: array<u32>;
@group(0) @binding(4) var<storage, read_write> stats: array<atomic<u32>>;
@group(0) @binding(5) var<uniform> P: Params;

override WG: u32 = 64;
// #include linear_index

var<workgroup> wgCover: atomic<u32>;
var<workgroup> wgMask: atomic<u32>;

fn pcg4d(v0: vec4u) -> vec4u {
  var v = v0 * 1664525u + 1013904223u;
  v.x += v.y * v.w; v.y += v.z * v.x; v.z += v.x * v.y; v.w += v.y * v.z;
  v ^= v >> vec4u(16u);
  v.x += v.y * v.w; v.y += v.z * v.x; v.z += v.x * v.y; v.w += v.y * v.z;
  return v;
}

fn unit(h: u32) -> f32 { return f32(h >> 8u) * (1.0 / 16777216.0); }

fn gauss(h0: u32, h1: u32) -> f32 {
  let u1 = max(unit(h0), 1.0 / 16777216.0);
  return sqrt(-2.0 * log(u1)) * cos(6.2831853 * unit(h1));
}

// Ring amplitude at radius bin b (voxels) for the band of slices zb: a few radii carry a ring
// whose strength drifts slowly along z.
fn ringAt(b: i32, zb: i32) -> f32 {
  let h = pcg4d(vec4u(bitcast<u32>(b), bitcast<u32>(zb), P.seed, 0x2545f491u));
  let on = select(0.0, 1.0, unit(h.x) < P.ringDensity);
  let hb = pcg4d(vec4u(bitcast<u32>(b), 0u, P.seed, 0x2545f491u));
  return on * gauss(hb.y, hb.z) * (0.6 + 0.8 * unit(h.w));
}

// A smooth field in [-1, 1]: three plane waves of random direction and phase per scan (scale in
// units of biasScale), so it varies over the whole volume like a scanner's bias, never per voxel.
fn biasField(q: vec3f) -> f32 {
  var f = 0.0;
  for (var k = 0u; k < 3u; k++) {
    let h = pcg4d(vec4u(k, P.seed, 0x3c6ef372u, 0xa54ff53au));
    let d = normalize(vec3f(unit(h.x), unit(h.y), unit(h.z)) - 0.5 + vec3f(1e-4));
    f += cos(6.2831853 * (dot(q, d) + unit(h.w)));
  }
  return f / 3.0;
}

fn voxel(i: u32) -> vec2u {
  // Returns (uint16 value, mask byte) for chunk voxel i.
  let x = i % P.wx;
  let y = (i / P.wx) % P.wy;
  let z = i / (P.wx * P.wy);
  let g = vec3i(i32(x) + P.gx, i32(y) + P.gy, i32(z) + P.gz);
  var v = value[i];
  let dx = f32(g.x) * P.vsx - P.axisX;
  let dy = f32(g.y) * P.vsy - P.axisY;
  let r = sqrt(dx * dx + dy * dy);
  if (P.cupping > 0.0) {
    let t = min(1.0, r / P.cupRadius);
    v *= 1.0 - P.cupping * (1.0 - t * t);
  }
  if (P.rings > 0.0) {
    let rb = r / P.vsx;
    let b = i32(floor(rb));
    let fb = rb - f32(b);
    let zf = f32(g.z) / 48.0;
    let zb = i32(floor(zf));
    let fz = zf - f32(zb);
    let r0 = mix(ringAt(b, zb), ringAt(b, zb + 1), fz);
    let r1 = mix(ringAt(b + 1, zb), ringAt(b + 1, zb + 1), fz);
    v += P.rings * mix(r0, r1, fb);
  }
  if (P.noise > 0.0) {
    let h = pcg4d(vec4u(bitcast<vec3u>(g), P.seed ^ 0x68e31da4u));
    v += P.noise * gauss(h.x, h.y);
  }
  if (P.bias > 0.0) {
    v *= 1.0 + P.bias * biasField(vec3f(f32(g.x) * P.vsx, f32(g.y) * P.vsy, f32(g.z) * P.vsx) / P.biasScale);
  }
  if (P.gamma != 1.0) { v = pow(max(v, 0.0), P.gamma); }
  let q = u32(clamp(round(v * P.gain + P.offset), 0.0, P.maxValue));
  let c = code[i];
  let k = c & 255u;
  let m = select(0u, 1u, 2u * k >= P.s3 || (c & 256u) != 0u);
  return vec2u(q, m | (k << 8u));
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (lid == 0u) {
    atomicStore(&wgCover, 0u);
    atomicStore(&wgMask, 0u);
  }
  workgroupBarrier();
  let gid = linear(wid, nwg, lid);
  var cover = 0u;
  var masked = 0u;
  if (gid < P.words) {
    var q = array<u32, 4>(0u, 0u, 0u, 0u);
    var m = 0u;
    for (var j = 0u; j < 4u; j++) {
      let i = 4u * gid + j;
      if (i < P.count) {
        let r = voxel(i);
        q[j] = r.x;
        let mb = r.y & 1u;
        m |= mb << (8u * j);
        cover += r.y >> 8u;
        masked += mb;
      }
    }
    image[2u * gid] = q[0] | (q[1] << 16u);
    image[2u * gid + 1u] = q[2] | (q[3] << 16u);
    mask[gid] = m;
  }
  atomicAdd(&wgCover, cover);
  atomicAdd(&wgMask, masked);
  workgroupBarrier();
  if (lid == 0u) {
    atomicAdd(&stats[0], atomicLoad(&wgCover));
    atomicAdd(&stats[1], atomicLoad(&wgMask));
  }
}
