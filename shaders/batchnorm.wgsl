// Batch norm 3D: the per-channel steps, one invocation per channel. The passes over whole tensors
// are channel_reduce.wgsl (sums) and channel_affine.wgsl (maps) driven with these coefficients.
//
// Training forward (two-pass variance, robust when |mean| >> std):
//   s1 = (Σx, ·) ─ mean_shift ─▶ coef (1, −m0), m0 = Σx/N;  y ← x − m0 (channel_affine)
//   s2 = (Σ(x−m0), Σ(x−m0)²) ─ train_stats ─▶ mean = m0 + δ, var = Σ(x−m0)²/N − δ², δ = Σ(x−m0)/N,
//        invstd = 1/sqrt(var + eps); running_mean/var ← (1 − momentum)·old + momentum·(mean,
//        var·N/(N−1))  (biased var normalises, unbiased var is tracked, as PyTorch)
//   train_coef ─▶ (γ·invstd, β − δ·γ·invstd): y ← y·a + b in place.
// Backward: shift_coef (1, −mean) makes xc = x − mean in dx's buffer; sums (Σdy, Σdy·xc) give
//   backward_coef: dβ = Σdy, dγ = invstd·Σdy·xc and dx = A·dy + B·xc + C with A = γ·invstd,
//   B = −A·invstd²·Σdy·xc/N, C = −A·Σdy/N (channel_affine mix_inplace).
// Inference: inference_coef gives s = γ/sqrt(running_var + eps), t = β − running_mean·s, y = x·s + t;
//   fold_bias folds it into a preceding conv's bias (b' = b·s + t; the weight is scaled by s).

struct Params {
  c: u32, accumulate: u32, _p0: u32, _p1: u32,
  invCount: f32, eps: f32, momentum: f32, unbias: f32,
}

override WG: u32 = 64;
// #include linear_index
override HAS_BIAS: bool = true;

fn channel(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return linear(wid, nwg, lid);
}

// ---- mean_shift: coef = (1, −Σx/N)
@group(0) @binding(0) var<storage, read> msSums: array<vec2f>;
@group(0) @binding(1) var<storage, read_write> msCoef: array<vec2f>;
@group(0) @binding(2) var<uniform> msP: Params;

@compute @workgroup_size(WG)
fn mean_shift(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = channel(wid, nwg, lid);
  if (c >= msP.c) { return; }
  msCoef[c] = vec2f(1.0, -msSums[c].x * msP.invCount);
}

// ---- train_stats: saved mean/invstd and the running-statistics update
@group(0) @binding(0) var<storage, read> tsSums1: array<vec2f>;
@group(0) @binding(1) var<storage, read> tsSums2: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> tsMean: array<f32>;
@group(0) @binding(3) var<storage, read_write> tsInvstd: array<f32>;
@group(0) @binding(4) var<storage, read_write> tsRunMean: array<f32>;
@group(0) @binding(5) var<storage, read_write> tsRunVar: array<f32>;
@group(0) @binding(6) var<uniform> tsP: Params;

@compute @workgroup_size(WG)
fn train_stats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = channel(wid, nwg, lid);
  if (c >= tsP.c) { return; }
  let m0 = tsSums1[c].x * tsP.invCount;
  let s2 = tsSums2[c];
  let delta = s2.x * tsP.invCount;
  let mean = m0 + delta;
  let v = max(s2.y * tsP.invCount - delta * delta, 0.0);
  tsMean[c] = mean;
  tsInvstd[c] = 1.0 / sqrt(v + tsP.eps);
  let m = tsP.momentum;
  tsRunMean[c] = (1.0 - m) * tsRunMean[c] + m * mean;
  tsRunVar[c] = (1.0 - m) * tsRunVar[c] + m * v * tsP.unbias;
}

