// Second pass of the loss reductions: one workgroup adds the vec2 partial sums written by a loss's
// `partial` entry (thread t takes parts t, t + WG, …, then a fixed-order tree in workgroup memory,
// so the result is deterministic) and turns the totals into the loss value.
//   res[0], res[1] = the totals; res[2] = the loss:
//   LOSS 0, BCE:  scale · Σ w·l / (NORM_BY_WEIGHT ? Σ w : count)   (0 when that is 0)
//   LOSS 1, Dice: scale · (1 − (2 Σ p·t + eps) / (Σ p + Σ t + eps))

struct Params { parts: u32, _p0: u32, _p1: u32, _p2: u32, count: f32, eps: f32, scale: f32, _p3: f32 }

override LOSS: u32 = 0u;
override NORM_BY_WEIGHT: bool = false;
const WG: u32 = 256u;

@group(0) @binding(0) var<storage, read> part: array<vec2f>;
@group(0) @binding(1) var<storage, read_write> res: array<f32>;
@group(0) @binding(2) var<uniform> p: Params;

var<workgroup> tree: array<vec2f, WG>;

@compute @workgroup_size(WG)
fn finish(@builtin(local_invocation_index) lid: u32) {
  var acc = vec2f(0.0);
  for (var i = lid; i < p.parts; i += WG) { acc += part[i]; }
  tree[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) { tree[lid] += tree[lid + s]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let t = tree[0];
    var loss = 0.0;
    if (LOSS == 0u) {
      let denom = select(p.count, t.y, NORM_BY_WEIGHT);
      loss = select(0.0, p.scale * t.x / denom, denom != 0.0);
    } else {
      loss = p.scale * (1.0 - (2.0 * t.x + p.eps) / (t.y + p.eps));
    }
    res[0] = t.x;
    res[1] = t.y;
    res[2] = loss;
    res[3] = 0.0;
  }
}
