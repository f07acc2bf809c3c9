// Soft Dice loss on probabilities p with targets t over all elements:
//   L = 1 − (2I + eps) / (S + eps),  I = Σ p·t,  S = Σ p + Σ t,
//   dL/dp_i = −(2 t_i (S + eps) − (2I + eps)) / (S + eps)²   (times `scale`).
// Entry `partial`: invocation r of `chunks` takes elements r, r + chunks, … of one run and writes
//   part[partBase + r] = (Σ p·t, Σ p + Σ t); loss_reduce.wgsl finishes the sums (res[0] = I,
//   res[1] = S) and the loss.
// Entry `grad`: the gradient from the finished sums.

struct Params {
  count: u32, offP: u32, offT: u32, offG: u32,
  partBase: u32, chunks: u32, _p0: u32, _p1: u32,
  eps: f32, scale: f32, _p2: f32, _p3: f32,
}

override WG: u32 = 64;

// #include linear_index

@group(0) @binding(0) var<storage, read> prob: array<f32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<vec2f>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let r = linear(wid, nwg, lid);
  if (r >= p.chunks) { return; }
  var acc = vec2f(0.0);
  for (var i = r; i < p.count; i += p.chunks) {
    let pi = prob[p.offP + i];
    let ti = t[p.offT + i];
    acc += vec2f(pi * ti, pi + ti);
  }
  part[p.partBase + r] = acc;
}

@group(0) @binding(0) var<storage, read> res: array<f32>;
@group(0) @binding(1) var<storage, read> tgt: array<f32>;
@group(0) @binding(2) var<storage, read_write> g: array<f32>;
@group(0) @binding(3) var<uniform> q: Params;

@compute @workgroup_size(WG)
fn grad(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q.count) { return; }
  let den = res[1] + q.eps;
  let num = 2.0 * res[0] + q.eps;
  g[q.offG + i] = -q.scale * (2.0 * tgt[q.offT + i] * den - num) / (den * den);
}
