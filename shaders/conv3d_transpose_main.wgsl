// Fragment, not a kernel (`// #include conv3d_transpose_main`): the transposed convolution of
// conv3d_transpose.wgsl and conv3d_transpose_uniform.wgsl, which differ only in where the packed
// weights live: each declares binding 1 and `fn weight_at(i: u32) -> vec4f`.

// #include conv_params

override K: u32 = 3;
override S: u32 = 1;
override P: i32 = 1;
override TX: u32 = 8;     // outputs along x per invocation (<= 8)
override CB: u32 = 2;     // vec4 produced-channel blocks per invocation (<= 2)
override WG: u32 = 64;
override HAS_BIAS: bool = false;

const MAX_ACC = 16u;
// #include conv_block
// #include conv_group_block
const MAX_ROW = 12u;

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

fn floorDiv(a: i32, b: i32) -> i32 {
  return select((a - b + 1) / b, a / b, a >= 0);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let k = group_block(wid, nwg, lid);
  if (!k.valid) { return; }
  let xt = k.xt;
  let oh = k.oh;
  let od = k.od;
  let n = k.n;
  let cg = k.cg;

  var acc = acc_init(cg);

  let si = i32(S);
  let ox0 = i32(xt * TX);
  // Input x positions that reach outputs [ox0, ox0 + TX): from floor((ox0 + P - K + 1) / S).
  let jx0 = floorDiv(ox0 + P - i32(K) + 1, si);
  let rowLen = u32(floorDiv(ox0 + i32(TX) - 1 + P, si) - jx0 + 1);
  let gd = i32(od + p.outD0) + P;
  let gh = i32(oh) + P;
  let plane = p.inH * p.inW;

  for (var ci = 0u; ci < p.cin; ci++) {
    let chanBase = (n * p.cin + ci) * p.inD;
    for (var kd = 0u; kd < K; kd++) {
      let numD = gd - i32(kd);
      if (numD < 0 || numD % si != 0) { continue; }
      let id = numD / si - p.inD0;
      if (id < 0 || id >= i32(p.inD)) { continue; }
      for (var kh = 0u; kh < K; kh++) {
        let numH = gh - i32(kh);
        if (numH < 0 || numH % si != 0) { continue; }
        let ih = numH / si;
        if (ih >= i32(p.inH)) { continue; }
        let row = (chanBase + u32(id)) * plane + u32(ih) * p.inW;
        var xs: array<f32, MAX_ROW>;
        for (var j = 0u; j < rowLen; j++) {
          let ix = jx0 + i32(j);
          let inside = ix >= 0 && ix < i32(p.inW);
          xs[j] = select(0.0, input[row + u32(select(0, ix, inside))], inside);
        }
        let wrow = ((ci * K + kd) * K + kh) * K;
        for (var kw = 0u; kw < K; kw++) {
          for (var c = 0u; c < CB; c++) {
            let w = weight_at((wrow + kw) * p.coVec + cg * CB + c);
            for (var i = 0u; i < TX; i++) {
              let num = ox0 + i32(i) + P - i32(kw) - jx0 * si;
              if (num % si == 0) {
                acc[c * TX + i] = fma(vec4f(xs[u32(num / si)]), w, acc[c * TX + i]);
              }
            }
          }
        }
      }
    }
  }

  acc_store(&acc, n, od, oh, u32(ox0), cg);
}
