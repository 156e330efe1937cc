// Pooling kernels against plain scalar references: max pool forward (values and argmax indices
// bit-exact, on random values, on coarse values full of ties, and with NaN / +-Inf mixed in) and
// backward (zeroing, overlapping windows accumulating); average pool forward / backward with both
// divisors (count_include_pad on and off) and known values. Shapes cover the 2x2 stride-2 SIMD path
// (every OW mod 4, odd H / W) and the general path (kernels 1..5 non-square, strides 1..3,
// paddings 0..2, OH or OW == 1); outputs carry guard words.
import {
  maxpool2d_f32_fwd, maxpool2d_f32_bwd, avgpool2d_f32_fwd, avgpool2d_f32_bwd,
} from "../../assembly/pool";
import {
  seed, uniform, randInt, allocF32, allocBytes, fillUniform, fillValue, getF32, setF32,
  snapshotBits, expectBits, expectClose, checkGuardsAndFree,
} from "./util";

const EPS: f64 = 1.1920928955078125e-7;

// P, H, W, KH, KW, SH, SW, PH, PW (PyTorch requires PH <= KH / 2, PW <= KW / 2)
const POOL_SHAPES: StaticArray<i32> = [
  // 2x2 stride 2 unpadded: the SIMD path
  3, 28, 28, 2, 2, 2, 2, 0, 0,
  2, 14, 14, 2, 2, 2, 2, 0, 0,
  1, 5, 7, 2, 2, 2, 2, 0, 0,
  2, 9, 17, 2, 2, 2, 2, 0, 0,
  1, 2, 2, 2, 2, 2, 2, 0, 0,
  1, 3, 3, 2, 2, 2, 2, 0, 0,
  2, 4, 13, 2, 2, 2, 2, 0, 0,
  1, 2, 19, 2, 2, 2, 2, 0, 0,
  // the general path
  1, 4, 4, 2, 2, 2, 2, 1, 1,
  3, 5, 5, 3, 3, 1, 1, 1, 1,
  1, 7, 7, 3, 3, 2, 2, 1, 1,
  2, 7, 5, 2, 3, 1, 2, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 0, 0,
  3, 5, 7, 5, 5, 3, 3, 2, 2,
  1, 7, 7, 4, 2, 3, 1, 2, 1,
  2, 28, 28, 3, 3, 3, 3, 0, 0,
  1, 5, 5, 5, 5, 1, 1, 0, 0,
  1, 1, 7, 1, 3, 1, 2, 0, 1,
  2, 6, 6, 2, 2, 1, 1, 1, 1,
  1, 7, 1, 3, 1, 1, 1, 1, 0,
  3, 7, 7, 2, 4, 2, 3, 1, 2,
];
const NPOOL = POOL_SHAPES.length / 9;

class Pool {
  P: i32; H: i32; W: i32; KH: i32; KW: i32; SH: i32; SW: i32; PH: i32; PW: i32; OH: i32; OW: i32;
  constructor(k: i32) {
    const s = POOL_SHAPES, b = k * 9;
    this.P = s[b]; this.H = s[b + 1]; this.W = s[b + 2]; this.KH = s[b + 3]; this.KW = s[b + 4];
    this.SH = s[b + 5]; this.SW = s[b + 6]; this.PH = s[b + 7]; this.PW = s[b + 8];
    this.OH = (this.H + 2 * this.PH - this.KH) / this.SH + 1;
    this.OW = (this.W + 2 * this.PW - this.KW) / this.SW + 1;
  }
  get inSize(): i32 { return this.P * this.H * this.W; }
  get outSize(): i32 { return this.P * this.OH * this.OW; }
  name(kernel: string): string {
    return kernel + " P=" + this.P.toString() + " H=" + this.H.toString() + " W=" + this.W.toString()
      + " K=" + this.KH.toString() + "x" + this.KW.toString() + " S=" + this.SH.toString() + "," + this.SW.toString()
      + " P=" + this.PH.toString() + "," + this.PW.toString() + " out=" + this.OH.toString() + "x" + this.OW.toString();
  }
  /** Whether window (oh, ow)'s tap (i, j) lies in the plane. */
  inside(oh: i32, ow: i32, i: i32, j: i32): bool {
    const h = oh * this.SH - this.PH + i, w = ow * this.SW - this.PW + j;
    return h >= 0 && h < this.H && w >= 0 && w < this.W;
  }
  /** Flat in-plane index of window (oh, ow)'s tap (i, j). */
  at(oh: i32, ow: i32, i: i32, j: i32): i32 {
    return (oh * this.SH - this.PH + i) * this.W + ow * this.SW - this.PW + j;
  }
  /** PyTorch's divisor, counted tap by tap: taps inside the padded extent, or inside the plane. */
  divisor(oh: i32, ow: i32, includePad: bool): i32 {
    let n = 0;
    for (let i = 0; i < this.KH; i++) {
      for (let j = 0; j < this.KW; j++) {
        const h = oh * this.SH - this.PH + i, w = ow * this.SW - this.PW + j;
        const inPadded = h >= -this.PH && h < this.H + this.PH && w >= -this.PW && w < this.W + this.PW;
        if (includePad ? inPadded : this.inside(oh, ow, i, j)) n++;
      }
    }
    return n;
  }
}

