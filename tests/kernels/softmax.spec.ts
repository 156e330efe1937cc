// Softmax family and classification losses against f64 scalar references:
// softmax / log-softmax forward (values, row sums, large logits), their backward kernels against
// the analytic formulas, NLL, and the fused cross-entropy against log_softmax + nll composition.
//
// Tolerances follow f32 error analysis: EPS = 2^-23 per rounding; a row sum over `cols` terms
// may lose up to cols * EPS relative; exp(x - lse) inherits the absolute error of lse.
import {
  softmax_f32_fwd, softmax_f32_bwd, log_softmax_f32_fwd, log_softmax_f32_bwd,
  nll_f32_fwd_bwd, cross_entropy_f32_fwd_bwd,
} from "../../assembly/softmax";
import {
  seed, uniform, randInt, allocF32, allocBytes, fillUniform, fillValue, getF32, setF32,
  snapshotBits, expectClose, expectBits, expectScalar, expectAllFinite, checkGuardsAndFree,
  saveLowMemory, lowMemoryChanges,
} from "./util";

const EPS: f64 = 1.1920928955078125e-7;

// (rows, cols)
const SHAPES: StaticArray<i32> = [
  1, 1,
  1, 3,
  5, 4,
  4, 5,
  7, 10,
  3, 17,
  2, 33,
  64, 10,
  2, 1023,
];

function shapeName(kernel: string, rows: i32, cols: i32): string {
  return kernel + " rows=" + rows.toString() + " cols=" + cols.toString();
}

function rowMax(x: usize, r: i32, cols: i32): f64 {
  let m = <f64>getF32(x, r * cols);
  for (let c = 1; c < cols; c++) m = Math.max(m, <f64>getF32(x, r * cols + c));
  return m;
}

/** log(sum(exp(x))) of row r, in f64. */
function rowLse(x: usize, r: i32, cols: i32): f64 {
  const m = rowMax(x, r, cols);
  let s: f64 = 0;
  for (let c = 0; c < cols; c++) s += Math.exp(<f64>getF32(x, r * cols + c) - m);
  return m + Math.log(s);
}

/** Random logits; for odd seeds a few rows get huge values (+-1000) to test stability. */
function fillLogits(x: usize, rows: i32, cols: i32, huge: bool): void {
  fillUniform(x, rows * cols, -6, 6);
  if (huge) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const k = randInt(4);
        if (k == 0) setF32(x, r * cols + c, 1000 - <f32>randInt(3));
        else if (k == 1) setF32(x, r * cols + c, -1000 + <f32>randInt(3));
      }
    }
  }
}

function fillLabels(labels: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    // first row uses class 0 and last row the last class, the rest random
    const l = r == 0 ? 0 : r == rows - 1 ? cols - 1 : randInt(cols);
    store<i32>(labels + (<usize>r << 2), l);
  }
}

function label(labels: usize, r: i32): i32 {
  return load<i32>(labels + (<usize>r << 2));
}

// ---------------------------------------------------------------------------------------------

function checkSoftmaxFwd(rows: i32, cols: i32, huge: bool, inPlace: bool): void {
  const name = shapeName("softmax_f32_fwd", rows, cols) + (huge ? " (logits +-1000)" : "") + (inPlace ? " (in place)" : "");
  const n = rows * cols;
  const x = allocF32(n);
  const y = inPlace ? x : allocF32(n);
  fillLogits(x, rows, cols, huge);
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  for (let r = 0; r < rows; r++) {
    const lse = rowLse(x, r, cols);
    const m = rowMax(x, r, cols);
    for (let c = 0; c < cols; c++) {
      const v = <f64>getF32(x, r * cols + c);
      const p = Math.exp(v - lse);
      want[r * cols + c] = p;
      tol[r * cols + c] = p * (4 * EPS * (1 + Math.abs(v - m)) + cols * EPS) + 1e-12;
    }
  }
  const xBits = snapshotBits(x, n);
  if (!inPlace) fillValue(y, n, NaN);
  softmax_f32_fwd(x, y, rows, cols);
  expectAllFinite(name, y, n);
  expectClose(name, y, want, tol);
  if (!inPlace) expectBits(name + ": x unchanged", x, xBits);
  for (let r = 0; r < rows; r++) {
    let s: f64 = 0;
    for (let c = 0; c < cols; c++) s += <f64>getF32(y, r * cols + c);
    expectScalar(name + " row " + r.toString() + " sums to 1", s, 1, 4 * EPS + 2 * cols * EPS);
  }
  checkGuardsAndFree(name);
}

