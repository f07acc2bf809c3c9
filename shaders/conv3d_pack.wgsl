// Repacks PyTorch-layout conv weights W[co][ci][kd][kh][kw] into the layouts the conv kernels read.
//   forward:   out[(ci * KK + k) * outerPad + co]   (vec4 over output channels, zero padded)
//   transpose: out[(co * KK + k) * outerPad + ci]   (vec4 over input channels, for backward-data)
// Also pads a bias of length `cout` to `outerPad` (entry pad_bias).

// Declared on the host as PACK_PARAMS (src/nn/ops/conv3d.ts); the Gpu checks that they agree.
struct Params { cout: u32, cin: u32, kk: u32, outerPad: u32, total: u32 }

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

override WG: u32 = 256;

// #include linear_index

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.total) { return; }
  let co = i % p.outerPad;
  let r = i / p.outerPad;
  let k = r % p.kk;
  let ci = r / p.kk;
  var v = 0.0;
  if (co < p.cout) { v = src[(co * p.cin + ci) * p.kk + k]; }
  dst[i] = v;
}

@compute @workgroup_size(WG)
fn transpose(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.total) { return; }
  let ci = i % p.outerPad;
  let r = i / p.outerPad;
  let k = r % p.kk;
  let co = r / p.kk;
  var v = 0.0;
  if (ci < p.cin) { v = src[(co * p.cin + ci) * p.kk + k]; }
  dst[i] = v;
}

@compute @workgroup_size(WG)
fn pad_bias(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.outerPad) { return; }
  var v = 0.0;
  if (i < p.cout) { v = src[i]; }
  dst[i] = v;
}
