// Weight gradient of conv3d, NCDHW, f32:
//   dW[co, ci, kd, kh, kw] = sum_n sum_o dY[n, co, o] * X[n, ci, o*S - P + k]
// The sum over output positions is long and the result small, so it is split: entry `partial`
// gives each invocation one chunk of output rows (n, od, oh) and a block of CB output channels ×
// one (ci, kd) × all (kh, kw) taps, writing partial sums; entry `reduce` adds the chunks in a fixed
// order (deterministic, no float atomics), pairwise: a 1³ conv from one input channel makes one
// chunk per output row, thousands of them, and a running sum would lose ~count·2⁻²⁴.

// Declared on the host as WGRAD_PARAMS (src/nn/ops/conv3d.ts); the Gpu checks that they agree.
struct Params {
  n: u32, cin: u32, cout: u32, coGroups: u32,
  inD: u32, inH: u32, inW: u32, chunks: u32,
  outD: u32, outH: u32, outW: u32, rowsPerChunk: u32,
  total: u32, accumulate: u32, wcount: u32,
}

override K: u32 = 3;
override S: u32 = 1;
override P: i32 = 1;
override WG: u32 = 64;
// Output channels per invocation: 4, or 8 where a layer has that many.
override CB: u32 = 4;
// #include linear_index

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read_write> part: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(WG)
fn partial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let gid = linear(wid, nwg, lid);
  if (gid >= p.total) { return; }
  var t = gid;
  let kd = t % K; t = t / K;
  let ci = t % p.cin; t = t / p.cin;
  let cg = t % p.coGroups;
  let r = t / p.coGroups;

  // All K·K (kh, kw) taps of this kd for CB output channels: each dY vector loaded serves K·K
  // taps. Every tap still sums its terms in the same order (rows, then ow), so the result is
  // that of one tap per invocation, bit for bit.
  var acc: array<vec4f, 9>;
  var accB: array<vec4f, 9>;
  for (var j = 0u; j < K * K; j++) { acc[j] = vec4f(0.0); accB[j] = vec4f(0.0); }
  let outPlane = p.outH * p.outW;
  let outVol = p.outD * outPlane;
  let inPlane = p.inH * p.inW;
  let rows = p.n * p.outD * p.outH;
  let r0 = r * p.rowsPerChunk;
  let r1 = min(rows, r0 + p.rowsPerChunk);
  let co0 = cg * CB;
  // Channels past cout read channel co0 again (a valid address) and are never written.
  var cs: array<u32, 8>;
  for (var l = 0u; l < CB; l++) { cs[l] = select(co0, co0 + l, co0 + l < p.cout) * outVol; }
  for (var row = r0; row < r1; row++) {
    let oh = row % p.outH;
    let od = (row / p.outH) % p.outD;
    let n = row / (p.outH * p.outD);
    let id = i32(od * S) - P + i32(kd);
    if (id < 0 || id >= i32(p.inD)) { continue; }
    let xplane = ((n * p.cin + ci) * p.inD + u32(id)) * inPlane;
    let ih0 = i32(oh * S) - P;
    let dbase = n * p.cout * outVol + od * outPlane + oh * p.outW;
    for (var ow = 0u; ow < p.outW; ow++) {
      let o = dbase + ow;
      let g = vec4f(dy[o + cs[0]], dy[o + cs[1]], dy[o + cs[2]], dy[o + cs[3]]);
      var gB = vec4f(0.0);
      if (CB == 8u) { gB = vec4f(dy[o + cs[4]], dy[o + cs[5]], dy[o + cs[6]], dy[o + cs[7]]); }
      let ix = i32(ow * S) - P;
      for (var kh = 0u; kh < K; kh++) {
        let ih = ih0 + i32(kh);
        if (ih < 0 || ih >= i32(p.inH)) { continue; }
        let xrow = xplane + u32(ih) * p.inW;
        for (var kw = 0u; kw < K; kw++) {
          let xi = ix + i32(kw);
          let inside = xi >= 0 && xi < i32(p.inW);
          let v = select(0.0, x[xrow + u32(select(0, xi, inside))], inside);
          acc[kh * K + kw] = fma(vec4f(v), g, acc[kh * K + kw]);
          if (CB == 8u) { accB[kh * K + kw] = fma(vec4f(v), gB, accB[kh * K + kw]); }
        }
      }
    }
  }
  for (var l = 0u; l < CB; l++) {
    let co = co0 + l;
    if (co >= p.cout) { break; }
    let base = r * p.wcount + ((co * p.cin + ci) * K + kd) * K * K;
    for (var j = 0u; j < K * K; j++) { part[base + j] = select(accB[j][l % 4u], acc[j][l], l < 4u); }
  }
}

@group(0) @binding(0) var<storage, read> partIn: array<f32>;
@group(0) @binding(1) var<storage, read_write> dw: array<f32>;
@group(0) @binding(2) var<uniform> q: Params;

// Cascade summation (cascade_sum.wgsl): runs of up to BLOCK chunks in order, the run sums
// combined as a binary counter carries, so the error grows with BLOCK + log2(chunks).
const BLOCK: u32 = 32u;
alias CascadeValue = f32;
// #include cascade_sum

@compute @workgroup_size(WG)
fn reduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let i = linear(wid, nwg, lid);
  if (i >= q.wcount) { return; }
  var acc: Cascade;
  for (var r = 0u; r < q.chunks; r += BLOCK) {
    var run = 0.0;
    for (var j = r; j < min(r + BLOCK, q.chunks); j++) { run += partIn[j * q.wcount + i]; }
    cascade_push(&acc, run);
  }
  var s = cascade_total(&acc);
  if (q.accumulate != 0u) { s += dw[i]; }
  dw[i] = s;
}
