// 3D convolution, NCDHW, f32, forward, over an input that is never materialised: the channel
// concatenation [a, nearest-upsampled b] (torch.cat([a, upsample(b, F, 'nearest')], dim=1)), as a
// U-Net decoder's first convolution reads it. Input channels [0, cinA) are a's, at the input's full
// resolution (inD × inH × inW); channels [cinA, cinA + cinB) are b's, at F× lower resolution
// (lowD × lowH × lowW with inD = F·lowD and so on), read at voxel i / F: the mapping
// upsample_nearest.wgsl applies (output o reads input floor(o / F)).
//
// Otherwise as conv3d.wgsl's `forward`: each invocation owns TX consecutive outputs along x × CB·4
// output channels, loads each input row segment once into registers for every kw tap and output
// channel, and reads weights packed [ci][kd][kh][kw][co/4] with ci over the concatenation. Whole
// tensors only (no depth windows): the host materialises the concatenation where a tensor is split.

struct Params {
  n: u32, cinA: u32, cinB: u32, cout: u32,
  coGroups: u32, inD: u32, inH: u32, inW: u32,
  lowD: u32, lowH: u32, lowW: u32, outD: u32,
  outH: u32, outW: u32, tilesX: u32, total: u32,
  relu: u32, coVec: u32,
}

override K: u32 = 3;      // kernel size (cubic)
override S: u32 = 1;      // stride
override P: i32 = 1;      // zero padding
override F: u32 = 2;      // b's upsampling factor
override TX: u32 = 8;     // outputs along x per invocation (<= 8)
override CB: u32 = 2;     // vec4 output-channel blocks per invocation (<= 2)
override WG: u32 = 64;
// #include linear_index
override HAS_BIAS: bool = true;

const MAX_ACC = 16u;
// #include conv_block
const MAX_ROW = 20u;

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<vec4f>;
@group(0) @binding(3) var<storage, read> bias: array<vec4f>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
@group(0) @binding(5) var<uniform> p: Params;

alias Row = array<f32, MAX_ROW>;

// Every kw tap of one input row segment (concatenated channel ci, taps kd, kh) into the block.
fn taps(acc: ptr<function, Acc>, xs: ptr<function, Row>, ci: u32, kd: u32, kh: u32, cg: u32) {
  let wrow = ((ci * K + kd) * K + kh) * K;
  for (var kw = 0u; kw < K; kw++) {
    for (var c = 0u; c < CB; c++) {
      let w = weight[(wrow + kw) * p.coVec + cg * CB + c];
      for (var i = 0u; i < TX; i++) {
        (*acc)[c * TX + i] = fma(vec4f((*xs)[i * S + kw]), w, (*acc)[c * TX + i]);
      }
    }
  }
}

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let gid = linear(wid, nwg, lid);
  if (gid >= p.total) { return; }
  // x tiles fastest, the channel group slowest (neighbouring workgroups share weights), as conv3d.
  var t = gid;
  let xt = t % p.tilesX; t = t / p.tilesX;
  let oh = t % p.outH; t = t / p.outH;
  let od = t % p.outD; t = t / p.outD;
  let n = t % p.n;
  let cg = t / p.n;

  var acc = acc_init(cg);

  let rowLen = (TX - 1u) * S + K;
  let ix0 = i32(xt * TX * S) - P;
  let gd = i32(od * S) - P;
  let gh = i32(oh * S) - P;
  var xs: Row;

  // Channels of a, at full resolution.
  let plane = p.inH * p.inW;
  for (var ci = 0u; ci < p.cinA; ci++) {
    let chanBase = (n * p.cinA + ci) * p.inD;
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
        taps(&acc, &xs, ci, kd, kh, cg);
      }
    }
  }

  // Channels of b: the full-resolution voxel i reads b's voxel i / F.
  let lowPlane = p.lowH * p.lowW;
  for (var cj = 0u; cj < p.cinB; cj++) {
    let chanBase = (n * p.cinB + cj) * p.lowD;
    for (var kd = 0u; kd < K; kd++) {
      let id = gd + i32(kd);
      if (id < 0 || id >= i32(p.inD)) { continue; }
      for (var kh = 0u; kh < K; kh++) {
        let ih = gh + i32(kh);
        if (ih < 0 || ih >= i32(p.inH)) { continue; }
        let row = (chanBase + u32(id) / F) * lowPlane + (u32(ih) / F) * p.lowW;
        for (var j = 0u; j < rowLen; j++) {
          let ix = ix0 + i32(j);
          let inside = ix >= 0 && ix < i32(p.inW);
          xs[j] = select(0.0, b[row + u32(select(0, ix, inside)) / F], inside);
        }
        taps(&acc, &xs, p.cinA + cj, kd, kh, cg);
      }
    }
  }

  acc_store(&acc, n, od, oh, xt * TX, cg);
}
