// Halves a z, y, x volume: each output voxel reduces the (up to) 2×2×2 input voxels it covers.
// Blocks cut short by an odd edge reduce only the voxels that exist.
// Voxels are packed in u32 words (4 per word for u8, 2 for u16/i16, 1 for f32); each
// invocation writes one whole output word, so no two invocations share a word.
// Values are handled as f32, which holds every u8/u16/i16 value and every sum of eight of
// them exactly; block sizes are powers of two, so the mean's division is exact too.

struct Params {
  in_z: u32, in_y: u32, in_x: u32,
  out_z: u32, out_y: u32, out_x: u32,
  out_words: u32,
}

@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
@group(0) @binding(2) var<uniform> params: Params;

// 0 = mean (rounded half up for integer types), 1 = max, 2 = mode (ties go to the larger value).
override MODE: u32 = 0u;
// 0 = uint8, 1 = uint16, 2 = int16, 3 = float32.
override DTYPE: u32 = 1u;
override WG: u32 = 256u;
// #include linear_index

fn per_word() -> u32 {
  if (DTYPE == 0u) { return 4u; }
  if (DTYPE == 3u) { return 1u; }
  return 2u;
}

fn load(i: u32) -> f32 {
  let per = per_word();
  let w = src[i / per];
  if (DTYPE == 3u) { return bitcast<f32>(w); }
  let bits = 32u / per;
  let v = (w >> ((i % per) * bits)) & ((1u << bits) - 1u);
  if (DTYPE == 2u) { return f32((bitcast<i32>(v << 16u)) >> 16u); }
  return f32(v);
}

fn pack(v: f32, slot: u32) -> u32 {
  if (DTYPE == 3u) { return bitcast<u32>(v); }
  let per = per_word();
  let bits = 32u / per;
  var u: u32;
  if (DTYPE == 2u) { u = bitcast<u32>(i32(v)) & 0xffffu; } else { u = u32(v); }
  return u << (slot * bits);
}

fn reduce_one(o: u32) -> f32 {
  let ox = o % params.out_x;
  let oy = (o / params.out_x) % params.out_y;
  let oz = o / (params.out_x * params.out_y);
  var vals: array<f32, 8>;
  var n = 0u;
  for (var dz = 0u; dz < 2u; dz++) {
    let z = 2u * oz + dz;
    if (z >= params.in_z) { continue; }
    for (var dy = 0u; dy < 2u; dy++) {
      let y = 2u * oy + dy;
      if (y >= params.in_y) { continue; }
      for (var dx = 0u; dx < 2u; dx++) {
        let x = 2u * ox + dx;
        if (x >= params.in_x) { continue; }
        vals[n] = load((z * params.in_y + y) * params.in_x + x);
        n++;
      }
    }
  }
  if (MODE == 1u) {
    var m = vals[0];
    for (var i = 1u; i < n; i++) { m = max(m, vals[i]); }
    return m;
  }
  if (MODE == 2u) {
    var best = vals[0];
    var best_count = 0u;
    for (var i = 0u; i < n; i++) {
      var c = 0u;
      for (var j = 0u; j < n; j++) { if (vals[j] == vals[i]) { c++; } }
      if (c > best_count || (c == best_count && vals[i] > best)) { best = vals[i]; best_count = c; }
    }
    return best;
  }
  var s = 0.0;
  for (var i = 0u; i < n; i++) { s += vals[i]; }
  let mean = s / f32(n);
  if (DTYPE == 3u) { return mean; }
  return floor(mean + 0.5);
}

@compute @workgroup_size(WG)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  let w = linear(wid, nwg, lid);
  if (w >= params.out_words) { return; }
  let per = per_word();
  let total = params.out_z * params.out_y * params.out_x;
  var word = 0u;
  for (var k = 0u; k < per; k++) {
    let o = w * per + k;
    if (o < total) { word = word | pack(reduce_one(o), k); }
  }
  dst[w] = word;
}
