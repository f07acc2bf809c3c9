// 3D convolution, NCDHW, f32: forward (cross-correlation as in PyTorch's conv3d).
//
// Each invocation owns a register block of TX consecutive output voxels along x times CB×4 output
// channels (vec4 over channels). Per input channel and kernel row it loads the input row segment
// once into registers and reuses it for every kw tap and every output channel. Weights are packed
// [ci][kd][kh][kw][co/4] as vec4 so one load serves four output channels.
//
// Depth windows: the bound input holds global depths [inD0, inD0 + inD) and the bound output global
// depths [outD0, outD0 + outD). Taps outside the window are zero, which is the zero padding when the
// window is clipped at the volume's edge. This lets tensors larger than one binding run by slabs.

@group(0) @binding(1) var<storage, read> weight: array<vec4f>;

fn weight_at(i: u32) -> vec4f { return weight[i]; }

// #include conv3d_forward
