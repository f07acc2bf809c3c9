// The decoders' and the fusion head's convolution over [a, upsampled b] (conv3d_cat_up_main.wgsl),
// its weights in a storage buffer.

@group(0) @binding(2) var<storage, read> weight: array<vec4f>;

fn weight_at(i: u32) -> vec4f { return weight[i]; }

// #include conv3d_cat_up_main
