// One pass of a separable Gaussian blur (the scanner's point-spread function) for the synthetic
// scans: the output is the input cropped by R voxels on both sides along one axis, each output
// voxel the weighted sum of the 2R + 1 input voxels around it on that axis. Three passes (x, y, z)
// turn a (chunk + halo) box into the chunk. The taps are summed in a fixed order, so a voxel's
// value does not depend on how the volume was cut into chunks.
struct Params {
  ox: u32, oy: u32, oz: u32, total: u32,   // output dims and voxel count
  ix: u32, iy: u32, stride: u32, taps: u32, // input dims x, y; input stride along the blur axis; 2R + 1
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;

override WG: u32 = 256;
// #include linear_index

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let gid = linear(wid, nwg, lid);
  if (gid >= P.total) { return; }
  let x = gid % P.ox;
  let y = (gid / P.ox) % P.oy;
  let z = gid / (P.ox * P.oy);
  let base = (z * P.iy + y) * P.ix + x;
  var acc = 0.0;
  for (var t = 0u; t < P.taps; t++) {
    acc += weights[t] * src[base + t * P.stride];
  }
  dst[gid] = acc;
}
