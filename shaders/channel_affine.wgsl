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