const RANDOM = 0, TIES = 1, SPECIAL = 2;
const FILL_NAMES: StaticArray<string> = ["random", "ties", "NaN/Inf"];

function fillInput(x: usize, n: i32, mode: i32): void {
  for (let i = 0; i < n; i++) {
    let v: f32;
    if (mode == RANDOM) v = uniform(-2, 2);
    else if (mode == TIES) {
      const k = randInt(4);
      v = k == 3 ? -0.0 : <f32>k - 1; // -1, 0, 1, -0: many equal maxima, and 0 vs -0
    } else {
      const k = randInt(12);
      if (k == 0) v = NaN;
      else if (k == 1) v = reinterpret<f32>(0x7fc01234); // a NaN with a payload, to tell NaNs apart
      else if (k == 2) v = -Infinity;
      else if (k == 3) v = Infinity;
      else v = uniform(-2, 2);
    }
    setF32(x, i, v);
  }
}

describe("maxpool2d_f32_fwd", () => {
  it("max and argmax match a scan-order reference (first max wins, the last NaN wins) bit-exactly", () => {
    for (let k = 0; k < NPOOL; k++) {
      const g = new Pool(k);
      for (let mode = 0; mode < 3; mode++) {
        seed(<u32>(100 + 3 * k + mode));
        const what = g.name("maxpool fwd") + " " + FILL_NAMES[mode];
        const x = allocF32(g.inSize), y = allocF32(g.outSize), arg = allocBytes(<usize>g.outSize << 2);
        fillInput(x, g.inSize, mode);
        fillValue(y, g.outSize, 7);
        const wantY = new StaticArray<u32>(g.outSize), wantArg = new StaticArray<u32>(g.outSize);
        for (let p = 0; p < g.P; p++) {
          for (let oh = 0; oh < g.OH; oh++) {
            for (let ow = 0; ow < g.OW; ow++) {
              let best: f32 = -Infinity, at = -1;
              for (let i = 0; i < g.KH; i++) {
                for (let j = 0; j < g.KW; j++) {
                  if (!g.inside(oh, ow, i, j)) continue;
                  const idx = g.at(oh, ow, i, j);
                  const v = getF32(x, p * g.H * g.W + idx);
                  if (at < 0) at = idx; // an all -inf window reports its first element
                  if (isNaN(v) || v > best) { best = v; at = idx; }
                }
              }
              const o = (p * g.OH + oh) * g.OW + ow;
              wantY[o] = reinterpret<u32>(best);
              wantArg[o] = <u32>at;
            }
          }
        }
        const xBits = snapshotBits(x, g.inSize);
        maxpool2d_f32_fwd(x, g.P, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.OH, g.OW, y, arg);
        expectBits(what + ": y", y, wantY);
        expectBits(what + ": arg", arg, wantArg);
        expectBits(what + ": x unchanged", x, xBits);
        // arg = 0 (inference, no indices): the same values, bit for bit
        const y2 = allocF32(g.outSize);
        fillValue(y2, g.outSize, 7);
        maxpool2d_f32_fwd(x, g.P, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.OH, g.OW, y2, 0);
        expectBits(what + ": y without indices", y2, wantY);
        checkGuardsAndFree(what);
      }
    }
  });

  it("known values: ties, -inf windows and NaN in the 2x2 path and the general path", () => {
    // one 2x8 plane, 2x2 stride 2: windows [1 1 | 1 1], [-inf -inf | -inf -inf], [0 NaN | 5 NaN'], [2 3 | 3 1]
    const x = allocF32(16), y = allocF32(4), arg = allocBytes(16);
    const nan2 = reinterpret<f32>(0x7fc00002);
    const top: StaticArray<f32> = [1, 1, -Infinity, -Infinity, 0, NaN, 2, 3];
    const bottom: StaticArray<f32> = [1, 1, -Infinity, -Infinity, 5, nan2, 3, 1];
    for (let i = 0; i < 8; i++) { setF32(x, i, top[i]); setF32(x, 8 + i, bottom[i]); }
    for (let general = 0; general < 2; general++) {
      // SH = 3 gives the same single row of windows (OH = 1) but takes the general path
      const SH = general ? 3 : 2;
      maxpool2d_f32_fwd(x, 1, 2, 8, 2, 2, SH, 2, 0, 0, 1, 4, y, arg);
      const tag = general ? " (general)" : " (2x2)";
      expect<f32>(getF32(y, 0)).toBe(1, "tie" + tag);
      expect<i32>(load<i32>(arg)).toBe(0, "tie: first index wins" + tag);
      expect<f32>(getF32(y, 1)).toBe(-Infinity, "-inf window" + tag);
      expect<i32>(load<i32>(arg, 4)).toBe(2, "-inf window: its first index" + tag);
      expect<u32>(load<u32>(y + 8)).toBe(0x7fc00002, "NaN wins, the last one" + tag);
      expect<i32>(load<i32>(arg, 8)).toBe(13, "NaN index: the last NaN in scan order" + tag);
      expect<f32>(getF32(y, 3)).toBe(3, "max" + tag);
      expect<i32>(load<i32>(arg, 12)).toBe(7, "first of two 3s" + tag);
    }
    checkGuardsAndFree("maxpool known values");
  });
});

