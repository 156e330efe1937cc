// Winograd F(2x2, 5x5) convolution (assembly/winograd.ts) against a plain scalar direct
// convolution in f64 (PyTorch Conv2d semantics: stride 1, dilation 1, zero padding, NCHW, weight
// (OC, C, 5, 5), bias per output channel). Shapes: C 1..5, OC 1..7, H/W 5..17 odd, even and
// non-square, paddings 0, 1, 2, 4 (and PH != PW), batch 1..3, the MNIST CNN's two convolutions;
// chunking is forced down to 1..3 tile rows per chunk so chunks end inside a sample and inside the
// last partial 4-tile group. Tolerance: 1e-5 of the output's max abs. Every buffer, the scratch
// included (sized exactly by winograd5_f32_scratch_floats), carries guard words; y starts as NaN so
// every element must be written; x, w and b must be left unchanged.
import {
  winograd5_f32_fwd, winograd5_f32_scratch_floats, winograd5_f32_fwd_rows, winograd5_f32_scratch_floats_rows,
} from "../../assembly/winograd";
import {
  seed, allocF32, fillUniform, fillValue, getF32, snapshotBits, expectBits, expectCloseUniform, checkGuardsAndFree,
} from "./util";

const REL_TOL: f64 = 1e-5;

// N, C, OC, H, W, PH, PW
const SHAPES: StaticArray<i32> = [
  1, 1, 1, 5, 5, 0, 0,   // a single output
  1, 1, 1, 5, 5, 2, 2,
  2, 3, 4, 5, 6, 0, 0,   // OH = 1, OW = 2
  1, 2, 3, 6, 5, 0, 1,
  3, 5, 7, 13, 9, 1, 1,  // odd output: cropped last tile row and column
  2, 4, 5, 7, 5, 4, 4,   // padding 4: tiles reading padding only
  1, 3, 2, 9, 17, 2, 0,
  2, 5, 6, 17, 11, 1, 4,
  3, 2, 7, 16, 16, 2, 2, // 16x16 output: 8 tiles a row, two full groups
  1, 1, 6, 12, 15, 1, 2,
  2, 4, 1, 10, 14, 0, 2,
  1, 5, 3, 8, 8, 4, 1,
  2, 1, 32, 28, 28, 2, 2, // the MNIST CNN's first convolution
  2, 32, 64, 14, 14, 2, 2, // and its second
];
const NSHAPES = SHAPES.length / 7;

class Shape {
  N: i32; C: i32; OC: i32; H: i32; W: i32; PH: i32; PW: i32; OH: i32; OW: i32;
  constructor(k: i32) {
    const s = SHAPES, b = k * 7;
    this.N = s[b]; this.C = s[b + 1]; this.OC = s[b + 2]; this.H = s[b + 3]; this.W = s[b + 4];
    this.PH = s[b + 5]; this.PW = s[b + 6];
    this.OH = this.H + 2 * this.PH - 4;
    this.OW = this.W + 2 * this.PW - 4;
  }
  get xSize(): i32 { return this.N * this.C * this.H * this.W; }
  get wSize(): i32 { return this.OC * this.C * 25; }
  get ySize(): i32 { return this.N * this.OC * this.OH * this.OW; }
  name(): string {
    return "winograd5 N=" + this.N.toString() + " C=" + this.C.toString() + " OC=" + this.OC.toString()
      + " H=" + this.H.toString() + " W=" + this.W.toString() + " P=" + this.PH.toString() + "," + this.PW.toString()
      + " out=" + this.OH.toString() + "x" + this.OW.toString();
  }
  /** The direct convolution in f64: y[n, o, i, j] = b[o] + sum x[n, c, i - PH + ki, j - PW + kj] w[o, c, ki, kj]. */
  reference(x: usize, w: usize, b: usize): StaticArray<f64> {
    const out = new StaticArray<f64>(this.ySize);
    for (let n = 0; n < this.N; n++) {
      for (let o = 0; o < this.OC; o++) {
        for (let i = 0; i < this.OH; i++) {
          for (let j = 0; j < this.OW; j++) {
            let s: f64 = b ? <f64>getF32(b, o) : 0;
            for (let c = 0; c < this.C; c++) {
              for (let ki = 0; ki < 5; ki++) {
                const ih = i - this.PH + ki;
                if (ih < 0 || ih >= this.H) continue;
                for (let kj = 0; kj < 5; kj++) {
                  const iw = j - this.PW + kj;
                  if (iw < 0 || iw >= this.W) continue;
                  s += <f64>getF32(x, ((n * this.C + c) * this.H + ih) * this.W + iw)
                    * <f64>getF32(w, ((o * this.C + c) * 5 + ki) * 5 + kj);
                }
              }
            }
            out[((n * this.OC + o) * this.OH + i) * this.OW + j] = s;
          }
        }
      }
    }
    return out;
  }
}

