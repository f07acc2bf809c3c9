// Elementwise activations, f32: ReLU and sigmoid (override ACT), forward and backward.
// Entry `forward`:  y = f(x).
// Entry `backward`: dx = dy * f'(x), computed from the saved output y so the input need not be kept:
//   ReLU: dy where y > 0 (y > 0 exactly when x > 0; the kink at 0 gets gradient 0, as in PyTorch);
//   sigmoid: dy * y * (1 - y).
// Offsets (in elements) let one dispatch cover a run of tensors split over several buffers.

struct Params { count: u32, off0: u32, off1: u32, off2: u32 }

override ACT: u32 = 0u; // 0 = ReLU, 1 = sigmoid
override WG: u32 = 256;

// #include linear_index

// Stable for any v: exp is only taken of a non-positive number.
fn sigmoid(v: f32) -> f32 {
  let e = exp(-abs(v));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), v >= 0.0);
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.count) { return; }
  let v = x[p.off0 + i];
  var r: f32;
  if (ACT == 0u) { r = max(v, 0.0); } else { r = sigmoid(v); }
  y[p.off1 + i] = r;
}

@group(0) @binding(0) var<storage, read> ySaved: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> dx: array<f32>;
@group(0) @binding(3) var<uniform> q: Params;

@compute @workgroup_size(WG)
fn backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q.count) { return; }
  let s = ySaved[q.off0 + i];
  let g = dy[q.off1 + i];
  var r: f32;
  if (ACT == 0u) { r = select(0.0, g, s > 0.0); } else { r = g * s * (1.0 - s); }
  dx[q.off2 + i] = r;
}

// The same, four values per invocation, where the count and every offset are multiples of 4
// (all then counted in vec4s): a quarter of the invocations of these memory-light kernels.

fn act4(v: vec4f) -> vec4f {
  if (ACT == 0u) { return max(v, vec4f(0.0)); }
  return vec4f(sigmoid(v.x), sigmoid(v.y), sigmoid(v.z), sigmoid(v.w));
}

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(2) var<uniform> p4: Params;

@compute @workgroup_size(WG)
fn forward_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p4.count) { return; }
  y4[p4.off1 + i] = act4(x4[p4.off0 + i]);
}

@group(0) @binding(0) var<storage, read> ySaved4: array<vec4f>;
@group(0) @binding(1) var<storage, read> dy4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> dx4: array<vec4f>;
@group(0) @binding(3) var<uniform> q4: Params;

@compute @workgroup_size(WG)
fn backward_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q4.count) { return; }
  let s = ySaved4[q4.off0 + i];
  let g = dy4[q4.off1 + i];
  if (ACT == 0u) { dx4[q4.off2 + i] = select(vec4f(0.0), g, s > vec4f(0.0)); }
  else { dx4[q4.off2 + i] = g * s * (vec4f(1.0) - s); }
}
