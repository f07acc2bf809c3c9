// conv3d.wgsl's forward convolution with the packed weights in a uniform buffer (at most 4096
// vec4, 64 KiB: layers of up to 75 input channels at 3×3×3 and 8 output channels per group). Each
// workgroup reads one channel group's weights at addresses the same for all its invocations; on
// lavapipe such loads from a uniform buffer cost far less than from a storage buffer
// (bench/conv-inner.ts). The host binds 64 KiB of the packed weights' buffer, which it makes at
// least that large.

@group(0) @binding(1) var<uniform> weight: array<vec4f, 4096>;

fn weight_at(i: u32) -> vec4f { return weight[i]; }

// #include conv3d_forward
