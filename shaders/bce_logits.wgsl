// Binary cross-entropy on logits z with targets t and optional per-voxel weights w (a mask is a 0/1
// weight), stable for any z:  l = max(z, 0) − z·t + log(1 + e^−|z|),  dl/dz = σ(z) − t.
// Entry `partial`: invocation r of `chunks` takes elements r, r + chunks, … of one run (coalesced,
//   fixed order), writes the gradient w·(σ(z) − t)·gradScale and part[partBase + r] = (Σ w·l, Σ w);
//   loss_reduce.wgsl finishes the sum.
// Entry `normalize`: when the mean is over Σ w rather than the element count, divides the gradient
//   by the finished Σ w (res[1]), 0 where it is 0.

struct Params {
  count: u32, offZ: u32, offT: u32, offW: u32,
  offG: u32, partBase: u32, chunks: u32, _p0: u32,
  gradScale: f32, _p1: f32, _p2: f32, _p3: f32,
}

override WG: u32 = 64;
override HAS_WEIGHT: bool = false;

// #include linear_index

// log(1 + e) accurate for small e (Goldberg's trick), 0 <= e <= 1.
fn log1p(e: f32) -> f32 {
  let u = 1.0 + e;
  if (u == 1.0) { return e; }
  return log(u) * e / (u - 1.0);
}

@group(0) @binding(0) var<storage, read> z: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> g: array<f32>;
@group(0) @binding(4) var<storage, read_write> part: array<vec2f>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = linear(wid, nwg, lid);
  if (r >= p.chunks) { return; }
  var acc = vec2f(0.0);
  for (var i = r; i < p.count; i += p.chunks) {
    let zi = z[p.offZ + i];
    let ti = t[p.offT + i];
    var wi = 1.0;
    if (HAS_WEIGHT) { wi = w[p.offW + i]; }
    let e = exp(-abs(zi));
    let l = max(zi, 0.0) - zi * ti + log1p(e);
    let s = select(e / (1.0 + e), 1.0 / (1.0 + e), zi >= 0.0);
    g[p.offG + i] = wi * (s - ti) * p.gradScale;
    acc += vec2f(wi * l, wi);
  }
  part[p.partBase + r] = acc;
}

@group(0) @binding(0) var<storage, read> res: array<f32>;
@group(0) @binding(1) var<storage, read_write> grad: array<f32>;
@group(0) @binding(2) var<uniform> q: Params;

@compute @workgroup_size(WG)
fn normalize(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q.count) { return; }
  let sw = res[1];
  grad[q.offG + i] = select(0.0, grad[q.offG + i] / sw, sw != 0.0);
}
