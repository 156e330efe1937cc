// Convolution support kernels against plain scalar references: im2col (bit-exact: it only copies),
// col2im (accumulating into a prefilled dx, within f32 rounding of an f64 reference), the adjoint
// identity <im2col(x), c> == <x, col2im(c)>, and the per-channel bias add / gradient. Shapes cover
// C = 1 and 3, H/W in {1, 5, 7, 28}, kernels 1..5 (non-square), strides 1..3, paddings 0..2,
// dilations 1..2, OH or OW == 1, and both the SW == 1 span path and the strided path; buffers
// carry guard words and some are misaligned on purpose.
import { im2col_f32, col2im_f32, bias_f32_add_channels, bias_f32_grad_channels } from "../../assembly/conv";
import {
  seed, uniform, allocF32, fillUniform, fillValue, getF32, setF32,
  snapshotBits, expectBits, expectClose, expectScalar, checkGuardsAndFree,
} from "./util";

const EPS: f64 = 1.1920928955078125e-7;

// C, H, W, KH, KW, SH, SW, PH, PW, DH, DW
const CONV_SHAPES: StaticArray<i32> = [
  1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1,
  1, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1,
  3, 5, 7, 3, 2, 1, 1, 0, 0, 1, 1,
  3, 7, 5, 2, 3, 2, 1, 1, 2, 1, 1,
  1, 7, 7, 3, 3, 2, 2, 1, 1, 1, 1,
  3, 7, 7, 3, 3, 3, 3, 2, 2, 1, 1,
  3, 7, 5, 3, 2, 1, 2, 2, 1, 2, 2,
  1, 7, 7, 5, 5, 1, 1, 2, 2, 1, 1,
  3, 5, 5, 5, 5, 1, 1, 0, 0, 1, 1, // OH = OW = 1
  1, 1, 7, 1, 3, 1, 1, 0, 1, 1, 1, // H = 1
  3, 7, 1, 4, 1, 1, 1, 2, 0, 1, 1, // W = 1, even kernel
  1, 5, 7, 2, 4, 3, 1, 2, 2, 2, 1, // padding wider than half a dilated kernel
  3, 7, 7, 2, 2, 1, 1, 0, 0, 2, 2, // dilation 2
  1, 28, 28, 5, 5, 1, 1, 2, 2, 1, 1, // the MNIST CNN's first conv
  3, 28, 28, 3, 3, 1, 1, 1, 1, 1, 1,
  3, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1,
  1, 28, 28, 4, 5, 3, 2, 0, 1, 2, 1,
  1, 5, 5, 1, 1, 1, 1, 2, 2, 1, 1, // 1x1 kernel with padding: whole rows of zeros
  1, 3, 3, 2, 2, 1, 3, 0, 2, 1, 1, // stride wider than the input: OW = 2
];
const NCONV = CONV_SHAPES.length / 11;

