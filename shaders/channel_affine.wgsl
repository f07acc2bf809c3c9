// Per-channel affine maps of NCDHW f32 tensors, with coefficients computed on the GPU (one small
// vector per channel) so no statistics travel to the host. Channel of element i: (i / spatial) % c.
// Entry `apply`:         out = x * coef[c].x + coef[c].y    (SHIFT = false: out = x * coef[c].x)
// Entry `apply_inplace`: y   = y * coef[c].x + coef[c].y
// Entry `mix_inplace`:   out = coef[c].x * other + coef[c].y * out + coef[c].z   (vec4 coefficients;
//                        e.g. batch norm's backward dx = A·dy + B·(x − mean) + C)

struct Params { c: u32, spatial: u32, total: u32, _pad: u32 }

override WG: u32 = 64;
override SHIFT: bool = true;

// #include linear_index

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> coef: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn apply(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.total) { return; }
  let k = coef[(i / p.spatial) % p.c];
  var v = x[i] * k.x;
  if (SHIFT) { v += k.y; }
  out[i] = v;
}

@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@group(0) @binding(1) var<storage, read> coefIn: array<vec2f>;
@group(0) @binding(2) var<uniform> q: Params;

@compute @workgroup_size(WG)
fn apply_inplace(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q.total) { return; }
  let k = coefIn[(i / q.spatial) % q.c];
  y[i] = y[i] * k.x + k.y;
}

@group(0) @binding(0) var<storage, read> other: array<f32>;
@group(0) @binding(1) var<storage, read> coef4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> mixed: array<f32>;
@group(0) @binding(3) var<uniform> r: Params;

@compute @workgroup_size(WG)
fn mix_inplace(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= r.total) { return; }
  let k = coef4[(i / r.spatial) % r.c];
  mixed[i] = k.x * other[i] + k.y * mixed[i] + k.z;
}

// The same three maps four elements at a time, where a channel's elements come in whole vec4s
// (spatial % 4 == 0; `spatial` is then counted in vec4s): a quarter of the invocations and of the
// channel divisions, which bound these memory-light kernels on a CPU driver.

@group(0) @binding(0) var<storage, read> x4: array<vec4f>;
@group(0) @binding(1) var<storage, read> coefX4: array<vec2f>;
@group(0) @binding(2) var<storage, read_write> out4: array<vec4f>;
@group(0) @binding(3) var<uniform> p4: Params;

@compute @workgroup_size(WG)
fn apply_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p4.total) { return; }
  let k = coefX4[(i / p4.spatial) % p4.c];
  var v = x4[i] * k.x;
  if (SHIFT) { v += vec4f(k.y); }
  out4[i] = v;
}

@group(0) @binding(0) var<storage, read_write> y4: array<vec4f>;
@group(0) @binding(1) var<storage, read> coefY4: array<vec2f>;
@group(0) @binding(2) var<uniform> q4: Params;

@compute @workgroup_size(WG)
fn apply_inplace_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q4.total) { return; }
  let k = coefY4[(i / q4.spatial) % q4.c];
  y4[i] = y4[i] * k.x + vec4f(k.y);
}

@group(0) @binding(0) var<storage, read> other4: array<vec4f>;
@group(0) @binding(1) var<storage, read> coefM4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> mixed4: array<vec4f>;
@group(0) @binding(3) var<uniform> r4: Params;

@compute @workgroup_size(WG)
fn mix_inplace_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= r4.total) { return; }
  let k = coefM4[(i / r4.spatial) % r4.c];
  mixed4[i] = k.x * other4[i] + k.y * mixed4[i] + vec4f(k.z);
}