function checkLogSoftmaxFwd(rows: i32, cols: i32, huge: bool, inPlace: bool): void {
  const name = shapeName("log_softmax_f32_fwd", rows, cols) + (huge ? " (logits +-1000)" : "") + (inPlace ? " (in place)" : "");
  const n = rows * cols;
  const x = allocF32(n);
  const y = inPlace ? x : allocF32(n);
  fillLogits(x, rows, cols, huge);
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  const lses = new StaticArray<f64>(rows);
  for (let r = 0; r < rows; r++) {
    const lse = rowLse(x, r, cols);
    lses[r] = lse;
    for (let c = 0; c < cols; c++) {
      const v = <f64>getF32(x, r * cols + c);
      want[r * cols + c] = v - lse;
      // lse rounded to f32 (ulp of |lse|), the row sum's relative error, and the subtraction
      tol[r * cols + c] = EPS * (Math.abs(lse) + Math.abs(v - lse)) + 2 * cols * EPS + 1e-7;
    }
  }
  if (!inPlace) fillValue(y, n, NaN);
  log_softmax_f32_fwd(x, y, rows, cols);
  expectAllFinite(name, y, n);
  expectClose(name, y, want, tol);
  for (let r = 0; r < rows; r++) {
    let s: f64 = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(<f64>getF32(y, r * cols + c));
    // y = x - lse in f32 carries lse's rounding (half an ulp of |lse|: 3e-5 at 1000) into exp(y)
    const lseUlp = 2 * EPS * Math.abs(lses[r]);
    expectScalar(name + " row " + r.toString() + ": sum(exp(y)) = 1", s, 1, 1e-6 + 2 * cols * EPS + lseUlp);
  }
  checkGuardsAndFree(name);
}

describe("softmax_f32_fwd", () => {
  it("matches exp(x - logsumexp(x)) and rows sum to 1", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(101 + s));
      checkSoftmaxFwd(SHAPES[s], SHAPES[s + 1], false, false);
    }
  });
  it("stays finite and exact with huge logits (+-1000)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(103 + s));
      checkSoftmaxFwd(SHAPES[s], SHAPES[s + 1], true, false);
    }
  });
  it("works in place (y == x)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(107 + s));
      checkSoftmaxFwd(SHAPES[s], SHAPES[s + 1], true, true);
    }
  });
  it("hand-checked rows: [1000, 1000, 1000], [1000, -1000], [-Inf, 0]", () => {
    const x = allocF32(3);
    const y = allocF32(3);
    fillValue(x, 3, 1000);
    softmax_f32_fwd(x, y, 1, 3);
    for (let c = 0; c < 3; c++) expectScalar("softmax [1000 x3]", <f64>getF32(y, c), 1.0 / 3.0, 2e-7);
    setF32(x, 0, 1000); setF32(x, 1, -1000);
    softmax_f32_fwd(x, y, 1, 2);
    expect<f64>(<f64>getF32(y, 0)).toBe(1.0, "softmax [1000, -1000][0]");
    expect<f64>(<f64>getF32(y, 1)).toBe(0.0, "softmax [1000, -1000][1]");
    setF32(x, 0, -Infinity); setF32(x, 1, 0);
    softmax_f32_fwd(x, y, 1, 2);
    expect<f64>(<f64>getF32(y, 0)).toBe(0.0, "softmax [-Inf, 0][0]");
    expect<f64>(<f64>getF32(y, 1)).toBe(1.0, "softmax [-Inf, 0][1]");
    checkGuardsAndFree("softmax hand-checked");
  });
});

describe("log_softmax_f32_fwd", () => {
  it("matches x - logsumexp(x) and exp(y) sums to 1", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(109 + s));
      checkLogSoftmaxFwd(SHAPES[s], SHAPES[s + 1], false, false);
    }
  });
  it("stays finite with huge logits (+-1000)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(113 + s));
      checkLogSoftmaxFwd(SHAPES[s], SHAPES[s + 1], true, false);
    }
  });
  it("works in place (y == x)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(127 + s));
      checkLogSoftmaxFwd(SHAPES[s], SHAPES[s + 1], true, true);
    }
  });
  it("hand-checked: [1000, -1000] -> [0, -2000]", () => {
    const x = allocF32(2);
    const y = allocF32(2);
    setF32(x, 0, 1000); setF32(x, 1, -1000);
    log_softmax_f32_fwd(x, y, 1, 2);
    expect<f64>(<f64>getF32(y, 0)).toBe(0.0, "log_softmax [1000, -1000][0]");
    expect<f64>(<f64>getF32(y, 1)).toBe(-2000.0, "log_softmax [1000, -1000][1]");
    checkGuardsAndFree("log_softmax hand-checked");
  });
});

