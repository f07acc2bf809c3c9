// Benchmark probe, not used by the product: conv3d.wgsl's inner loop (one input row of TX + K - 1
// values, then K taps × CB vec4 weights × TX outputs of FMAs into the same register block) with
// none of its index arithmetic or bounds checks, so that what the driver makes of the loop itself
// can be timed. INPUT_LOADS reads the row from storage at per-invocation addresses, as the
// convolution does (else it is made in registers from the invocation and the loop counter).
// WEIGHTS says where the weights come from: 0 made in registers from the loop counter; 1 a storage
// buffer at an address the same for every invocation; 2 a storage buffer at addresses that differ
// per invocation (as conv3d.wgsl's channel group makes them); 3 a uniform buffer; 4 workgroup
// memory, filled from storage once per workgroup.
@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4f>;
@group(0) @binding(3) var<uniform> uweight: array<vec4f, 1024>;

override TX: u32 = 8;
override CB: u32 = 2;
override ROWS: u32 = 256;
override INPUT_LOADS: bool = true;
override WEIGHTS: u32 = 2;
const K = 3u;
const MAX_ACC = 16u;
const MAX_ROW = 10u;
// Input and weight arrays hold a power of two of elements; indices wrap.
const INPUT_MASK = 65535u;
const WEIGHT_MASK = 1023u;

var<workgroup> wshared: array<vec4f, 1024>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3u, @builtin(local_invocation_index) lid: u32) {
  if (WEIGHTS == 4u) {
    for (var i = lid; i < 1024u; i += 64u) { wshared[i] = weight[i]; }
    workgroupBarrier();
  }
  var acc: array<vec4f, MAX_ACC>;
  let lane = g.x;
  // Each invocation reads its own row, TX apart from its neighbour's, as the convolution's x tiles do.
  let base = lane * TX;
  let group = lane % 7u;
  for (var r = 0u; r < ROWS; r++) {
    var xs: array<f32, MAX_ROW>;
    for (var j = 0u; j < TX + K - 1u; j++) {
      if (INPUT_LOADS) {
        xs[j] = input[(base + r * 577u + j) & INPUT_MASK];
      } else {
        // Per invocation too (a value the same for all would be computed once, as a scalar).
        xs[j] = f32(base + r * 577u + j) * 1e-6;
      }
    }
    for (var kw = 0u; kw < K; kw++) {
      for (var c = 0u; c < CB; c++) {
        let wi = ((r * K + kw) * CB + c) & WEIGHT_MASK;
        var w: vec4f;
        switch WEIGHTS {
          case 1u: { w = weight[wi]; }
          case 2u: { w = weight[(wi + group * 64u) & WEIGHT_MASK]; }
          case 3u: { w = uweight[wi]; }
          case 4u: { w = wshared[wi]; }
          default: { w = vec4f(f32(wi) * 0.0001, 0.5, 0.25, 0.125); }
        }
        for (var i = 0u; i < TX; i++) {
          acc[c * TX + i] = fma(vec4f(xs[i + kw]), w, acc[c * TX + i]);
        }
      }
    }
  }
  var s = vec4f(0.0);
  for (var i = 0u; i < CB * TX; i++) { s += acc[i]; }
  out[lane] = s;
}
