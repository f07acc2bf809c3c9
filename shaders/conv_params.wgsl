// Fragment, not a kernel (`// #include conv_params`): the parameters of conv3d, conv3d_tiled and
// conv3d_transpose (and of conv_block, which they include), bound as the uniform `p`. Declared on
// the host as CONV_PARAMS (src/nn/ops/conv3d.ts), which packs them by name; the Gpu refuses the
// kernel if this struct and that declaration differ in any name, type or place.

struct Params {
  n: u32, cin: u32, cout: u32, coGroups: u32,
  inD: u32, inH: u32, inW: u32, inD0: i32,
  outD: u32, outH: u32, outW: u32, outD0: u32,
  tilesX: u32, total: u32, relu: u32, coVec: u32,
}
