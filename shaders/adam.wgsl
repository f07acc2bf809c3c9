// Adam update, elementwise over one parameter buffer, its gradient and its two moment buffers,
// with PyTorch's torch.optim.Adam semantics (and AdamW's decoupled decay when DECOUPLED):
//   g ← g + wd·θ                      (L2 decay; DECOUPLED: θ ← θ·decay, decay = 1 − lr·wd, instead)
//   m ← β1·m + (1 − β1)·g
//   v ← β2·v + (1 − β2)·g²
//   θ ← θ − (lr / bc1) · m / (sqrt(v) / sqrt(bc2) + eps),   bc_k = 1 − β_k^t
// Scalars such as 1 − β2 and lr/bc1 are formed on the host in float64 and rounded once, as PyTorch
// does (1 − f32(0.999) would be off by 1.3e-5 relative).

struct Params {
  count: u32, offP: u32, offG: u32, offM: u32,
  offV: u32, _p0: u32, _p1: u32, _p2: u32,
  beta1: f32, oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32,
  eps: f32, weightDecay: f32, decay: f32, stepSize: f32,
  sqrtBc2: f32, _p3: f32, _p4: f32, _p5: f32,
}

override WG: u32 = 256;
// #include linear_index
override DECOUPLED: bool = false;

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> m: array<f32>;
@group(0) @binding(3) var<storage, read_write> v: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.count) { return; }
  var theta = param[p.offP + i];
  var g = grad[p.offG + i];
  if (DECOUPLED) { theta = theta * p.decay; } else { g = g + p.weightDecay * theta; }
  let mi = p.beta1 * m[p.offM + i] + p.oneMinusBeta1 * g;
  let vi = p.beta2 * v[p.offV + i] + p.oneMinusBeta2 * g * g;
  m[p.offM + i] = mi;
  v[p.offV + i] = vi;
  param[p.offP + i] = theta - p.stepSize * mi / (sqrt(vi) / p.sqrtBc2 + p.eps);
}
