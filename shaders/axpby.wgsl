// Elementwise linear combinations, f32.
// Entry `combine`:    out = alpha * a + beta * b   (residual add: alpha = beta = 1)
// Entry `accumulate`: acc = acc + alpha * b        (in place: gradient of a tensor feeding two consumers)
// Entry `scale`:      acc = alpha * acc            (in place)
// Offsets (in elements) let one dispatch cover a run of tensors split over several buffers.

struct Params { count: u32, off0: u32, off1: u32, off2: u32, alpha: f32, beta: f32 }

override WG: u32 = 256;

// #include linear_index

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn combine(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.count) { return; }
  out[p.off2 + i] = p.alpha * a[p.off0 + i] + p.beta * b[p.off1 + i];
}

@group(0) @binding(0) var<storage, read_write> acc: array<f32>;
@group(0) @binding(1) var<storage, read> addend: array<f32>;
@group(0) @binding(2) var<uniform> q: Params;

@compute @workgroup_size(WG)
fn accumulate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q.count) { return; }
  acc[q.off0 + i] = acc[q.off0 + i] + q.alpha * addend[q.off1 + i];
}

@group(0) @binding(0) var<storage, read_write> scaled: array<f32>;
@group(0) @binding(1) var<uniform> r: Params;

@compute @workgroup_size(WG)
fn scale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= r.count) { return; }
  scaled[r.off0 + i] = r.alpha * scaled[r.off0 + i];
}
