// Fragment, not a kernel (`// #include conv3d_forward`): the forward convolution of conv3d.wgsl
// and conv3d_uniform.wgsl, which differ only in where the packed weights live: each declares
// binding 1 and `fn weight_at(i: u32) -> vec4f`, the i-th packed weight vec4.

// #include conv_params

override K: u32 = 3;      // kernel size (cubic)
override S: u32 = 1;      // stride
override P: i32 = 1;      // zero padding
override TX: u32 = 8;     // outputs along x per invocation (<= 8)
override CB: u32 = 2;     // vec4 output-channel blocks per invocation (<= 2)
override WG: u32 = 64;
override HAS_BIAS: bool = true;

const MAX_ACC = 16u;
// #include conv_block
// #include conv_group_block
const MAX_ROW = 20u;

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = group_block(wid, nwg, lid);
  if (!k.valid) { return; }
  let xt = k.xt;
  let oh = k.oh;
  let od = k.od;
  let n = k.n;
  let cg = k.cg;

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
            let w = weight_at((wrow + kw) * p.coVec + cg * CB + c);
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
