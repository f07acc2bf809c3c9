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

// Entry `poly`: the weights of conv3d_cat_up.wgsl's `forward_poly` for the channels of its upsampled
// input b (input channels [cinA, cin) of W, K 3, nearest ×2): per output parity (pd, ph, pw) and
// tap (td, th, tw) of b, the sum of W over the kernel taps that land on that voxel of b, tap k of
// parity q landing on tap (q + 1 + k) / 2 − q. Written [cj][pd·4 + ph·2 + pw][td·4 + th·2 + tw][co],
// co zero padded to outerPad. Declared on the host as POLY_PACK_PARAMS (src/nn/ops/conv3d-concat-upsampled.ts).
struct PolyParams { cout: u32, cin: u32, cinA: u32, outerPad: u32, total: u32 }

@group(0) @binding(2) var<uniform> q: PolyParams;

fn poly_tap(k: u32, parity: u32) -> u32 {
  return (parity + 1u + k) / 2u - parity;
}

@compute @workgroup_size(WG)
fn poly(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q.total) { return; }
  let co = i % q.outerPad;
  var r = i / q.outerPad;
  let tap = r % 8u; r = r / 8u;
  let par = r % 8u;
  let cj = r / 8u;
  var v = 0.0;
  if (co < q.cout) {
    let base = (co * q.cin + q.cinA + cj) * 27u;
    for (var kd = 0u; kd < 3u; kd++) {
      if (poly_tap(kd, (par >> 2u) & 1u) != ((tap >> 2u) & 1u)) { continue; }
      for (var kh = 0u; kh < 3u; kh++) {
        if (poly_tap(kh, (par >> 1u) & 1u) != ((tap >> 1u) & 1u)) { continue; }
        for (var kw = 0u; kw < 3u; kw++) {
          if (poly_tap(kw, par & 1u) != (tap & 1u)) { continue; }
          v += src[base + (kd * 3u + kh) * 3u + kw];
        }
      }
    }
  }
  dst[i] = v;
}
