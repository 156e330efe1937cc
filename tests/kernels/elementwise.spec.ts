// Elementwise kernels against plain scalar references: fill, copy, bias add / grad, ReLU fwd / bwd,
// find_nonfinite, argmax. Sizes cover every SIMD tail length (ODD_SIZES in util.ts).
import {
  fill_f32, copy_f32, bias_f32_add, bias_f32_grad, relu_f32_fwd, relu_f32_bwd,
  find_nonfinite_f32, argmax_f32_rows,
} from "../../assembly/elementwise";
import {
  seed, uniform, randInt, allocF32, allocBytes, fillUniform, fillValue, getF32, setF32,
  snapshot, snapshotBits, expectClose, expectCloseUniform, expectBits, checkGuardsAndFree, ODD_SIZES,
} from "./util";

// (rows, cols) shapes for the row-broadcast kernels
const SHAPES: StaticArray<i32> = [
  1, 1,
  1, 3,
  3, 5,
  2, 7,
  5, 4,
  4, 17,
  7, 33,
  2, 1023,
  64, 10,
  300, 257,
];

function shapeName(kernel: string, rows: i32, cols: i32): string {
  return kernel + " rows=" + rows.toString() + " cols=" + cols.toString();
}

function nName(kernel: string, n: i32): string {
  return kernel + " n=" + n.toString();
}

describe("fill_f32", () => {
  it("writes exactly n copies of the value", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) {
      const n = ODD_SIZES[s];
      const p = allocF32(n);
      const value: f32 = -1.25 + <f32>n;
      fill_f32(p, n, value);
      const want = new StaticArray<u32>(n);
      for (let i = 0; i < n; i++) want[i] = reinterpret<u32>(value);
      expectBits(nName("fill_f32", n), p, want);
      checkGuardsAndFree(nName("fill_f32", n));
    }
  });

  it("fills NaN, -0.0 and Infinity bit-exactly; n=0 writes nothing", () => {
    const p = allocF32(7);
    const vals: StaticArray<f32> = [NaN, -0.0, Infinity];
    for (let k = 0; k < vals.length; k++) {
      fill_f32(p, 7, vals[k]);
      const want = new StaticArray<u32>(7);
      for (let i = 0; i < 7; i++) want[i] = reinterpret<u32>(vals[k]);
      expectBits("fill_f32 special value " + k.toString(), p, want);
    }
    const q = allocF32(0);
    fill_f32(q, 0, 1.0);
    checkGuardsAndFree("fill_f32 specials");
  });
});

describe("copy_f32", () => {
  it("copies exactly n elements", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) {
      const n = ODD_SIZES[s];
      seed(<u32>(11 + n));
      const src = allocF32(n);
      const dst = allocF32(n, 4); // misaligned destination on purpose
      fillUniform(src, n, -3, 3);
      const want = snapshotBits(src, n);
      copy_f32(dst, src, n);
      expectBits(nName("copy_f32", n), dst, want);
      expectBits(nName("copy_f32", n) + ": src unchanged", src, want);
      checkGuardsAndFree(nName("copy_f32", n));
    }
  });
});

describe("bias_f32_add", () => {
  it("y[r, c] += bias[c] on every row (exact)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      const rows = SHAPES[s], cols = SHAPES[s + 1];
      const name = shapeName("bias_f32_add", rows, cols);
      seed(<u32>(rows * 1000 + cols));
      const y = allocF32(rows * cols);
      const bias = allocF32(cols);
      fillUniform(y, rows * cols, -2, 2);
      fillUniform(bias, cols, -1, 1);
      const want = new StaticArray<u32>(rows * cols);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          // one f32 addition per element: any correct kernel is bit-exact
          want[r * cols + c] = reinterpret<u32>(getF32(y, r * cols + c) + getF32(bias, c));
        }
      }
      const biasBits = snapshotBits(bias, cols);
      bias_f32_add(y, bias, rows, cols);
      expectBits(name, y, want);
      expectBits(name + ": bias unchanged", bias, biasBits);
      checkGuardsAndFree(name);
    }
  });
});