class Conv {
  C: i32; H: i32; W: i32; KH: i32; KW: i32; SH: i32; SW: i32; PH: i32; PW: i32; DH: i32; DW: i32;
  OH: i32; OW: i32;
  constructor(k: i32) {
    const s = CONV_SHAPES, b = k * 11;
    this.C = s[b]; this.H = s[b + 1]; this.W = s[b + 2]; this.KH = s[b + 3]; this.KW = s[b + 4];
    this.SH = s[b + 5]; this.SW = s[b + 6]; this.PH = s[b + 7]; this.PW = s[b + 8];
    this.DH = s[b + 9]; this.DW = s[b + 10];
    this.OH = (this.H + 2 * this.PH - this.DH * (this.KH - 1) - 1) / this.SH + 1;
    this.OW = (this.W + 2 * this.PW - this.DW * (this.KW - 1) - 1) / this.SW + 1;
  }
  get rows(): i32 { return this.C * this.KH * this.KW; }
  get cols(): i32 { return this.OH * this.OW; }
  get inSize(): i32 { return this.C * this.H * this.W; }
  name(kernel: string): string {
    return kernel + " C=" + this.C.toString() + " H=" + this.H.toString() + " W=" + this.W.toString()
      + " K=" + this.KH.toString() + "x" + this.KW.toString() + " S=" + this.SH.toString() + "," + this.SW.toString()
      + " P=" + this.PH.toString() + "," + this.PW.toString() + " D=" + this.DH.toString() + "," + this.DW.toString()
      + " out=" + this.OH.toString() + "x" + this.OW.toString();
  }
  im2col(x: usize, col: usize): void {
    im2col_f32(x, this.C, this.H, this.W, this.KH, this.KW, this.SH, this.SW, this.PH, this.PW,
      this.DH, this.DW, this.OH, this.OW, col);
  }
  col2im(col: usize, dx: usize): void {
    col2im_f32(col, this.C, this.H, this.W, this.KH, this.KW, this.SH, this.SW, this.PH, this.PW,
      this.DH, this.DW, this.OH, this.OW, dx);
  }
  /** The flat input index col entry (r, j) reads, or -1 for padding. */
  source(r: i32, j: i32): i32 {
    const kj = r % this.KW, ki = (r / this.KW) % this.KH, c = r / (this.KW * this.KH);
    const ow = j % this.OW, oh = j / this.OW;
    const ih = oh * this.SH - this.PH + ki * this.DH, iw = ow * this.SW - this.PW + kj * this.DW;
    if (ih < 0 || ih >= this.H || iw < 0 || iw >= this.W) return -1;
    return (c * this.H + ih) * this.W + iw;
  }
}

describe("im2col_f32", () => {
  it("copies every patch (zeros in the padding) bit-exactly, aligned and misaligned", () => {
    for (let k = 0; k < NCONV; k++) {
      const g = new Conv(k);
      for (let mis: usize = 0; mis <= 4; mis += 4) {
        seed(<u32>(100 + k));
        const what = g.name("im2col") + " misalign=" + mis.toString();
        const x = allocF32(g.inSize, mis);
        const col = allocF32(g.rows * g.cols, mis);
        fillUniform(x, g.inSize, -2, 2);
        fillValue(col, g.rows * g.cols, NaN); // every entry must be written
        const want = new StaticArray<u32>(g.rows * g.cols);
        for (let r = 0; r < g.rows; r++) {
          for (let j = 0; j < g.cols; j++) {
            const s = g.source(r, j);
            want[r * g.cols + j] = reinterpret<u32>(s < 0 ? <f32>0 : getF32(x, s));
          }
        }
        const xBits = snapshotBits(x, g.inSize);
        g.im2col(x, col);
        expectBits(what, col, want);
        expectBits(what + ": x unchanged", x, xBits);
        checkGuardsAndFree(what);
      }
    }
  });
});

describe("col2im_f32", () => {
  it("adds every col entry to the input position it came from, accumulating into dx", () => {
    for (let k = 0; k < NCONV; k++) {
      const g = new Conv(k);
      for (let mis: usize = 0; mis <= 4; mis += 4) {
        seed(<u32>(300 + k));
        const what = g.name("col2im") + " misalign=" + mis.toString();
        const n = g.rows * g.cols;
        const col = allocF32(n, mis);
        const dx = allocF32(g.inSize, mis);
        fillUniform(col, n, -2, 2);
        fillUniform(dx, g.inSize, -1, 1); // prior contents: col2im must add to them
        const want = new StaticArray<f64>(g.inSize);
        const mag = new StaticArray<f64>(g.inSize);
        for (let i = 0; i < g.inSize; i++) {
          want[i] = <f64>getF32(dx, i);
          mag[i] = Math.abs(want[i]);
        }
        for (let r = 0; r < g.rows; r++) {
          for (let j = 0; j < g.cols; j++) {
            const s = g.source(r, j);
            if (s < 0) continue;
            const v = <f64>getF32(col, r * g.cols + j);
            want[s] += v;
            mag[s] += Math.abs(v);
          }
        }
        const tol = new StaticArray<f64>(g.inSize);
        for (let i = 0; i < g.inSize; i++) tol[i] = <f64>(g.KH * g.KW + 1) * EPS * mag[i];
        const colBits = snapshotBits(col, n);
        g.col2im(col, dx);
        expectClose(what, dx, want, tol);
        expectBits(what + ": col unchanged", col, colBits);
        checkGuardsAndFree(what);
      }
    }
  });

  it("is the adjoint of im2col: <im2col(x), c> == <x, col2im(c)>", () => {
    for (let k = 0; k < NCONV; k++) {
      const g = new Conv(k);
      seed(<u32>(500 + k));
      const what = g.name("adjoint");
      const n = g.rows * g.cols;
      const x = allocF32(g.inSize), c = allocF32(n), col = allocF32(n), dx = allocF32(g.inSize);
      fillUniform(x, g.inSize, -1, 1);
      fillUniform(c, n, -1, 1);
      fillValue(dx, g.inSize, 0);
      g.im2col(x, col);
      g.col2im(c, dx);
      let lhs: f64 = 0, rhs: f64 = 0, mag: f64 = 0;
      for (let i = 0; i < n; i++) {
        const t = <f64>getF32(col, i) * <f64>getF32(c, i);
        lhs += t;
        mag += Math.abs(t);
      }
      for (let i = 0; i < g.inSize; i++) rhs += <f64>getF32(x, i) * <f64>getF32(dx, i);
      expectScalar(what, rhs, lhs, <f64>(g.KH * g.KW) * 2 * EPS * mag + 1e-30);
      checkGuardsAndFree(what);
    }
  });
});

