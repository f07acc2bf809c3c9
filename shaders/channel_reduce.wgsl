// Per-channel sums over N and the spatial volume of NCDHW tensors, in two deterministic passes.
// Entry `partial`: invocation (c, r) sums chunk r of every (n, c) plane run, giving
//   s1 = sum a,  s2 = sum a * b   (b may be bound to a for sums of squares)
// Entry `finish`: out[c] = (sum_r s1, sum_r s2), optionally added to what is there.
//
// Both passes add pairwise (cascade summation): runs of up to BLOCK values in order, and the run
// sums combined the way a binary counter carries, so every sum is a balanced tree of runs and its
// rounding error grows with BLOCK + log2(count), not with the count. A plain running sum of the
// 8192 values of one chunk lost ~2e-5 of a batch-norm variance (2·32³ values), enough to throw the
// mlmr gradients off by several percent and put ReLU inputs on the wrong side of zero.

struct Params { n: u32, c: u32, spatial: u32, chunks: u32, chunkLen: u32, accumulate: u32, _p0: u32, _p1: u32 }

override WG: u32 = 64;
// #include linear_index
const BLOCK: u32 = 32u;
alias CascadeValue = vec2f;
// #include cascade_sum

@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<vec2f>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= p.c * p.chunks) { return; }
  let r = i % p.chunks;
  let c = i / p.chunks;
  let s0 = r * p.chunkLen;
  let s1 = min(p.spatial, s0 + p.chunkLen);
  var acc: Cascade;
  for (var n = 0u; n < p.n; n++) {
    let base = (n * p.c + c) * p.spatial;
    for (var s = s0; s < s1; s += BLOCK) {
      var run = vec2f(0.0);
      for (var j = base + s; j < base + min(s + BLOCK, s1); j++) {
        let v = a[j];
        run += vec2f(v, v * b[j]);
      }
      cascade_push(&acc, run);
    }
  }
  part[i] = cascade_total(&acc);
}

@group(0) @binding(0) var<storage, read> partIn: array<vec2f>;
@group(0) @binding(1) var<storage, read_write> sums: array<vec2f>;
@group(0) @binding(2) var<uniform> q: Params;

@compute @workgroup_size(WG)
fn finish(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = linear(wid, nwg, lid);
  if (c >= q.c) { return; }
  var acc: Cascade;
  for (var r = 0u; r < q.chunks; r += BLOCK) {
    var run = vec2f(0.0);
    for (var j = r; j < min(r + BLOCK, q.chunks); j++) { run += partIn[c * q.chunks + j]; }
    cascade_push(&acc, run);
  }
  var total = cascade_total(&acc);
  if (q.accumulate != 0u) { total += sums[c]; }
  sums[c] = total;
}

// Entry `take_first`: out[c] = sums[c].x (plus what is there with `accumulate`), e.g. a bias gradient.
@group(0) @binding(0) var<storage, read> sumsIn: array<vec2f>;
@group(0) @binding(1) var<storage, read_write> firsts: array<f32>;
@group(0) @binding(2) var<uniform> r: Params;

@compute @workgroup_size(WG)
fn take_first(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let c = linear(wid, nwg, lid);
  if (c >= r.c) { return; }
  var v = sumsIn[c].x;
  if (r.accumulate != 0u) { v += firsts[c]; }
  firsts[c] = v;
}
