// Fragment, not a kernel: cascade (pairwise) summation, for kernels that `// #include cascade_sum`
// after declaring `alias CascadeValue = f32;` (or vec2f, …). Push the sums of consecutive runs in
// order; the run sums combine the way a binary counter carries, so the total is a balanced tree
// of runs and its rounding error grows with the run length + log2(runs), not with the count.

const LEVELS: u32 = 27u; // up to 2^27 runs per sum

// One stack entry per one bit of `runs` (bit k: the sum of 2^k runs), largest first.
struct Cascade { stack: array<CascadeValue, LEVELS>, runs: u32 }

fn cascade_push(k: ptr<function, Cascade>, run: CascadeValue) {
  // Run number r merges with the stack's top entries while r's low bits are ones.
  var s = run;
  var r = (*k).runs;
  var top = countOneBits(r);
  while ((r & 1u) != 0u) {
    top -= 1u;
    s = (*k).stack[top] + s;
    r >>= 1u;
  }
  (*k).stack[top] = s;
  (*k).runs += 1u;
}

fn cascade_total(k: ptr<function, Cascade>) -> CascadeValue {
  var s = CascadeValue(0.0);
  for (var top = countOneBits((*k).runs); top > 0u; top -= 1u) { s += (*k).stack[top - 1u]; }
  return s;
}
