// Fragment, not a kernel (`// #include conv_group_block`): the register block an invocation of
// conv3d_forward.wgsl or conv3d_transpose_main.wgsl owns. Each workgroup holds invocations of one
// channel group only (each group's run padded to whole workgroups), so cg, and with it every weight
// and bias address, is the same across the workgroup, as weights in a uniform buffer need
// (conv3d_uniform.wgsl) to be read once rather than gathered. The channel group is the slowest, so
// neighbouring workgroups share weights in cache; x tiles vary fastest across invocations. Needs
// Params as the uniform `p` and `override WG`; the host dispatches ceil(per group / WG) workgroups
// per channel group.

struct GroupBlock { n: u32, od: u32, oh: u32, xt: u32, cg: u32, valid: bool }

fn group_block(wid: vec3u, nwg: vec3u, lid: u32) -> GroupBlock {
  let perGroup = p.tilesX * p.outH * p.outD * p.n;
  let wgPerGroup = (perGroup + WG - 1u) / WG;
  let wl = wid.x + (wid.y + wid.z * nwg.y) * nwg.x;
  var k: GroupBlock;
  k.cg = wl / wgPerGroup;
  var t = (wl % wgPerGroup) * WG + lid;
  k.valid = k.cg < p.coGroups && t < perGroup;
  k.xt = t % p.tilesX; t = t / p.tilesX;
  k.oh = t % p.outH; t = t / p.outH;
  k.od = t % p.outD;
  k.n = t / p.outD;
  return k;
}
