// Device FMA ceiling for benchmarks: 12 independent fused multiply-adds of vec4 per loop
// iteration on three accumulators (few enough to stay in registers on CPU drivers).
@group(0) @binding(0) var<storage, read_write> out: array<vec4f>;

override ITERS: u32 = 1024;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  var a = vec4f(f32(g.x));
  var b = a + 1.0;
  var c = a + 2.0;
  let m = vec4f(0.999);
  let q = vec4f(0.001);
  for (var i = 0u; i < ITERS; i++) {
    a = fma(a, m, q); b = fma(b, m, q); c = fma(c, m, q);
    a = fma(a, m, q); b = fma(b, m, q); c = fma(c, m, q);
    a = fma(a, m, q); b = fma(b, m, q); c = fma(c, m, q);
    a = fma(a, m, q); b = fma(b, m, q); c = fma(c, m, q);
  }
  out[g.x] = a + b + c;
}
