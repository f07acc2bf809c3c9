// 3D convolution forward, NCDHW, f32, for 3×3×3 kernels at stride 1, padding 1 (the network's hot
// path), with workgroup-shared input tiles: a workgroup of WX×WY invocations computes a tile of
// (WX·TX) × WY outputs of one depth plane for CB×4 output channels. For each input channel and
// kernel depth it loads the (WY+2) × (WX·TX+2) input rows the tile needs into workgroup memory once,
// cooperatively and contiguously, then every invocation reads its rows from there: each input value
// is fetched from storage once per workgroup instead of once per invocation and tap row.
// Weights as in conv3d.wgsl ([ci][kd][kh][kw][co/4] vec4, uniform within a workgroup). Same Params
// and depth windows as conv3d.wgsl.

// #include conv_params

override TX: u32 = 4;     // outputs along x per invocation (<= 8)
override CB: u32 = 2;     // vec4 output-channel blocks per invocation (<= 2)
override WX: u32 = 8;
override WY: u32 = 8;
override HAS_BIAS: bool = true;

const MAX_ACC = 16u;
// #include conv_block
const TILE_W_MAX = 66u;   // WX·TX + 2 for WX·TX <= 64
const TILE_H_MAX = 18u;   // WY + 2 for WY <= 16

@group(0) @binding(0) var<storage, read> input: array<f32>;
@group(0) @binding(1) var<storage, read> weight: array<vec4f>;
@group(0) @binding(2) var<storage, read> bias: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
@group(0) @binding(4) var<uniform> p: Params;

var<workgroup> tile: array<f32, TILE_W_MAX * TILE_H_MAX>;

@compute @workgroup_size(WX * WY)
fn forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_index) lid: u32) {
  // The workgroup's place (uniform): x tile, y tile, depth, batch, channel group. `total` counts
  // workgroups here; a workgroup past it still runs the loops (barriers) but writes nothing.
  let wg = wid.x + (wid.y + wid.z * nwg.y) * nwg.x;
  let tilesY = (p.outH + WY - 1u) / WY;
  var t = min(wg, p.total - 1u);
  let tx = t % p.tilesX; t = t / p.tilesX;
  let ty = t % tilesY; t = t / tilesY;
  let od = t % p.outD; t = t / p.outD;
  let n = t % p.n;
  let cg = t / p.n;

  let lx = lid % WX;
  let ly = lid / WX;
  let tileW = WX * TX + 2u;
  let tileH = WY + 2u;
  let x0 = i32(tx * WX * TX) - 1;   // input x of tile column 0
  let y0 = i32(ty * WY) - 1;        // input y of tile row 0
  let oy = ty * WY + ly;
  let ox0 = (tx * WX + lx) * TX;

  var acc = acc_init(cg);

  let gd = i32(od + p.outD0) - 1 - p.inD0;
  let plane = p.inH * p.inW;
  for (var ci = 0u; ci < p.cin; ci++) {
    let chanBase = (n * p.cin + ci) * p.inD;
    for (var kd = 0u; kd < 3u; kd++) {
      let id = gd + i32(kd);
      let depthOk = id >= 0 && id < i32(p.inD);
      workgroupBarrier();
      if (depthOk) {
        let base = (chanBase + u32(id)) * plane;
        for (var k = lid; k < tileW * tileH; k += WX * WY) {
          let r = i32(k / tileW);
          let q = i32(k % tileW);
          let iy = y0 + r;
          let ix = x0 + q;
          let inside = iy >= 0 && iy < i32(p.inH) && ix >= 0 && ix < i32(p.inW);
          tile[k] = select(0.0, input[base + u32(select(0, iy, inside)) * p.inW + u32(select(0, ix, inside))], inside);
        }
      }
      workgroupBarrier();
      if (!depthOk) { continue; }
      for (var kh = 0u; kh < 3u; kh++) {
        let row = (ly + kh) * tileW + lx * TX;
        var xs: array<f32, 10>;
        for (var j = 0u; j < TX + 2u; j++) { xs[j] = tile[row + j]; }
        let wrow = ((ci * 3u + kd) * 3u + kh) * 3u;
        for (var kw = 0u; kw < 3u; kw++) {
          for (var c = 0u; c < CB; c++) {
            let w = weight[(wrow + kw) * p.coVec + cg * CB + c];
            for (var i = 0u; i < TX; i++) {
              acc[c * TX + i] = fma(vec4f(xs[i + kw]), w, acc[c * TX + i]);
            }
          }
        }
      }
    }
  }

  if (wg >= p.total || oy >= p.outH) { return; }
  acc_store(&acc, n, od, oy, ox0, cg);
}