// ---------------------------------------------------------------------------------------------

function checkSoftmaxBwd(rows: i32, cols: i32, inPlace: bool): void {
  const name = shapeName("softmax_f32_bwd", rows, cols) + (inPlace ? " (dx == dy)" : "");
  const n = rows * cols;
  const x = allocF32(n);
  const y = allocF32(n);
  const dy = allocF32(n);
  const dx = inPlace ? dy : allocF32(n);
  fillLogits(x, rows, cols, false);
  softmax_f32_fwd(x, y, rows, cols); // y: any probability rows will do; the formula uses y as given
  fillUniform(dy, n, -1, 1);
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  for (let r = 0; r < rows; r++) {
    let dot: f64 = 0, mag: f64 = 0;
    for (let c = 0; c < cols; c++) {
      const t = <f64>getF32(dy, r * cols + c) * <f64>getF32(y, r * cols + c);
      dot += t;
      mag += Math.abs(t);
    }
    for (let c = 0; c < cols; c++) {
      const yv = <f64>getF32(y, r * cols + c), g = <f64>getF32(dy, r * cols + c);
      want[r * cols + c] = yv * (g - dot);
      tol[r * cols + c] = yv * (4 * EPS * (Math.abs(g) + Math.abs(dot)) + 2 * cols * EPS * mag) + 1e-12;
    }
  }
  const yBits = snapshotBits(y, n);
  if (!inPlace) fillValue(dx, n, NaN);
  softmax_f32_bwd(y, dy, dx, rows, cols);
  expectClose(name, dx, want, tol);
  expectBits(name + ": y unchanged", y, yBits);
  // the gradient of a softmax is orthogonal to the constant direction: rows of dx sum to ~0
  for (let r = 0; r < rows; r++) {
    let s: f64 = 0, mag: f64 = 0;
    for (let c = 0; c < cols; c++) { s += <f64>getF32(dx, r * cols + c); mag += Math.abs(<f64>getF32(dx, r * cols + c)); }
    expectScalar(name + " row " + r.toString() + " sums to 0", s, 0, 1e-6 * (1 + mag) + 2 * cols * EPS);
  }
  checkGuardsAndFree(name);
}

function checkLogSoftmaxBwd(rows: i32, cols: i32, inPlace: bool): void {
  const name = shapeName("log_softmax_f32_bwd", rows, cols) + (inPlace ? " (dx == dy)" : "");
  const n = rows * cols;
  const x = allocF32(n);
  const y = allocF32(n);
  const dy = allocF32(n);
  const dx = inPlace ? dy : allocF32(n);
  fillLogits(x, rows, cols, false);
  log_softmax_f32_fwd(x, y, rows, cols);
  fillUniform(dy, n, -1, 1);
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  for (let r = 0; r < rows; r++) {
    let sum: f64 = 0, mag: f64 = 0;
    for (let c = 0; c < cols; c++) {
      sum += <f64>getF32(dy, r * cols + c);
      mag += Math.abs(<f64>getF32(dy, r * cols + c));
    }
    for (let c = 0; c < cols; c++) {
      const yv = <f64>getF32(y, r * cols + c), g = <f64>getF32(dy, r * cols + c);
      const p = Math.exp(yv);
      want[r * cols + c] = g - p * sum;
      tol[r * cols + c] = 4 * EPS * (Math.abs(g) + p * Math.abs(sum) * (1 + Math.abs(yv))) + 2 * cols * EPS * p * mag + 1e-12;
    }
  }
  if (!inPlace) fillValue(dx, n, NaN);
  log_softmax_f32_bwd(y, dy, dx, rows, cols);
  expectClose(name, dx, want, tol);
  checkGuardsAndFree(name);
}

describe("softmax_f32_bwd", () => {
  it("dx = y * (dy - sum(dy * y)) (f64 reference)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(131 + s));
      checkSoftmaxBwd(SHAPES[s], SHAPES[s + 1], false);
    }
  });
  it("works in place (dx == dy)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(137 + s));
      checkSoftmaxBwd(SHAPES[s], SHAPES[s + 1], true);
    }
  });
});

