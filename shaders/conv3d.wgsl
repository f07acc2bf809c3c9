// 3D convolution, NCDHW, f32: forward (cross-correlation as in PyTorch's conv3d).
//
// Each invocation owns a register block of TX consecutive output voxels along x times CB×4 output
// channels (vec4 over channels). Per input channel and kernel row it loads the input row segment
// once into registers and reuses it for every kw tap and every output channel. Weights are packed
// [ci][kd][kh][kw][co/4] as vec4 so one load serves four output channels.
//
// Depth windows: the bound input holds global depths [inD0, inD0 + inD) and the bound output global
// depths [outD0, outD0 + outD). Taps outside the window are zero, which is the zero padding when the
// window is clipped at the volume's edge. This lets tensors larger than one binding run by slabs.

// #include conv_params

override K: u32 = 3;      // kernel size (cubic)
override S: u32 = 1;      // stride
override P: i32 = 1;      // zero padding
override TX: u32 = 8;     // outputs along x per invocation (<= 8)
override CB: u32 = 2;     // vec4 output-channel blocks per invocation (<= 2)
override WG: u32 = 64;
// #include linear_index
override HAS_BIAS: bool = true;

const MAX_ACC = 16u;
// #include conv_block
const MAX_ROW = 20u;

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<vec4f>;
@group(0) @binding(2) var<storage, read> bias: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let gid = linear(wid, nwg, lid);
  if (gid >= p.total) { return; }
  // x tiles vary fastest across invocations; the channel group is the slowest so neighbouring
  // workgroups share weights in cache.
  var t = gid;
  let xt = t % p.tilesX; t = t / p.tilesX;
  let oh = t % p.outH; t = t / p.outH;
  let od = t % p.outD; t = t / p.outD;
  let n = t % p.n;
  let cg = t / p.n;

  var acc = acc_init(cg);

  let rowLen = (TX - 1u) * S + K;
  let ix0 = i32(xt * TX * S) - P;
  let gd = i32((od + p.outD0) * S) - P - p.inD0;
  let gh = i32(oh * S) - P;
  let plane = p.inH * p.inW;
  let kk = K * K * K;

  for (var ci = 0u; ci < p.cin; ci++) {
    let chanBase = (n * p.cin + ci) * p.inD;
    for (var kd = 0u; kd < K; kd++) {
      let id = gd + i32(kd);
      if (id < 0 || id >= i32(p.inD)) { continue; }
      for (var kh = 0u; kh < K; kh++) {
        let ih = gh + i32(kh);
        if (ih < 0 || ih >= i32(p.inH)) { continue; }
        let row = (chanBase + u32(id)) * plane + u32(ih) * p.inW;
        var xs: array<f32, MAX_ROW>;
        for (var j = 0u; j < rowLen; j++) {
          let ix = ix0 + i32(j);
          let inside = ix >= 0 && ix < i32(p.inW);
          xs[j] = select(0.0, input[row + u32(select(0, ix, inside))], inside);
        }
        let wrow = ((ci * K + kd) * K + kh) * K;
        for (var kw = 0u; kw < K; kw++) {
          for (var c = 0u; c < CB; c++) {
            let w = weight[(wrow + kw) * p.coVec + cg * CB + c];
            for (var i = 0u; i < TX; i++) {
              acc[c * TX + i] = fma(vec4f(xs[i * S + kw]), w, acc[c * TX + i]);
            }
          }
        }
      }
    }
  }

  acc_store(&acc, n, od, oh, xt * TX, cg);
}