describe("maxpool2d_f32_bwd", () => {
  it("zeroes dx and adds dy at each argmax (overlapping windows accumulate)", () => {
    for (let k = 0; k < NPOOL; k++) {
      const g = new Pool(k);
      seed(<u32>(400 + k));
      const what = g.name("maxpool bwd");
      const x = allocF32(g.inSize), y = allocF32(g.outSize), arg = allocBytes(<usize>g.outSize << 2);
      const dy = allocF32(g.outSize), dx = allocF32(g.inSize, 4);
      fillInput(x, g.inSize, TIES); // ties make many windows share an argmax
      maxpool2d_f32_fwd(x, g.P, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.OH, g.OW, y, arg);
      fillUniform(dy, g.outSize, -2, 2);
      fillValue(dx, g.inSize, NaN); // must be overwritten, not accumulated into
      const want = new StaticArray<f64>(g.inSize), tol = new StaticArray<f64>(g.inSize);
      for (let o = 0; o < g.outSize; o++) {
        const p = o / (g.OH * g.OW);
        const i = p * g.H * g.W + load<i32>(arg + (<usize>o << 2));
        const v = <f64>getF32(dy, o);
        want[i] += v;
        tol[i] += Math.abs(v);
      }
      for (let i = 0; i < g.inSize; i++) tol[i] *= <f64>(g.KH * g.KW) * EPS;
      const argBits = snapshotBits(arg, g.outSize), dyBits = snapshotBits(dy, g.outSize);
      maxpool2d_f32_bwd(dy, arg, g.P, g.H, g.W, g.OH, g.OW, dx);
      expectClose(what, dx, want, tol);
      expectBits(what + ": arg unchanged", arg, argBits);
      expectBits(what + ": dy unchanged", dy, dyBits);
      checkGuardsAndFree(what);
    }
  });
});