describe("log_softmax_f32_bwd", () => {
  it("dx = dy - exp(y) * sum(dy) (f64 reference)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(139 + s));
      checkLogSoftmaxBwd(SHAPES[s], SHAPES[s + 1], false);
    }
  });
  it("works in place (dx == dy)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(149 + s));
      checkLogSoftmaxBwd(SHAPES[s], SHAPES[s + 1], true);
    }
  });
});

// ---------------------------------------------------------------------------------------------

function checkNll(rows: i32, cols: i32, scale: f32, withGrad: bool): void {
  const name = shapeName("nll_f32_fwd_bwd", rows, cols) + " scale=" + (<f64>scale).toString() + (withGrad ? "" : " (no grad)");
  const n = rows * cols;
  const x = allocF32(n);
  const logp = allocF32(n);
  const labels = allocBytes(<usize>rows << 2);
  const dlogp = withGrad ? allocF32(n) : 0;
  fillLogits(x, rows, cols, false);
  log_softmax_f32_fwd(x, logp, rows, cols);
  fillLabels(labels, rows, cols);
  let total: f64 = 0, mag: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const v = <f64>getF32(logp, r * cols + label(labels, r));
    total -= v;
    mag += Math.abs(v);
  }
  const wantLoss = total * <f64>scale;
  const logpBits = snapshotBits(logp, n);
  // with dlogp == 0 nothing may be written: watch the low memory a stray write would hit
  // a stray write through dlogp == 0 would land in [0, n * 4)
  const lowBytes = <usize>n << 2;
  const lowCopy = allocBytes(lowBytes);
  if (withGrad) fillValue(dlogp, n, NaN);
  saveLowMemory(lowCopy, lowBytes);
  const loss = nll_f32_fwd_bwd(logp, labels, dlogp, rows, cols, scale);
  const lowChanged = lowMemoryChanges(lowCopy, lowBytes);
  expectScalar(name + " loss", <f64>loss, wantLoss, 2 * EPS * Math.abs(wantLoss) + 1e-12);
  expectBits(name + ": logp unchanged", logp, logpBits);
  if (withGrad) {
    const want = new StaticArray<f64>(n); // zeros except -scale at each row's label
    for (let r = 0; r < rows; r++) want[r * cols + label(labels, r)] = -<f64>scale;
    const tol = new StaticArray<f64>(n); // exact
    expectClose(name + " dlogp", dlogp, want, tol);
  } else {
    expect<i32>(lowChanged).toBe(0, name + ": words written near address 0");
  }
  checkGuardsAndFree(name);
}

describe("nll_f32_fwd_bwd", () => {
  it("mean reduction (scale = 1/rows): loss and gradient", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(151 + s));
      checkNll(SHAPES[s], SHAPES[s + 1], <f32>1 / <f32>SHAPES[s], true);
    }
  });
  it("sum reduction (scale = 1): loss and gradient", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(157 + s));
      checkNll(SHAPES[s], SHAPES[s + 1], 1, true);
    }
  });
  it("dlogp = 0: loss only, nothing written", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(163 + s));
      checkNll(SHAPES[s], SHAPES[s + 1], <f32>1 / <f32>SHAPES[s], false);
    }
  });
});

// ---------------------------------------------------------------------------------------------

