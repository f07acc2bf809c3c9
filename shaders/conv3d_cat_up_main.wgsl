// Fragment, not a kernel (`// #include conv3d_cat_up_main`): the kernels of conv3d_cat_up.wgsl and
// conv3d_cat_up_uniform.wgsl, which differ only in where the packed weights `weight` live (wpoly
// stays in storage: it is read by output parity, which differs within a workgroup): each declares
// binding 2 and `fn weight_at(i: u32) -> vec4f`.
//
// 3D convolution, NCDHW, f32, forward, over an input that is never materialised: the channel
// concatenation [a, b upsampled] (torch.cat([a, upsample(b[window], F)], dim=1)), as a U-Net
// decoder's first convolution (nearest, the whole of b) and the dual model's fusion head
// (trilinear, b's centre) read it. Input channels [0, cinA) are a's, at the input's full resolution
// (inD × inH × inW); channels [cinA, cinA + cinB) come from the window of b at [offD, offH, offW]
// of extents lowD × lowH × lowW (inD = F·lowD and so on), upsampled by F:
//   nearest (TRILINEAR false): voxel i reads window voxel i / F, as upsample_nearest.wgsl;
//   trilinear (TRILINEAR true): PyTorch's align_corners=False taps within the window (clamped at
//     the window's edges, as upsampling the cropped window is), combined in upsample_trilinear.wgsl's
//     order.
//
// Otherwise as conv3d.wgsl's `forward`: each invocation owns TX consecutive outputs along x × CB·4
// output channels, loads each input row segment once into registers for every kw tap and output
// channel, and reads weights packed [ci][kd][kh][kw][co/4] with ci over the concatenation. Whole
// tensors only (no depth windows).
//
// Entry `forward`: any K, S, P, F, either mode. Entry `forward_poly`: the decoders' case, K 3,
// S 1, P 1, F 2, nearest. There an output of parity p along an axis reads, through the 3 taps of
// that axis, only 2 voxels of b's window (p 0: m − 1 by tap 0 and m by taps 1, 2; p 1: m by taps
// 0, 1 and m + 1 by tap 2, for output 2m + p), so b's channels take 2³ taps of weights summed per
// output parity (`wpoly`, made by conv3d_pack.wgsl's `poly`) instead of 27: the same sums, in
// another order.

struct Params {
  n: u32, cinA: u32, cinB: u32, cout: u32,
  coGroups: u32, inD: u32, inH: u32, inW: u32,
  lowD: u32, lowH: u32, lowW: u32, outD: u32,
  outH: u32, outW: u32, tilesX: u32, total: u32,
  relu: u32, coVec: u32, bD: u32, bH: u32,
  bW: u32, offD: u32, offH: u32, offW: u32,
}

override K: u32 = 3;      // kernel size (cubic)
override S: u32 = 1;      // stride
override P: i32 = 1;      // zero padding
override F: u32 = 2;      // b's upsampling factor
override TRILINEAR: bool = false;
override TX: u32 = 8;     // outputs along x per invocation (<= 8)
override CB: u32 = 2;     // vec4 output-channel blocks per invocation (<= 2)
override WG: u32 = 64;
override HAS_BIAS: bool = true;

const MAX_ACC = 16u;
// #include conv_block
// #include conv_group_block
const MAX_ROW = 20u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;
// forward_poly only: [cj][parity pd·4 + ph·2 + pw][tap td·4 + th·2 + tw][co/4].
@group(0) @binding(6) var<storage, read> wpoly: array<vec4f>;

alias Row = array<f32, MAX_ROW>;

// Every kw tap of one input row segment (concatenated channel ci, taps kd, kh) into the block.
fn taps(acc: ptr<function, Acc>, xs: ptr<function, Row>, ci: u32, kd: u32, kh: u32, cg: u32) {
  let wrow = ((ci * K + kd) * K + kh) * K;
  for (var kw = 0u; kw < K; kw++) {
    for (var c = 0u; c < CB; c++) {
      let w = weight_at((wrow + kw) * p.coVec + cg * CB + c);
      for (var i = 0u; i < TX; i++) {
        (*acc)[c * TX + i] = fma(vec4f((*xs)[i * S + kw]), w, (*acc)[c * TX + i]);
      }
    }
  }
}

