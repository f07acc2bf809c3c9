// Fragment, not a kernel (`// #include linear_index`): the flat index of an invocation in a 1D
// problem dispatched as a 3D grid of workgroups of WG invocations (a grid is at most 65,535
// workgroups per dimension, so large problems spill into y and z). Needs `override WG: u32`.
fn linear(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (wid.x + (wid.y + wid.z * nwg.y) * nwg.x) * WG + lid;
}