describe("bias_f32_grad", () => {
  it("accumulate=0: dbias = column sums of dy, prior contents (NaN) ignored", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      const rows = SHAPES[s], cols = SHAPES[s + 1];
      const name = shapeName("bias_f32_grad accumulate=0", rows, cols);
      seed(<u32>(rows * 7 + cols * 13));
      const dy = allocF32(rows * cols);
      const db = allocF32(cols);
      fillUniform(dy, rows * cols, -1, 1);
      fillValue(db, cols, NaN);
      const want = new StaticArray<f64>(cols);
      const tol = new StaticArray<f64>(cols);
      for (let c = 0; c < cols; c++) {
        let sum: f64 = 0, mag: f64 = 0;
        for (let r = 0; r < rows; r++) {
          const v = <f64>getF32(dy, r * cols + c);
          sum += v;
          mag += Math.abs(v);
        }
        want[c] = sum;
        tol[c] = 1e-6 * mag + 1e-7;
      }
      const dyBits = snapshotBits(dy, rows * cols);
      bias_f32_grad(dy, db, rows, cols, 0);
      expectClose(name, db, want, tol);
      expectBits(name + ": dy unchanged", dy, dyBits);
      checkGuardsAndFree(name);
    }
  });

  it("accumulate=1: dbias += column sums of dy", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      const rows = SHAPES[s], cols = SHAPES[s + 1];
      const name = shapeName("bias_f32_grad accumulate=1", rows, cols);
      seed(<u32>(rows * 17 + cols * 3 + 5));
      const dy = allocF32(rows * cols);
      const db = allocF32(cols);
      fillUniform(dy, rows * cols, -1, 1);
      fillUniform(db, cols, -4, 4);
      const want = new StaticArray<f64>(cols);
      const tol = new StaticArray<f64>(cols);
      for (let c = 0; c < cols; c++) {
        let sum: f64 = <f64>getF32(db, c);
        let mag: f64 = Math.abs(sum);
        for (let r = 0; r < rows; r++) {
          const v = <f64>getF32(dy, r * cols + c);
          sum += v;
          mag += Math.abs(v);
        }
        want[c] = sum;
        tol[c] = 1e-6 * mag + 1e-7;
      }
      bias_f32_grad(dy, db, rows, cols, 1);
      expectClose(name, db, want, tol);
      checkGuardsAndFree(name);
    }
  });

  it("rows=0: accumulate=0 zeroes dbias, accumulate=1 leaves it", () => {
    const dy = allocF32(0);
    const db = allocF32(5);
    fillValue(db, 5, 3.0);
    bias_f32_grad(dy, db, 0, 5, 1);
    const threes = new StaticArray<f64>(5);
    for (let i = 0; i < 5; i++) threes[i] = 3;
    expectCloseUniform("bias_f32_grad rows=0 accumulate=1", db, threes, 0);
    bias_f32_grad(dy, db, 0, 5, 0);
    expectCloseUniform("bias_f32_grad rows=0 accumulate=0", db, new StaticArray<f64>(5), 0);
    checkGuardsAndFree("bias_f32_grad rows=0");
  });
});

/** ReLU input: random values with exact zeros, -0.0 and tiny magnitudes mixed in. */
function fillReluInput(x: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const k = randInt(8);
    let v: f32;
    if (k == 0) v = 0.0;
    else if (k == 1) v = -0.0;
    else if (k == 2) v = uniform(-1, 1) * 1e-30; // tiny values of either sign
    else v = uniform(-5, 5);
    setF32(x, i, v);
  }
}

