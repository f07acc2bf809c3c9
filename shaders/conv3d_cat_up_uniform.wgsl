// conv3d_cat_up.wgsl with the packed weights `weight` in a uniform buffer (the first 4096 vec4, 64
// KiB, are bound: all the entry `forward` reads where it fits, and a's channels, all that
// `forward_poly` reads of it), as conv3d_uniform.wgsl is conv3d.wgsl's.

@group(0) @binding(2) var<uniform> weight: array<vec4f, 4096>;

fn weight_at(i: u32) -> vec4f { return weight[i]; }

// #include conv3d_cat_up_main