struct LinTaps { i0: u32, i1: u32, l0: f32, l1: f32 }

// Output o of an axis of n window voxels upsampled by F, align_corners=False: source position
// s = (2o + 1 − F) / (2F) clamped below at 0, between i0 = floor(s) and i1 = min(i0 + 1, n − 1)
// (upsample_trilinear.wgsl's taps()).
fn lin_taps(o: u32, n: u32) -> LinTaps {
  let num = i32(2u * o + 1u) - i32(F);
  var t: LinTaps;
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

// a's channels, at full resolution.
fn a_channels(acc: ptr<function, Acc>, k: GroupBlock) {
  let rowLen = (TX - 1u) * S + K;
  let ix0 = i32(k.xt * TX * S) - P;
  let gd = i32(k.od * S) - P;
  let gh = i32(k.oh * S) - P;
  let plane = p.inH * p.inW;
  var xs: Row;
  for (var ci = 0u; ci < p.cinA; ci++) {
    let chanBase = (k.n * p.cinA + ci) * p.inD;
    for (var kd = 0u; kd < K; kd++) {
      let id = gd + i32(kd);
      if (id < 0 || id >= i32(p.inD)) { continue; }
      for (var kh = 0u; kh < K; kh++) {
        let ih = gh + i32(kh);
        if (ih < 0 || ih >= i32(p.inH)) { continue; }
        let row = (chanBase + u32(id)) * plane + u32(ih) * p.inW;
        for (var j = 0u; j < rowLen; j++) {
          let ix = ix0 + i32(j);
          let inside = ix >= 0 && ix < i32(p.inW);
          xs[j] = select(0.0, a[row + u32(select(0, ix, inside))], inside);
        }
        taps(acc, &xs, ci, kd, kh, k.cg);
      }
    }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = group_block(wid, nwg, lid);
  if (!k.valid) { return; }
  var acc = acc_init(k.cg);
  a_channels(&acc, k);

  let rowLen = (TX - 1u) * S + K;
  let ix0 = i32(k.xt * TX * S) - P;
  let gd = i32(k.od * S) - P;
  let gh = i32(k.oh * S) - P;
  var xs: Row;
  // Channels of b, upsampled from its window.
  let bPlane = p.bH * p.bW;
  for (var cj = 0u; cj < p.cinB; cj++) {
    let chanBase = (k.n * p.cinB + cj) * p.bD + p.offD;
    for (var kd = 0u; kd < K; kd++) {
      let id = gd + i32(kd);
      if (id < 0 || id >= i32(p.inD)) { continue; }
      for (var kh = 0u; kh < K; kh++) {
        let ih = gh + i32(kh);
        if (ih < 0 || ih >= i32(p.inH)) { continue; }
        if (TRILINEAR) {
          let td = lin_taps(u32(id), p.lowD);
          let th = lin_taps(u32(ih), p.lowH);
          let r00 = (chanBase + td.i0) * bPlane + (p.offH + th.i0) * p.bW + p.offW;
          let r01 = (chanBase + td.i0) * bPlane + (p.offH + th.i1) * p.bW + p.offW;
          let r10 = (chanBase + td.i1) * bPlane + (p.offH + th.i0) * p.bW + p.offW;
          let r11 = (chanBase + td.i1) * bPlane + (p.offH + th.i1) * p.bW + p.offW;
          for (var j = 0u; j < rowLen; j++) {
            let ix = ix0 + i32(j);
            let inside = ix >= 0 && ix < i32(p.inW);
            let tw = lin_taps(u32(select(0, ix, inside)), p.lowW);
            let v0 = th.l0 * (tw.l0 * b[r00 + tw.i0] + tw.l1 * b[r00 + tw.i1]) + th.l1 * (tw.l0 * b[r01 + tw.i0] + tw.l1 * b[r01 + tw.i1]);
            let v1 = th.l0 * (tw.l0 * b[r10 + tw.i0] + tw.l1 * b[r10 + tw.i1]) + th.l1 * (tw.l0 * b[r11 + tw.i0] + tw.l1 * b[r11 + tw.i1]);
            xs[j] = select(0.0, td.l0 * v0 + td.l1 * v1, inside);
          }
        } else {
          // Voxel i reads window voxel i / F.
          let row = (chanBase + u32(id) / F) * bPlane + (p.offH + u32(ih) / F) * p.bW + p.offW;
          for (var j = 0u; j < rowLen; j++) {
            let ix = ix0 + i32(j);
            let inside = ix >= 0 && ix < i32(p.inW);
            xs[j] = select(0.0, b[row + u32(select(0, ix, inside)) / F], inside);
          }
        }
        taps(&acc, &xs, p.cinA + cj, kd, kh, k.cg);
      }
    }
  }

  acc_store(&acc, k.n, k.od, k.oh, k.xt * TX, k.cg);
}

@compute @workgroup_size(WG)
fn forward_poly(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = group_block(wid, nwg, lid);
  if (!k.valid) { return; }
  var acc = acc_init(k.cg);
  a_channels(&acc, k);

  // Output parities along depth and height are the invocation's; along x they alternate, even
  // outputs first. b's window voxel of tap (td, th) is (od / 2 + pd − 1 + td, oh / 2 + ph − 1 + th);
  // bs[j] holds window voxel xt·TX/2 − 1 + j along x, so even output 2q reads bs[q + tw] and odd
  // output 2q + 1 reads bs[q + 1 + tw].
  let pd = k.od & 1u;
  let ph = k.oh & 1u;
  let bd0 = i32(k.od >> 1u) + i32(pd) - 1;
  let bh0 = i32(k.oh >> 1u) + i32(ph) - 1;
  let half = TX / 2u;
  let bx0 = i32(k.xt * half) - 1;
  let parity = pd * 4u + ph * 2u;
  let bPlane = p.bH * p.bW;
  var bs: Row;
  for (var cj = 0u; cj < p.cinB; cj++) {
    let chanBase = (k.n * p.cinB + cj) * p.bD + p.offD;
    for (var td = 0u; td < 2u; td++) {
      let bd = bd0 + i32(td);
      if (bd < 0 || bd >= i32(p.lowD)) { continue; }
      for (var th = 0u; th < 2u; th++) {
        let bh = bh0 + i32(th);
        if (bh < 0 || bh >= i32(p.lowH)) { continue; }
        let row = (chanBase + u32(bd)) * bPlane + (p.offH + u32(bh)) * p.bW + p.offW;
        for (var j = 0u; j < half + 2u; j++) {
          let bx = bx0 + i32(j);
          let inside = bx >= 0 && bx < i32(p.lowW);
          bs[j] = select(0.0, b[row + u32(select(0, bx, inside))], inside);
        }
        for (var tw = 0u; tw < 2u; tw++) {
          let tap = td * 4u + th * 2u + tw;
          for (var c = 0u; c < CB; c++) {
            let we = wpoly[((cj * 8u + parity) * 8u + tap) * p.coVec + k.cg * CB + c];
            let wo = wpoly[((cj * 8u + parity + 1u) * 8u + tap) * p.coVec + k.cg * CB + c];
            for (var q = 0u; q < half; q++) {
              acc[c * TX + 2u * q] = fma(vec4f(bs[q + tw]), we, acc[c * TX + 2u * q]);
              acc[c * TX + 2u * q + 1u] = fma(vec4f(bs[q + 1u + tw]), wo, acc[c * TX + 2u * q + 1u]);
            }
          }
        }
      }
    }
  }

  acc_store(&acc, k.n, k.od, k.oh, k.xt * TX, k.cg);
}
