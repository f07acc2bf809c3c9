// Trilinear upsampling by an integer factor F along D, H and W, NCDHW f32, with PyTorch's
// align_corners=False semantics: output o of an axis samples source position
//   s = (o + 0.5) / F − 0.5, clamped below at 0,
// between i0 = floor(s) and i1 = min(i0 + 1, n − 1) with weights l0 = 1 − l1, l1 = s − i0.
// s = (2o + 1 − F) / (2F) is split by integer division, so i0 is exact and l1 rounds once.
//
// Entry `forward`: one invocation per output voxel, 8 taps.
// Entry `backward_axis`: the transpose of the 1D interpolation along one axis, in gather form
//   (trilinear backward is three of these, one per axis). The tensor is viewed as
//   [outer, len, inner] with the axis in the middle; one invocation per element of the result
//   (axis length n) sums the gradients of the outputs (axis length F·n) that read it: those lie in
//   [F(i − 1), F(i + 2)), and each is tested with the same taps() as the forward pass.

struct Params { planes: u32, inD: u32, inH: u32, inW: u32, total: u32 }
struct AxisParams { outer: u32, n: u32, inner: u32, total: u32 }

override F: u32 = 2u;
override WG: u32 = 64;

// #include linear_index

struct Taps { i0: u32, i1: u32, l0: f32, l1: f32 }

fn taps(o: u32, n: u32) -> Taps {
  let num = i32(2u * o + 1u) - i32(F);
  var t: Taps;
  t.i0 = 0u;
  t.l1 = 0.0;
  if (num > 0) {
    t.i0 = u32(num) / (2u * F);
    t.l1 = f32(u32(num) % (2u * F)) / f32(2u * F);
  }
  t.i1 = min(t.i0 + 1u, n - 1u);
  t.l0 = 1.0 - t.l1;
  return t;
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.total) { return; }
  let outW = p.inW * F;
  let outH = p.inH * F;
  let outD = p.inD * F;
  var t = i;
  let ow = t % outW; t = t / outW;
  let oh = t % outH; t = t / outH;
  let od = t % outD;
  let plane = t / outD;
  let tw = taps(ow, p.inW);
  let th = taps(oh, p.inH);
  let td = taps(od, p.inD);
  let base = plane * p.inD;
  let r00 = ((base + td.i0) * p.inH + th.i0) * p.inW;
  let r01 = ((base + td.i0) * p.inH + th.i1) * p.inW;
  let r10 = ((base + td.i1) * p.inH + th.i0) * p.inW;
  let r11 = ((base + td.i1) * p.inH + th.i1) * p.inW;
  let v0 = th.l0 * (tw.l0 * x[r00 + tw.i0] + tw.l1 * x[r00 + tw.i1]) + th.l1 * (tw.l0 * x[r01 + tw.i0] + tw.l1 * x[r01 + tw.i1]);
  let v1 = th.l0 * (tw.l0 * x[r10 + tw.i0] + tw.l1 * x[r10 + tw.i1]) + th.l1 * (tw.l0 * x[r11 + tw.i0] + tw.l1 * x[r11 + tw.i1]);
  y[i] = td.l0 * v0 + td.l1 * v1;
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> q: AxisParams;

@compute @workgroup_size(WG)
fn backward_axis(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let j = linear(wid, nwg, lid);
  if (j >= q.total) { return; }
  let r = j % q.inner;
  let t = j / q.inner;
  let i = t % q.n;
  let outer = t / q.n;
  let outLen = q.n * F;
  let src = outer * outLen * q.inner + r;
  let lo = select(0u, (i - 1u) * F, i > 0u);
  let hi = min(outLen, (i + 2u) * F);
  var acc = 0.0;
  for (var o = lo; o < hi; o++) {
    let k = taps(o, q.n);
    var w = 0.0;
    if (k.i0 == i) { w += k.l0; }
    if (k.i1 == i) { w += k.l1; }
    if (w != 0.0) { acc += w * dy[src + o * q.inner]; }
  }
  dx[j] = acc;
}
