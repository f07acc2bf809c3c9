// conv3d_transpose.wgsl with the packed weights in a uniform buffer (at most 4096 vec4, 64 KiB), as
// conv3d_uniform.wgsl is conv3d.wgsl's: on lavapipe reading weights from a uniform buffer costs far
// less than from a storage buffer (bench/conv-inner.ts). The host binds 64 KiB of the packed
// weights' buffer, which it makes at least that large.

@group(0) @binding(1) var<uniform> weight: array<vec4f, 4096>;

fn weight_at(i: u32) -> vec4f { return weight[i]; }

// #include conv3d_transpose_main