// ---- train_coef: y ← (x − m0)·a + b with a = γ·invstd, b = β − δ·a
@group(0) @binding(0) var<storage, read> tcSums2: array<vec2f>;
@group(0) @binding(1) var<storage, read> tcInvstd: array<f32>;
@group(0) @binding(2) var<storage, read> tcGamma: array<f32>;
@group(0) @binding(3) var<storage, read> tcBeta: array<f32>;
@group(0) @binding(4) var<storage, read_write> tcCoef: array<vec2f>;
@group(0) @binding(5) var<uniform> tcP: Params;

@compute @workgroup_size(WG)
fn train_coef(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = channel(wid, nwg, lid);
  if (c >= tcP.c) { return; }
  let a = tcGamma[c] * tcInvstd[c];
  let delta = tcSums2[c].x * tcP.invCount;
  tcCoef[c] = vec2f(a, tcBeta[c] - delta * a);
}

// ---- shift_coef: coef = (1, −mean)
@group(0) @binding(0) var<storage, read> scMean: array<f32>;
@group(0) @binding(1) var<storage, read_write> scCoef: array<vec2f>;
@group(0) @binding(2) var<uniform> scP: Params;

@compute @workgroup_size(WG)
fn shift_coef(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = channel(wid, nwg, lid);
  if (c >= scP.c) { return; }
  scCoef[c] = vec2f(1.0, -scMean[c]);
}

// ---- backward_coef: dγ, dβ (written, or added with `accumulate`) and the dx coefficients
@group(0) @binding(0) var<storage, read> bcSums: array<vec2f>;
@group(0) @binding(1) var<storage, read> bcInvstd: array<f32>;
@group(0) @binding(2) var<storage, read> bcGamma: array<f32>;
@group(0) @binding(3) var<storage, read_write> bcDgamma: array<f32>;
@group(0) @binding(4) var<storage, read_write> bcDbeta: array<f32>;
@group(0) @binding(5) var<storage, read_write> bcCoef: array<vec4f>;
@group(0) @binding(6) var<uniform> bcP: Params;

@compute @workgroup_size(WG)
fn backward_coef(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = channel(wid, nwg, lid);
  if (c >= bcP.c) { return; }
  let s = bcSums[c];
  let invstd = bcInvstd[c];
  var dg = invstd * s.y;
  var db = s.x;
  let a = bcGamma[c] * invstd;
  bcCoef[c] = vec4f(a, -a * invstd * dg * bcP.invCount, -a * s.x * bcP.invCount, 0.0);
  if (bcP.accumulate != 0u) {
    dg += bcDgamma[c];
    db += bcDbeta[c];
  }
  bcDgamma[c] = dg;
  bcDbeta[c] = db;
}

// ---- inference_coef: s = γ/sqrt(running_var + eps), t = β − running_mean·s
@group(0) @binding(0) var<storage, read> icGamma: array<f32>;
@group(0) @binding(1) var<storage, read> icBeta: array<f32>;
@group(0) @binding(2) var<storage, read> icRunMean: array<f32>;
@group(0) @binding(3) var<storage, read> icRunVar: array<f32>;
@group(0) @binding(4) var<storage, read_write> icCoef: array<vec2f>;
@group(0) @binding(5) var<uniform> icP: Params;

@compute @workgroup_size(WG)
fn inference_coef(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = channel(wid, nwg, lid);
  if (c >= icP.c) { return; }
  let s = icGamma[c] / sqrt(icRunVar[c] + icP.eps);
  icCoef[c] = vec2f(s, icBeta[c] - icRunMean[c] * s);
}

// ---- fold_bias: b' = b·s + t (HAS_BIAS = false: b' = t)
@group(0) @binding(0) var<storage, read> fbBias: array<f32>;
@group(0) @binding(1) var<storage, read> fbCoef: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> fbOut: array<f32>;
@group(0) @binding(3) var<uniform> fbP: Params;

@compute @workgroup_size(WG)
fn fold_bias(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = channel(wid, nwg, lid);
  if (c >= fbP.c) { return; }
  let k = fbCoef[c];
  var v = k.y;
  if (HAS_BIAS) { v += fbBias[c] * k.x; }
  fbOut[c] = v;
}
