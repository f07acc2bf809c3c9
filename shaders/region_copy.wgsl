// Copies a channel range of one NCDHW f32 tensor into a channel range of another, with a signed
// spatial shift, in gather form: every destination element of channels [dstC0, dstC0 + count)
// reads source channel srcC0 + (c − dstC0) at its own position + shift, or 0 where that position
// lies outside the source. One kernel serves:
//   concat forward    (part ─▶ its channel range of the output, shift 0)
//   concat backward   (the gradient's channel range ─▶ a part's gradient, shift 0)
//   crop forward      (shift = +offset: the window of the input)
//   crop backward     (shift = −offset: the gradient zero-padded back to the input shape)

struct Params {
  n: u32, channels: u32, dstC0: u32, srcC0: u32,
  dstC: u32, dstD: u32, dstH: u32, dstW: u32,
  srcC: u32, srcD: u32, srcH: u32, srcW: u32,
  shiftD: i32, shiftH: i32, shiftW: i32, total: u32,
}

override WG: u32 = 64;
// #include linear_index

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.total) { return; }
  var t = i;
  let x = t % p.dstW; t = t / p.dstW;
  let y = t % p.dstH; t = t / p.dstH;
  let z = t % p.dstD; t = t / p.dstD;
  let c = t % p.channels;
  let n = t / p.channels;
  let sx = i32(x) + p.shiftW;
  let sy = i32(y) + p.shiftH;
  let sz = i32(z) + p.shiftD;
  var v = 0.0;
  if (sx >= 0 && sx < i32(p.srcW) && sy >= 0 && sy < i32(p.srcH) && sz >= 0 && sz < i32(p.srcD)) {
    v = src[(((n * p.srcC + p.srcC0 + c) * p.srcD + u32(sz)) * p.srcH + u32(sy)) * p.srcW + u32(sx)];
  }
  dst[(((n * p.dstC + p.dstC0 + c) * p.dstD + z) * p.dstH + y) * p.dstW + x] = v;
}
