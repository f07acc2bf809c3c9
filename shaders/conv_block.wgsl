// Fragment, not a kernel (`// #include conv_block`): the register block an invocation of the conv
// kernels (conv3d, conv3d_tiled, conv3d_transpose) owns, TX outputs along x × CB vec4 groups of
// output channels. Needs Params (n, cout, outD, outH, outW, relu) as the uniform `p`, the
// overrides TX, CB and HAS_BIAS, MAX_ACC, and the bindings `bias` and `output`.

alias Acc = array<vec4f, MAX_ACC>;

// The block of channel group cg, each output starting at its channel's bias (or zero).
fn acc_init(cg: u32) -> Acc {
  var acc: Acc;
  for (var c = 0u; c < CB; c++) {
    var b = vec4f(0.0);
    if (HAS_BIAS) { b = bias[cg * CB + c]; }
    for (var i = 0u; i < TX; i++) { acc[c * TX + i] = b; }
  }
  return acc;
}

// Writes the block at sample n, depth od, row oh, x from ox0, with the ReLU when p.relu is set;
// channels past cout and x past outW are not written.
fn acc_store(acc: ptr<function, Acc>, n: u32, od: u32, oh: u32, ox0: u32, cg: u32) {
  let outPlane = p.outH * p.outW;
  for (var c = 0u; c < CB; c++) {
    for (var l = 0u; l < 4u; l++) {
      let co = (cg * CB + c) * 4u + l;
      if (co >= p.cout) { continue; }
      let base = ((n * p.cout + co) * p.outD + od) * outPlane + oh * p.outW;
      for (var i = 0u; i < TX; i++) {
        let ox = ox0 + i;
        if (ox < p.outW) {
          var v = (*acc)[c * TX + i][l];
          if (p.relu != 0u) { v = max(v, 0.0); }
          output[base + ox] = v;
        }
      }
    }
  }
}
