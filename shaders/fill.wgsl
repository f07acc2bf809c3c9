// Fills a f32 buffer with one value (used to poison outputs in tests and to zero gradients).
struct Params { count: u32, value: f32 }

@group(0) @binding(0) var<storage, read_write> dst: array<f32>;
@group(0) @binding(1) var<uniform> params: Params;

override WG: u32 = 256;
// #include linear_index

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= params.count) { return; }
  dst[i] = params.value;
}