describe("avgpool2d_f32_fwd / avgpool2d_f32_bwd", () => {
  it("forward: window sums over PyTorch's divisor, count_include_pad on and off", () => {
    for (let k = 0; k < NPOOL; k++) {
      const g = new Pool(k);
      for (let inc = 0; inc < 2; inc++) {
        seed(<u32>(600 + 2 * k + inc));
        const what = g.name("avgpool fwd") + " countIncludePad=" + inc.toString();
        const x = allocF32(g.inSize), y = allocF32(g.outSize, 4);
        fillUniform(x, g.inSize, -2, 2);
        fillValue(y, g.outSize, NaN);
        const want = new StaticArray<f64>(g.outSize), tol = new StaticArray<f64>(g.outSize);
        for (let p = 0; p < g.P; p++) {
          for (let oh = 0; oh < g.OH; oh++) {
            for (let ow = 0; ow < g.OW; ow++) {
              let s: f64 = 0, m: f64 = 0;
              for (let i = 0; i < g.KH; i++) {
                for (let j = 0; j < g.KW; j++) {
                  if (!g.inside(oh, ow, i, j)) continue;
                  const v = <f64>getF32(x, p * g.H * g.W + g.at(oh, ow, i, j));
                  s += v;
                  m += Math.abs(v);
                }
              }
              const d = <f64>g.divisor(oh, ow, inc != 0);
              const o = (p * g.OH + oh) * g.OW + ow;
              want[o] = s / d;
              tol[o] = <f64>(g.KH * g.KW + 1) * EPS * m / d;
            }
          }
        }
        avgpool2d_f32_fwd(x, g.P, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.OH, g.OW, inc, y);
        expectClose(what, y, want, tol);
        checkGuardsAndFree(what);
      }
    }
  });

  it("backward: dx zeroed, then each dy / divisor spread over its window", () => {
    for (let k = 0; k < NPOOL; k++) {
      const g = new Pool(k);
      for (let inc = 0; inc < 2; inc++) {
        seed(<u32>(800 + 2 * k + inc));
        const what = g.name("avgpool bwd") + " countIncludePad=" + inc.toString();
        const dy = allocF32(g.outSize), dx = allocF32(g.inSize, 8);
        fillUniform(dy, g.outSize, -2, 2);
        fillValue(dx, g.inSize, NaN);
        const want = new StaticArray<f64>(g.inSize), tol = new StaticArray<f64>(g.inSize);
        for (let p = 0; p < g.P; p++) {
          for (let oh = 0; oh < g.OH; oh++) {
            for (let ow = 0; ow < g.OW; ow++) {
              const v = <f64>getF32(dy, (p * g.OH + oh) * g.OW + ow) / <f64>g.divisor(oh, ow, inc != 0);
              for (let i = 0; i < g.KH; i++) {
                for (let j = 0; j < g.KW; j++) {
                  if (!g.inside(oh, ow, i, j)) continue;
                  const t = p * g.H * g.W + g.at(oh, ow, i, j);
                  want[t] += v;
                  tol[t] += Math.abs(v);
                }
              }
            }
          }
        }
        for (let i = 0; i < g.inSize; i++) tol[i] *= <f64>(g.KH * g.KW + 2) * EPS;
        const dyBits = snapshotBits(dy, g.outSize);
        avgpool2d_f32_bwd(dy, g.P, g.H, g.W, g.KH, g.KW, g.SH, g.SW, g.PH, g.PW, g.OH, g.OW, inc, dx);
        expectClose(what, dx, want, tol);
        expectBits(what + ": dy unchanged", dy, dyBits);
        checkGuardsAndFree(what);
      }
    }
  });

  it("known values: ones 4x4, kernel 3, stride 2, padding 1", () => {
    const x = allocF32(16), y = allocF32(4), dy = allocF32(4), dx = allocF32(16);
    fillValue(x, 16, 1);
    avgpool2d_f32_fwd(x, 1, 4, 4, 3, 3, 2, 2, 1, 1, 2, 2, 1, y);
    // window (0,0) holds 4 ones of 9 taps, (0,1) and (1,0) 6, (1,1) 9
    expect<f32>(getF32(y, 0)).toBe(<f32>4 / <f32>9, "count_include_pad corner");
    expect<f32>(getF32(y, 1)).toBe(<f32>6 / <f32>9, "count_include_pad edge");
    expect<f32>(getF32(y, 3)).toBe(1, "count_include_pad interior");
    avgpool2d_f32_fwd(x, 1, 4, 4, 3, 3, 2, 2, 1, 1, 2, 2, 0, y);
    for (let i = 0; i < 4; i++) expect<f32>(getF32(y, i)).toBe(1, "count_include_pad=False: the mean of ones");
    fillValue(dy, 4, 9);
    avgpool2d_f32_bwd(dy, 1, 4, 4, 3, 3, 2, 2, 1, 1, 2, 2, 1, dx);
    // dx[1,1] lies in all four windows, dx[0,0] in one, dx[3,3] in one, dx[0,1] in two
    expect<f32>(getF32(dx, 5)).toBe(4);
    expect<f32>(getF32(dx, 0)).toBe(1);
    expect<f32>(getF32(dx, 15)).toBe(1);
    expect<f32>(getF32(dx, 1)).toBe(2);
    avgpool2d_f32_bwd(dy, 1, 4, 4, 3, 3, 2, 2, 1, 1, 2, 2, 0, dx);
    expect<f32>(getF32(dx, 0)).toBe(<f32>9 / <f32>4, "exclude pad: window (0,0) has 4 elements");
    expect<f32>(getF32(dx, 5)).toBe(<f32>9 / <f32>4 + <f32>9 / <f32>6 + <f32>9 / <f32>6 + <f32>1, "all four windows");
    checkGuardsAndFree("avgpool known values");
  });
});