describe("relu_f32_fwd", () => {
  it("y = max(x, 0) on all sizes", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) {
      const n = ODD_SIZES[s];
      const name = nName("relu_f32_fwd", n);
      seed(<u32>(31 + n));
      const x = allocF32(n);
      const y = allocF32(n);
      fillReluInput(x, n);
      fillValue(y, n, NaN);
      const want = new StaticArray<f64>(n);
      for (let i = 0; i < n; i++) {
        const v = getF32(x, i);
        want[i] = v > 0 ? <f64>v : 0;
      }
      const xBits = snapshotBits(x, n);
      relu_f32_fwd(x, y, n);
      expectCloseUniform(name, y, want, 0);
      expectBits(name + ": x unchanged", x, xBits);
      checkGuardsAndFree(name);
    }
  });

  it("works in place (y == x)", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) {
      const n = ODD_SIZES[s];
      const name = nName("relu_f32_fwd in place", n);
      seed(<u32>(37 + n));
      const x = allocF32(n);
      fillReluInput(x, n);
      const want = new StaticArray<f64>(n);
      for (let i = 0; i < n; i++) {
        const v = getF32(x, i);
        want[i] = v > 0 ? <f64>v : 0;
      }
      relu_f32_fwd(x, x, n);
      expectCloseUniform(name, x, want, 0);
      checkGuardsAndFree(name);
    }
  });

  it("keeps +Inf, maps -Inf to 0", () => {
    const x = allocF32(6);
    const y = allocF32(6);
    const vals: StaticArray<f32> = [Infinity, -Infinity, 1, -1, -Infinity, Infinity];
    for (let i = 0; i < 6; i++) setF32(x, i, vals[i]); // indices 0..3 SIMD body, 4..5 tail
    relu_f32_fwd(x, y, 6);
    const want: StaticArray<f64> = [Infinity, 0, 1, 0, 0, Infinity];
    for (let i = 0; i < 6; i++) {
      expect<f64>(<f64>getF32(y, i)).toBe(want[i], "relu_f32_fwd(" + (<f64>vals[i]).toString() + ") at index " + i.toString());
    }
    checkGuardsAndFree("relu_f32_fwd infinities");
  });

  it("propagates NaN like torch.relu, in the SIMD body and in the scalar tail alike", () => {
    const x = allocF32(6);
    const y = allocF32(6);
    for (let i = 0; i < 6; i++) setF32(x, i, NaN); // indices 0..3 SIMD body, 4..5 tail
    relu_f32_fwd(x, y, 6);
    for (let i = 0; i < 6; i++) {
      const v = getF32(y, i);
      expect<bool>(v != v).toBe(true, "relu_f32_fwd(NaN) at index " + i.toString() + " is NaN");
    }
    checkGuardsAndFree("relu_f32_fwd NaN");
  });
});

describe("relu_f32_bwd", () => {
  it("dx = dy where y > 0, else 0 (y == 0 gives zero gradient)", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) {
      const n = ODD_SIZES[s];
      const name = nName("relu_f32_bwd", n);
      seed(<u32>(41 + n));
      const y = allocF32(n);
      const dy = allocF32(n);
      const dx = allocF32(n);
      // y is a forward output: >= 0, with many exact zeros (and some -0.0)
      for (let i = 0; i < n; i++) {
        const k = randInt(4);
        setF32(y, i, k == 0 ? 0.0 : k == 1 ? -0.0 : uniform(0, 3));
      }
      fillUniform(dy, n, -2, 2);
      fillValue(dx, n, NaN);
      const want = new StaticArray<f64>(n);
      for (let i = 0; i < n; i++) want[i] = getF32(y, i) > 0 ? <f64>getF32(dy, i) : 0;
      const yBits = snapshotBits(y, n);
      const dyBits = snapshotBits(dy, n);
      relu_f32_bwd(y, dy, dx, n);
      expectCloseUniform(name, dx, want, 0);
      expectBits(name + ": y unchanged", y, yBits);
      expectBits(name + ": dy unchanged", dy, dyBits);
      checkGuardsAndFree(name);
    }
  });

  it("works in place (dx == dy), also with NaN / Inf gradients where y == 0", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) {
      const n = ODD_SIZES[s];
      const name = nName("relu_f32_bwd in place", n);
      seed(<u32>(43 + n));
      const y = allocF32(n);
      const dy = allocF32(n);
      for (let i = 0; i < n; i++) setF32(y, i, randInt(2) == 0 ? 0.0 : uniform(0.5, 3));
      fillUniform(dy, n, -2, 2);
      // a non-finite upstream gradient where the unit was inactive must still give exactly 0
      for (let i = 0; i < n; i += 5) if (getF32(y, i) == 0) setF32(dy, i, i % 2 ? NaN : Infinity);
      const want = new StaticArray<f64>(n);
      for (let i = 0; i < n; i++) want[i] = getF32(y, i) > 0 ? <f64>getF32(dy, i) : 0;
      relu_f32_bwd(y, dy, dy, n);
      expectCloseUniform(name, dy, want, 0);
      checkGuardsAndFree(name);
    }
  });
});

