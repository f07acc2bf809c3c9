// 3D max-pool, kernel 2, stride 2, no padding, NCDHW f32; odd extents floor (the last input
// plane/row/column along an odd axis is dropped, as in PyTorch).
// Entry `forward`: one invocation per output; y = the window's maximum and argmax = its position in
//   the window, (kd·2 + kh)·2 + kw, the first maximum on ties (PyTorch's scan order). NaN inputs are
//   not propagated specially.
// Entry `backward` (gather form, no atomics): one invocation per input voxel; it receives dy of the
//   output whose window holds it when the recorded argmax points at it, else 0 (also 0 for the voxels
//   a floor dropped).

struct Params {
  planes: u32, inD: u32, inH: u32, inW: u32,
  outD: u32, outH: u32, outW: u32, total: u32,
}

override WG: u32 = 64;

// #include linear_index

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read_write> argmax: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.total) { return; }
  var t = i;
  let ow = t % p.outW; t = t / p.outW;
  let oh = t % p.outH; t = t / p.outH;
  let od = t % p.outD;
  let plane = t / p.outD;
  let base = ((plane * p.inD + 2u * od) * p.inH + 2u * oh) * p.inW + 2u * ow;
  var best = x[base];
  var arg = 0u;
  for (var k = 1u; k < 8u; k++) {
    let v = x[base + ((k >> 2u) * p.inH + ((k >> 1u) & 1u)) * p.inW + (k & 1u)];
    if (v > best) { best = v; arg = k; }
  }
  y[i] = best;
  argmax[i] = arg;
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read> argmaxIn: array<u32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> q: Params;

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q.total) { return; }
  var t = i;
  let iw = t % q.inW; t = t / q.inW;
  let ih = t % q.inH; t = t / q.inH;
  let id = t % q.inD;
  let plane = t / q.inD;
  let od = id / 2u;
  let oh = ih / 2u;
  let ow = iw / 2u;
  var g = 0.0;
  if (od < q.outD && oh < q.outH && ow < q.outW) {
    let o = ((plane * q.outD + od) * q.outH + oh) * q.outW + ow;
    let k = ((id & 1u) * 2u + (ih & 1u)) * 2u + (iw & 1u);
    if (argmaxIn[o] == k) { g = dy[o]; }
  }
  dx[i] = g;
}