function checkCrossEntropy(rows: i32, cols: i32, scale: f32, huge: bool, withGrad: bool): void {
  const name = shapeName("cross_entropy_f32_fwd_bwd", rows, cols) + " scale=" + (<f64>scale).toString()
    + (huge ? " (logits +-1000)" : "") + (withGrad ? "" : " (no grad)");
  const n = rows * cols;
  const x = allocF32(n);
  const labels = allocBytes(<usize>rows << 2);
  const dx = withGrad ? allocF32(n) : 0;
  fillLogits(x, rows, cols, huge);
  fillLabels(labels, rows, cols);

  // f64 scalar reference
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  let wantLoss: f64 = 0, lossTol: f64 = 1e-9;
  for (let r = 0; r < rows; r++) {
    const lse = rowLse(x, r, cols);
    const l = label(labels, r);
    const xl = <f64>getF32(x, r * cols + l);
    wantLoss += lse - xl;
    lossTol += <f64>scale * (2 * EPS * (Math.abs(lse) + Math.abs(xl) + Math.abs(lse - xl)) + 2 * cols * EPS);
    for (let c = 0; c < cols; c++) {
      const v = <f64>getF32(x, r * cols + c);
      const p = Math.exp(v - lse);
      want[r * cols + c] = (c == l ? p - 1 : p) * <f64>scale;
      // p inherits lse's absolute f32 error as relative error
      tol[r * cols + c] = <f64>scale * (p * (4 * EPS * (1 + Math.abs(lse) + Math.abs(v)) + 2 * cols * EPS) + 2 * EPS) + 1e-12;
    }
  }
  wantLoss *= <f64>scale;

  const xBits = snapshotBits(x, n);
  // a stray write through dlogits == 0 would land in [0, n * 4)
  const lowBytes = <usize>n << 2;
  const lowCopy = allocBytes(lowBytes);
  if (withGrad) fillValue(dx, n, NaN);
  saveLowMemory(lowCopy, lowBytes);
  const loss = cross_entropy_f32_fwd_bwd(x, labels, dx, rows, cols, scale, 0);
  const lowChanged = lowMemoryChanges(lowCopy, lowBytes);
  expect<bool>(isFinite<f32>(loss)).toBe(true, name + ": loss finite");
  expectScalar(name + " loss vs f64 reference", <f64>loss, wantLoss, lossTol);
  expectBits(name + ": logits unchanged", x, xBits);
  if (!withGrad) {
    expect<i32>(lowChanged).toBe(0, name + ": words written near address 0");
    checkGuardsAndFree(name);
    return;
  }
  expectAllFinite(name + " dlogits", dx, n);
  expectClose(name + " dlogits vs f64 reference", dx, want, tol);

  // composition of the unfused kernels: log_softmax -> nll -> log_softmax_bwd
  const logp = allocF32(n);
  const dlogp = allocF32(n);
  const dx2 = allocF32(n);
  log_softmax_f32_fwd(x, logp, rows, cols);
  const loss2 = nll_f32_fwd_bwd(logp, labels, dlogp, rows, cols, scale);
  log_softmax_f32_bwd(logp, dlogp, dx2, rows, cols);
  expectScalar(name + " loss vs log_softmax + nll", <f64>loss, <f64>loss2, 2 * lossTol);
  const got2 = new StaticArray<f64>(n);
  const tol2 = new StaticArray<f64>(n);
  for (let i = 0; i < n; i++) {
    got2[i] = <f64>getF32(dx2, i);
    tol2[i] = 2 * tol[i];
  }
  expectClose(name + " dlogits vs log_softmax_bwd(nll grad)", dx, got2, tol2);
  checkGuardsAndFree(name);
}

describe("cross_entropy_f32_fwd_bwd", () => {
  it("mean reduction (scale = 1/rows) vs f64 reference and log_softmax + nll", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(167 + s));
      checkCrossEntropy(SHAPES[s], SHAPES[s + 1], <f32>1 / <f32>SHAPES[s], false, true);
    }
  });
  it("sum reduction (scale = 1)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(173 + s));
      checkCrossEntropy(SHAPES[s], SHAPES[s + 1], 1, false, true);
    }
  });
  it("huge logits (+-1000) stay finite and accurate", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(179 + s));
      checkCrossEntropy(SHAPES[s], SHAPES[s + 1], <f32>1 / <f32>SHAPES[s], true, true);
    }
  });
  it("dlogits = 0: loss only, nothing written", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(181 + s));
      checkCrossEntropy(SHAPES[s], SHAPES[s + 1], 1, true, false);
    }
  });
  it("hand-checked: logits [1000, -1000], label 1 -> loss 2000, grad [1, -1]", () => {
    const x = allocF32(2);
    const labels = allocBytes(4);
    const dx = allocF32(2);
    setF32(x, 0, 1000); setF32(x, 1, -1000);
    store<i32>(labels, 1);
    const loss = cross_entropy_f32_fwd_bwd(x, labels, dx, 1, 2, 1, 0);
    expect<f64>(<f64>loss).toBe(2000.0, "loss");
    expect<f64>(<f64>getF32(dx, 0)).toBe(1.0, "dlogits[0]");
    expect<f64>(<f64>getF32(dx, 1)).toBe(-1.0, "dlogits[1]");
    store<i32>(labels, 0);
    const loss0 = cross_entropy_f32_fwd_bwd(x, labels, dx, 1, 2, 1, 0);
    expect<f64>(<f64>loss0).toBe(0.0, "loss for the right class");
    expect<f64>(<f64>getF32(dx, 0)).toBe(0.0, "dlogits[0] for the right class");
    checkGuardsAndFree("cross_entropy hand-checked");
  });
});