describe("find_nonfinite_f32", () => {
  it("returns -1 when everything is finite (including -0.0, f32 max, subnormals)", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) {
      const n = ODD_SIZES[s];
      seed(<u32>(53 + n));
      const p = allocF32(n);
      fillUniform(p, n, -1e3, 1e3);
      for (let i = 0; i < n; i += 3) setF32(p, i, -0.0);
      for (let i = 1; i < n; i += 7) setF32(p, i, i % 2 ? F32.MAX_VALUE : -F32.MAX_VALUE);
      for (let i = 2; i < n; i += 11) setF32(p, i, F32.MIN_VALUE); // smallest subnormal
      expect<i32>(find_nonfinite_f32(p, n)).toBe(-1, nName("find_nonfinite_f32 all finite", n));
      checkGuardsAndFree("find_nonfinite_f32 all finite");
    }
    const empty = allocF32(0);
    expect<i32>(find_nonfinite_f32(empty, 0)).toBe(-1, "find_nonfinite_f32 n=0");
    checkGuardsAndFree("find_nonfinite_f32 n=0");
  });

  it("finds NaN, +Inf, -Inf at every kind of position (n=38: SIMD body 0..31, tail 32..37)", () => {
    const n = 38;
    const positions: StaticArray<i32> = [0, 1, 3, 4, 15, 16, 17, 31, 32, 37];
    const bad: StaticArray<u32> = [
      0x7fc00000, // quiet NaN
      0xffc00000, // negative quiet NaN
      0x7f800001, // signalling NaN pattern
      0x7f800000, // +Inf
      0xff800000, // -Inf
    ];
    const p = allocF32(n);
    for (let b = 0; b < bad.length; b++) {
      for (let k = 0; k < positions.length; k++) {
        seed(<u32>(59 + b * 100 + k));
        fillUniform(p, n, -10, 10);
        store<u32>(p + (<usize>positions[k] << 2), bad[b]);
        expect<i32>(find_nonfinite_f32(p, n)).toBe(positions[k],
          "find_nonfinite_f32 n=38, 0x" + bad[b].toString(16) + " at " + positions[k].toString());
      }
    }
    checkGuardsAndFree("find_nonfinite_f32 n=38");
  });

  it("returns the FIRST non-finite index when there are several", () => {
    const n = 70;
    const p = allocF32(n);
    seed(61);
    fillUniform(p, n, -1, 1);
    setF32(p, 69, NaN);
    setF32(p, 40, Infinity);
    setF32(p, 21, -Infinity);
    setF32(p, 18, NaN); // same 16-block as 21
    expect<i32>(find_nonfinite_f32(p, n)).toBe(18);
    setF32(p, 18, 0);
    expect<i32>(find_nonfinite_f32(p, n)).toBe(21);
    setF32(p, 21, 0);
    expect<i32>(find_nonfinite_f32(p, n)).toBe(40);
    setF32(p, 40, 0);
    expect<i32>(find_nonfinite_f32(p, n)).toBe(69);
    // a NaN in the tail and one in a block: the block one is first
    setF32(p, 5, NaN);
    expect<i32>(find_nonfinite_f32(p, n)).toBe(5);
    checkGuardsAndFree("find_nonfinite_f32 first");
  });

  it("sizes 1..n with one NaN at the last position, and a large n", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) {
      const n = ODD_SIZES[s];
      seed(<u32>(67 + n));
      const p = allocF32(n);
      fillUniform(p, n, -1, 1);
      setF32(p, n - 1, NaN);
      expect<i32>(find_nonfinite_f32(p, n)).toBe(n - 1, nName("find_nonfinite_f32 NaN last", n));
      setF32(p, n - 1, 0);
      const mid = n / 2;
      setF32(p, mid, -Infinity);
      expect<i32>(find_nonfinite_f32(p, n)).toBe(mid, nName("find_nonfinite_f32 -Inf middle", n));
      // a NaN just past the end must not be seen
      setF32(p, mid, 0);
      expect<i32>(find_nonfinite_f32(p, n - 1)).toBe(-1, nName("find_nonfinite_f32 n-1 (no NaN)", n));
      checkGuardsAndFree("find_nonfinite_f32 last");
    }
  });
});

