// Nearest-neighbour upsampling by an integer factor F along D, H and W, NCDHW f32:
// output voxel o reads input floor(o / F) (PyTorch's mode='nearest' with scale_factor F).
// Entry `forward`: one invocation per output voxel.
// Entry `backward` (gather form): one invocation per input voxel sums the F³ output gradients of
//   its block.

struct Params { planes: u32, inD: u32, inH: u32, inW: u32, total: u32 }

override F: u32 = 2u;
override WG: u32 = 64;

// #include linear_index

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
  y[i] = x[((plane * p.inD + od / F) * p.inH + oh / F) * p.inW + ow / F];
}

@group(0) @binding(0) var<storage, read> dy: array<f32>;
@group(0) @binding(1) var<storage, read_write> dx: array<f32>;
@group(0) @binding(2) var<uniform> q: Params;

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q.total) { return; }
  let outW = q.inW * F;
  let outH = q.inH * F;
  let outD = q.inD * F;
  var t = i;
  let iw = t % q.inW; t = t / q.inW;
  let ih = t % q.inH; t = t / q.inH;
  let id = t % q.inD;
  let plane = t / q.inD;
  // Summed row by row, then plane by plane: a flat running sum of F³ = 512 terms loses ~1e-5
  // when they cancel, the nested one keeps every partial sum short.
  var acc = 0.0;
  for (var kd = 0u; kd < F; kd++) {
    var plane_sum = 0.0;
    for (var kh = 0u; kh < F; kh++) {
      let row = ((plane * outD + id * F + kd) * outH + ih * F + kh) * outW + iw * F;
      var row_sum = 0.0;
      for (var kw = 0u; kw < F; kw++) { row_sum += dy[row + kw]; }
      plane_sum += row_sum;
    }
    acc += plane_sum;
  }
  dx[i] = acc;
}