function maxAbs(a: StaticArray<f64>): f64 {
  let m: f64 = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Runs one shape with `rows` tile rows per chunk (0: the exported default), checks y, inputs and guards. */
function check(k: i32, rows: i32, bias: bool, mis: usize): void {
  const g = new Shape(k);
  seed(<u32>(900 + 7 * k + rows));
  const what = g.name() + " rows/chunk=" + rows.toString() + (bias ? " bias" : " no bias") + " misalign=" + mis.toString();
  const x = allocF32(g.xSize, mis), w = allocF32(g.wSize, mis), y = allocF32(g.ySize, mis);
  const b = bias ? allocF32(g.OC, mis) : 0;
  fillUniform(x, g.xSize, -1, 1);
  fillUniform(w, g.wSize, -0.5, 0.5);
  if (bias) fillUniform(b, g.OC, -1, 1);
  fillValue(y, g.ySize, NaN);
  const floats = rows > 0
    ? winograd5_f32_scratch_floats_rows(g.N, g.C, g.OC, g.H, g.W, g.PH, g.PW, rows)
    : winograd5_f32_scratch_floats(g.N, g.C, g.OC, g.H, g.W, g.PH, g.PW);
  const scratch = allocF32(floats);
  fillValue(scratch, floats, NaN); // an unwritten scratch value that reached y would show as NaN
  const xBits = snapshotBits(x, g.xSize), wBits = snapshotBits(w, g.wSize);
  const want = g.reference(x, w, b);
  if (rows > 0) {
    winograd5_f32_fwd_rows(x, g.N, g.C, g.H, g.W, w, b, g.OC, g.PH, g.PW, g.OH, g.OW, y, scratch, rows);
  } else {
    winograd5_f32_fwd(x, g.N, g.C, g.H, g.W, w, b, g.OC, g.PH, g.PW, g.OH, g.OW, y, scratch);
  }
  expectCloseUniform(what, y, want, REL_TOL * maxAbs(want));
  expectBits(what + ": x unchanged", x, xBits);
  expectBits(what + ": w unchanged", w, wBits);
  checkGuardsAndFree(what);
}

describe("winograd5_f32_fwd", () => {
  it("matches a direct convolution on odd shapes, paddings 0..4, with and without bias", () => {
    for (let k = 0; k < NSHAPES; k++) {
      check(k, 0, true, 0);
      check(k, 0, false, 4);
    }
  });

  it("gives the same result when the tile rows are split into small chunks", () => {
    for (let k = 0; k < NSHAPES - 2; k++) { // the MNIST shapes split below
      for (let rows = 1; rows <= 3; rows++) check(k, rows, true, 0);
    }
    check(NSHAPES - 2, 5, true, 0);  // 28x28: 14 tile rows a sample, chunks end inside a sample
    check(NSHAPES - 1, 3, false, 4); // 14x14: 7 tile rows a sample
  });

  it("sizes its scratch from the shape alone, with the default chunking bounded whatever the batch", () => {
    const s1 = winograd5_f32_scratch_floats(8, 32, 64, 14, 14, 2, 2);
    expect<i32>(winograd5_f32_scratch_floats(64, 32, 64, 14, 14, 2, 2)).toBe(s1, "more samples than one chunk: same scratch");
    expect<i32>(winograd5_f32_scratch_floats(4096, 32, 64, 14, 14, 2, 2)).toBe(s1, "batch 4096: same scratch");
    expect<bool>(s1 < (1 << 21)).toBe(true, "32->64 on 14x14 needs under 8 MiB, got " + s1.toString() + " floats");
    expect<i32>(winograd5_f32_scratch_floats(1, 1, 1, 3, 3, 0, 0)).toBe(0, "empty output: no scratch");
  });
});