describe("argmax_f32_rows", () => {
  it("matches a scalar argmax (first index on ties) on all shapes", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      const rows = SHAPES[s], cols = SHAPES[s + 1];
      const name = shapeName("argmax_f32_rows", rows, cols);
      seed(<u32>(71 + rows * 3 + cols));
      const x = allocF32(rows * cols);
      const out = allocBytes(<usize>rows << 2);
      // quantized values so ties are frequent
      for (let i = 0; i < rows * cols; i++) setF32(x, i, <f32>(randInt(7) - 3));
      for (let i = 0; i < rows; i++) store<i32>(out + (<usize>i << 2), -7);
      argmax_f32_rows(x, out, rows, cols);
      for (let r = 0; r < rows; r++) {
        let best = getF32(x, r * cols), arg = 0;
        for (let c = 1; c < cols; c++) {
          if (getF32(x, r * cols + c) > best) { best = getF32(x, r * cols + c); arg = c; }
        }
        expect<i32>(load<i32>(out + (<usize>r << 2))).toBe(arg, name + " row " + r.toString());
      }
      checkGuardsAndFree(name);
    }
  });

  it("handles ties, max at the last column, -Inf rows and -0.0 vs 0.0", () => {
    const cols = 5;
    const rows = 6;
    const x = allocF32(rows * cols);
    const out = allocBytes(<usize>rows << 2);
    const vals: StaticArray<f32> = [
      2, 2, 2, 2, 2,                                            // all equal -> 0
      -1, -1, -1, -1, 3,                                        // max last -> 4
      -Infinity, -Infinity, -Infinity, -Infinity, -Infinity,    // all -Inf -> 0
      1, 5, 0, 5, 5,                                            // tie on max -> 1
      -0.0, 0.0, -0.0, 0.0, -1,                                 // -0 == 0 -> 0
      -Infinity, -3, Infinity, Infinity, 4,                     // +Inf -> 2
    ];
    const want: StaticArray<i32> = [0, 4, 0, 1, 0, 2];
    for (let i = 0; i < rows * cols; i++) setF32(x, i, vals[i]);
    argmax_f32_rows(x, out, rows, cols);
    for (let r = 0; r < rows; r++) {
      expect<i32>(load<i32>(out + (<usize>r << 2))).toBe(want[r], "argmax_f32_rows special row " + r.toString());
    }
    // cols = 1: always 0
    argmax_f32_rows(x, out, rows, 1);
    for (let r = 0; r < rows; r++) expect<i32>(load<i32>(out + (<usize>r << 2))).toBe(0, "argmax cols=1");
    checkGuardsAndFree("argmax_f32_rows specials");
  });
});
