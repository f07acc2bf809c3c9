// RMSprop update, elementwise, with PyTorch's torch.optim.RMSprop semantics (eps outside the sqrt):
//   g ← g + wd·θ
//   s ← α·s + (1 − α)·g²
//   CENTERED: a ← α·a + (1 − α)·g,  avg = sqrt(s − a²) + eps;  else avg = sqrt(s) + eps
//   MOMENTUM: b ← μ·b + g / avg,  θ ← θ − lr·b;                 else θ ← θ − lr·g / avg
// The momentum and average buffers are only touched when their override is on. 1 − α is formed on
// the host in float64 and rounded once, as PyTorch does.

struct Params {
  count: u32, offP: u32, offG: u32, offS: u32,
  offB: u32, offA: u32, _p0: u32, _p1: u32,
  lr: f32, alpha: f32, oneMinusAlpha: f32, eps: f32,
  weightDecay: f32, momentum: f32, _p2: f32, _p3: f32,
}

override WG: u32 = 256;
// #include linear_index
override MOMENTUM: bool = false;
override CENTERED: bool = false;

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> square: array<f32>;
@group(0) @binding(3) var<storage, read_write> buf: array<f32>;
@group(0) @binding(4) var<storage, read_write> gavg: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.count) { return; }
  let theta = param[p.offP + i];
  let g = grad[p.offG + i] + p.weightDecay * theta;
  let s = p.alpha * square[p.offS + i] + p.oneMinusAlpha * g * g;
  square[p.offS + i] = s;
  var avg: f32;
  if (CENTERED) {
    let a = p.alpha * gavg[p.offA + i] + p.oneMinusAlpha * g;
    gavg[p.offA + i] = a;
    avg = sqrt(s - a * a) + p.eps;
  } else {
    avg = sqrt(s) + p.eps;
  }
  if (MOMENTUM) {
    let b = p.momentum * buf[p.offB + i] + g / avg;
    buf[p.offB + i] = b;
    param[p.offP + i] = theta - p.lr * b;
  } else {
    param[p.offP + i] = theta - p.lr * g / avg;
  }
}
