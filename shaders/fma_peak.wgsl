@group(0) @binding(0) var<storage, read_write> out: array<vec4f>;
override ITERS: u32 = 1024;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u) {
  var a = vec4f(f32(g.x)); var b = a + 1.0; var c = a + 2.0; var d = a + 3.0;
  var e = a + 4.0; var f = a + 5.0; var h = a + 6.0; var k = a + 7.0;
  let m = vec4f(0.999); let q = vec4f(0.001);
  for (var i = 0u; i < ITERS; i++) {
    a = fma(a, m, q); b = fma(b, m, q); c = fma(c, m, q); d = fma(d, m, q);
    e = fma(e, m, q); f = fma(f, m, q); h = fma(h, m, q); k = fma(k, m, q);
  }
  out[g.x] = a + b + c + d + e + f + h + k;
}