// N, C, S
const BIAS_SHAPES: StaticArray<i32> = [
  1, 1, 1,
  2, 3, 1,
  1, 1, 3,
  3, 2, 4,
  2, 3, 5,
  4, 3, 7,
  2, 5, 25,
  3, 32, 196,
  2, 3, 784,
];

describe("bias_f32_add_channels / bias_f32_grad_channels", () => {
  it("add b[c] to every (n, c) plane", () => {
    for (let k = 0; k < BIAS_SHAPES.length / 3; k++) {
      const N = BIAS_SHAPES[3 * k], C = BIAS_SHAPES[3 * k + 1], S = BIAS_SHAPES[3 * k + 2];
      seed(<u32>(700 + k));
      const what = "bias_f32_add_channels N=" + N.toString() + " C=" + C.toString() + " S=" + S.toString();
      const n = N * C * S;
      const y = allocF32(n, 4), b = allocF32(C);
      fillUniform(y, n, -3, 3);
      fillUniform(b, C, -3, 3);
      const want = new StaticArray<u32>(n);
      for (let i = 0; i < n; i++) want[i] = reinterpret<u32>(getF32(y, i) + getF32(b, (i / S) % C));
      bias_f32_add_channels(y, b, N, C, S);
      expectBits(what, y, want);
      checkGuardsAndFree(what);
    }
  });

  it("db[c] (+)= the sum of dy over n and s, overwriting or accumulating", () => {
    for (let k = 0; k < BIAS_SHAPES.length / 3; k++) {
      const N = BIAS_SHAPES[3 * k], C = BIAS_SHAPES[3 * k + 1], S = BIAS_SHAPES[3 * k + 2];
      for (let acc = 0; acc < 2; acc++) {
        seed(<u32>(900 + 2 * k + acc));
        const what = "bias_f32_grad_channels N=" + N.toString() + " C=" + C.toString() + " S=" + S.toString()
          + " accumulate=" + acc.toString();
        const n = N * C * S;
        const dy = allocF32(n, 8), db = allocF32(C);
        fillUniform(dy, n, -3, 3);
        fillUniform(db, C, -10, 10);
        const want = new StaticArray<f64>(C), tol = new StaticArray<f64>(C);
        for (let c = 0; c < C; c++) {
          want[c] = acc ? <f64>getF32(db, c) : 0;
          tol[c] = Math.abs(want[c]);
        }
        for (let i = 0; i < n; i++) {
          const c = (i / S) % C, v = <f64>getF32(dy, i);
          want[c] += v;
          tol[c] += Math.abs(v);
        }
        for (let c = 0; c < C; c++) tol[c] = <f64>(S / 4 + 8) * EPS * tol[c];
        bias_f32_grad_channels(dy, db, N, C, S, acc);
        expectClose(what, db, want, tol);
        checkGuardsAndFree(what);
      }
    }
  });
});
