// Transposed 3D convolution, NCDHW, f32. It is both the backward-data pass of conv3d (dX from dY)
// and the forward pass of a learned upsampling layer (PyTorch's ConvTranspose3d).
//
//   y[n, q, i] = sum_r sum_k x[n, r, o] * W[r, q, k]   where o * S - P + k = i
//
// With conv3d's W[co][ci][k]: r = co (reduced), q = ci (produced). Weights come packed
// [r][kd][kh][kw][q/4] as vec4 (conv3d_pack.wgsl, entry transpose). Register block per invocation:
// TX outputs along x times CB×4 produced channels, the input row segment loaded once per tap row.
// Depth windows as in conv3d.wgsl: bound input holds global depths [inD0, inD0+inD), bound output
// [outD0, outD0+outD).

@group(0) @binding(1) var<storage, read> weight: array<vec4f>;

fn weight_at(i: u32) -> vec4f { return weight[i]; }

// #include conv3d_transpose_main
