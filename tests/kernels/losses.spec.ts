// Dense-target losses (assembly/losses.ts) and cross-entropy label smoothing (assembly/softmax.ts)
// against f64 scalar references of PyTorch 1.13's formulas (aten/src/ATen/native/Loss.cpp,
// LossNLL.cpp): MSE, L1, BCE (log clamped at -100, gradient floor 1e-12) and BCE with logits
// (stable form, optional pos_weight), on every SIMD tail length, for 'mean' (scale = 1/n) and
// 'sum' (scale = 1), with and without a gradient, in place, and at the extremes (probabilities
// exactly 0 and 1, logits +-100). Label smoothing 0 must give the bits of the kernel before the
// option existed (kept below as ce_unsmoothed).
//
// Tolerances follow f32 error analysis: EPS = 2^-23 per rounding, a few roundings per element,
// relative to the magnitudes of the terms involved; the sums themselves run in f64.
import {
  mse_f32_fwd_bwd, l1_f32_fwd_bwd, bce_f32_fwd_bwd, bce_with_logits_f32_fwd_bwd,
} from "../../assembly/losses";
import { cross_entropy_f32_fwd_bwd } from "../../assembly/softmax";
import {
  seed, randInt, allocF32, allocBytes, fillUniform, fillValue, getF32, setF32,
  snapshotBits, expectClose, expectBits, expectScalar, expectAllFinite, checkGuardsAndFree,
  saveLowMemory, lowMemoryChanges, ODD_SIZES,
} from "./util";

const EPS: f64 = 1.1920928955078125e-7;
const TINY: f64 = 1e-37; // absolute floor for values that underflow in f32

const MSE = 0;
const L1 = 1;
const BCE = 2;

function kernelName(kind: i32): string {
  return kind == MSE ? "mse_f32_fwd_bwd" : kind == L1 ? "l1_f32_fwd_bwd" : "bce_f32_fwd_bwd";
}

function callDense(kind: i32, out: usize, target: usize, dout: usize, n: i32, scale: f32): f32 {
  if (kind == MSE) return mse_f32_fwd_bwd(out, target, dout, n, scale);
  if (kind == L1) return l1_f32_fwd_bwd(out, target, dout, n, scale);
  return bce_f32_fwd_bwd(out, target, dout, n, scale);
}

/** Random outputs and targets; BCE gets probabilities with some exact 0 / 1, L1 some ties. */
function fillDense(kind: i32, out: usize, target: usize, n: i32): void {
  if (kind == BCE) {
    fillUniform(out, n, 0, 1);
    fillUniform(target, n, 0, 1);
    for (let i = 0; i < n; i++) {
      const k = randInt(8);
      if (k == 0) setF32(target, i, 0);
      else if (k == 1) setF32(target, i, 1);
      const j = randInt(16);
      if (j == 0) setF32(out, i, 0);
      else if (j == 1) setF32(out, i, 1);
    }
  } else {
    fillUniform(out, n, -3, 3);
    fillUniform(target, n, -3, 3);
    if (kind == L1) for (let i = 0; i < n; i++) if (randInt(5) == 0) setF32(target, i, getF32(out, i));
  }
}

/** log clamped at -100, as binary_cross_entropy does. */
function clampedLog(x: f64): f64 {
  return Math.max(Math.log(x), -100);
}

function refLoss(kind: i32, o: f64, t: f64): f64 {
  if (kind == MSE) return (o - t) * (o - t);
  if (kind == L1) return Math.abs(o - t);
  return (t - 1) * clampedLog(1 - o) - t * clampedLog(o);
}

/** Error allowance of one element's loss term. */
function refLossTol(kind: i32, o: f64, t: f64): f64 {
  if (kind == MSE) return 4 * EPS * (o - t) * (o - t);
  if (kind == L1) return EPS * Math.abs(o - t);
  return 4 * EPS * (Math.abs(t - 1) * (Math.abs(clampedLog(1 - o)) + 1) + Math.abs(t) * (Math.abs(clampedLog(o)) + 1));
}

function refGrad(kind: i32, o: f64, t: f64, scale: f64): f64 {
  if (kind == MSE) return 2 * scale * (o - t);
  if (kind == L1) return o > t ? scale : o < t ? -scale : 0;
  return scale * (o - t) / Math.max((1 - o) * o, <f64><f32>1e-12);
}

function refGradTol(kind: i32, want: f64): f64 {
  if (kind == MSE) return 2 * EPS * Math.abs(want) + TINY;
  if (kind == L1) return 0; // exact: sign(fl(o - t)) == sign(o - t)
  return 4 * EPS * Math.abs(want) + TINY;
}

function checkDense(kind: i32, n: i32, scale: f32, withGrad: bool, inPlace: bool): void {
  const name = kernelName(kind) + " n=" + n.toString() + " scale=" + (<f64>scale).toString()
    + (withGrad ? "" : " (no grad)") + (inPlace ? " (dout == out)" : "");
  const out = allocF32(n);
  const target = allocF32(n);
  const dout = withGrad ? (inPlace ? out : allocF32(n)) : 0;
  fillDense(kind, out, target, n);
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  let wantLoss: f64 = 0, lossTol: f64 = 0;
  for (let i = 0; i < n; i++) {
    const o = <f64>getF32(out, i), t = <f64>getF32(target, i);
    wantLoss += refLoss(kind, o, t);
    lossTol += refLossTol(kind, o, t);
    want[i] = refGrad(kind, o, t, <f64>scale);
    tol[i] = refGradTol(kind, want[i]);
  }
  wantLoss *= <f64>scale;
  lossTol = lossTol * <f64>scale + EPS * Math.abs(wantLoss) + TINY;
  const targetBits = snapshotBits(target, n);
  const outBits = snapshotBits(out, n);
  // a stray write through dout == 0 would land in [0, n * 4)
  const lowBytes = <usize>n << 2;
  const lowCopy = allocBytes(lowBytes);
  if (withGrad && !inPlace) fillValue(dout, n, NaN);
  saveLowMemory(lowCopy, lowBytes);
  const loss = callDense(kind, out, target, dout, n, scale);
  const lowChanged = lowMemoryChanges(lowCopy, lowBytes);
  expect<bool>(isFinite<f32>(loss)).toBe(true, name + ": loss finite");
  expectScalar(name + " loss vs f64 reference", <f64>loss, wantLoss, lossTol);
  expectBits(name + ": target unchanged", target, targetBits);
  if (withGrad) {
    expectAllFinite(name + " dout", dout, n);
    expectClose(name + " dout vs f64 reference", dout, want, tol);
  } else {
    expectBits(name + ": out unchanged", out, outBits);
    expect<i32>(lowChanged).toBe(0, name + ": words written near address 0");
  }
  checkGuardsAndFree(name);
}

function denseSuite(kind: i32, seedBase: u32): void {
  for (let s = 0; s < ODD_SIZES.length; s++) {
    const n = ODD_SIZES[s];
    seed(seedBase + <u32>s);
    checkDense(kind, n, <f32>1 / <f32>n, true, false);   // 'mean'
    checkDense(kind, n, 1, true, false);                 // 'sum'
    checkDense(kind, n, <f32>1 / <f32>n, false, false);  // loss only
    checkDense(kind, n, 1, true, true);                  // gradient written over the outputs
  }
}

describe("mse_f32_fwd_bwd", () => {
  it("loss = scale * sum (o - t)^2, dout = 2 * scale * (o - t): mean, sum, no grad, in place, every tail", () => {
    denseSuite(MSE, 211);
  });
  it("hand-checked: o = [1, 2, 3, 4, 5], t = [0, 2, 5, 4, 4], mean", () => {
    const o = allocF32(5), t = allocF32(5), d = allocF32(5);
    for (let i = 0; i < 5; i++) setF32(o, i, <f32>(i + 1));
    setF32(t, 0, 0); setF32(t, 1, 2); setF32(t, 2, 5); setF32(t, 3, 4); setF32(t, 4, 4);
    const loss = mse_f32_fwd_bwd(o, t, d, 5, 0.2);
    expectScalar("loss (1 + 0 + 4 + 0 + 1) / 5", <f64>loss, 1.2, 1e-6);
    expectScalar("dout[0] = 2 * 1 / 5", <f64>getF32(d, 0), 0.4, 1e-7);
    expectScalar("dout[2] = 2 * -2 / 5", <f64>getF32(d, 2), -0.8, 1e-7);
    expect<f64>(<f64>getF32(d, 1)).toBe(0.0, "dout[1]");
    checkGuardsAndFree("mse hand-checked");
  });
});

describe("l1_f32_fwd_bwd", () => {
  it("loss = scale * sum |o - t|, dout = scale * sign(o - t), sign(0) = 0: mean, sum, no grad, in place, every tail", () => {
    denseSuite(L1, 223);
  });
  it("ties give gradient exactly 0 (PyTorch's sgn), in the SIMD body and the tail", () => {
    const o = allocF32(7), t = allocF32(7), d = allocF32(7);
    fillValue(o, 7, 1.5);
    fillValue(t, 7, 1.5);
    setF32(t, 1, 2); setF32(t, 5, 1);
    const loss = l1_f32_fwd_bwd(o, t, d, 7, 1);
    expectScalar("loss", <f64>loss, 1.0, 0);
    for (let i = 0; i < 7; i++) {
      const w: f64 = i == 1 ? -1 : i == 5 ? 1 : 0;
      expect<f64>(<f64>getF32(d, i)).toBe(w, "dout[" + i.toString() + "]");
    }
    checkGuardsAndFree("l1 ties");
  });
});

describe("bce_f32_fwd_bwd", () => {
  it("PyTorch's binary_cross_entropy (logs clamped at -100, grad floor 1e-12): mean, sum, no grad, in place, every tail", () => {
    denseSuite(BCE, 227);
  });
  it("outputs exactly 0 and 1: clamped, finite, as PyTorch", () => {
    const o = allocF32(6), t = allocF32(6), d = allocF32(6);
    // (o, t): (0, 0) (0, 1) (1, 0) (1, 1) (0, 0.5) (1, 0.25)
    setF32(o, 0, 0); setF32(t, 0, 0);
    setF32(o, 1, 0); setF32(t, 1, 1);
    setF32(o, 2, 1); setF32(t, 2, 0);
    setF32(o, 3, 1); setF32(t, 3, 1);
    setF32(o, 4, 0); setF32(t, 4, 0.5);
    setF32(o, 5, 1); setF32(t, 5, 0.25);
    const loss = bce_f32_fwd_bwd(o, t, d, 6, 1);
    // 0 + 100 + 100 + 0 + 50 + 75
    expectScalar("loss", <f64>loss, 325, 0);
    expectAllFinite("bce extremes dout", d, 6);
    const floor = <f64><f32>1e-12;
    expect<f64>(<f64>getF32(d, 0)).toBe(0.0, "dout (0, 0)");
    expectScalar("dout (0, 1) = -1 / 1e-12", <f64>getF32(d, 1), -1 / floor, 1e6);
    expectScalar("dout (1, 0) = 1 / 1e-12", <f64>getF32(d, 2), 1 / floor, 1e6);
    expect<f64>(<f64>getF32(d, 3)).toBe(0.0, "dout (1, 1)");
    expectScalar("dout (0, 0.5)", <f64>getF32(d, 4), -0.5 / floor, 1e6);
    expectScalar("dout (1, 0.25)", <f64>getF32(d, 5), 0.75 / floor, 1e6);
    checkGuardsAndFree("bce extremes");
  });
});

// ---------------------------------------------------------------------------------------------

// (rows, cols)
const SHAPES: StaticArray<i32> = [
  1, 1,
  7, 1,
  1, 3,
  5, 4,
  4, 5,
  3, 17,
  2, 33,
  64, 1,
  2, 1023,
];

/** -log(sigmoid(x)) in f64 */
function softplusNeg(x: f64): f64 {
  return Math.log1p(Math.exp(-Math.abs(x))) + Math.max(-x, 0);
}

function sigmoid64(x: f64): f64 {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function checkBceLogits(rows: i32, cols: i32, scale: f32, withPw: bool, huge: bool, withGrad: bool): void {
  const name = "bce_with_logits_f32_fwd_bwd rows=" + rows.toString() + " cols=" + cols.toString()
    + " scale=" + (<f64>scale).toString() + (withPw ? " pos_weight" : "") + (huge ? " (logits +-100, +-30)" : "")
    + (withGrad ? "" : " (no grad)");
  const n = rows * cols;
  const x = allocF32(n);
  const t = allocF32(n);
  const pw = withPw ? allocF32(cols) : 0;
  const d = withGrad ? allocF32(n) : 0;
  fillUniform(x, n, -8, 8);
  fillUniform(t, n, 0, 1);
  for (let i = 0; i < n; i++) {
    const k = randInt(4);
    if (k == 0) setF32(t, i, 0);
    else if (k == 1) setF32(t, i, 1);
    if (huge) {
      const j = randInt(6);
      if (j == 0) setF32(x, i, 100);
      else if (j == 1) setF32(x, i, -100);
      else if (j == 2) setF32(x, i, 30);
      else if (j == 3) setF32(x, i, -30);
    }
  }
  if (withPw) {
    fillUniform(pw, cols, 0, 3);
    setF32(pw, 0, 1); // one column with weight exactly 1, one with 0 when there are several
    if (cols > 1) setF32(pw, cols - 1, 0);
  }
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  let wantLoss: f64 = 0, lossTol: f64 = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      const xv = <f64>getF32(x, i), tv = <f64>getF32(t, i);
      const w: f64 = withPw ? <f64>getF32(pw, c) : 1;
      const sp = softplusNeg(xv);
      const lw = 1 + (w - 1) * tv;
      const term = (1 - tv) * xv + lw * sp;
      wantLoss += term;
      lossTol += 4 * EPS * (Math.abs((1 - tv) * xv) + (Math.abs(lw) + 1) * sp + Math.abs(term));
      const s = sigmoid64(xv);
      const g = withPw ? (w * tv + 1 - tv) * s - w * tv : s - tv;
      want[i] = g * <f64>scale;
      tol[i] = <f64>scale * 4 * EPS * ((Math.abs(w * tv) + 1 + tv) * s + Math.abs(w * tv) + tv + Math.abs(g)) + 1e-40;
    }
  }
  wantLoss *= <f64>scale;
  lossTol = lossTol * <f64>scale + EPS * Math.abs(wantLoss) + TINY;
  const xBits = snapshotBits(x, n);
  const lowBytes = <usize>n << 2;
  const lowCopy = allocBytes(lowBytes);
  if (withGrad) fillValue(d, n, NaN);
  saveLowMemory(lowCopy, lowBytes);
  const loss = bce_with_logits_f32_fwd_bwd(x, t, pw, d, n, cols, scale);
  const lowChanged = lowMemoryChanges(lowCopy, lowBytes);
  expect<bool>(isFinite<f32>(loss)).toBe(true, name + ": loss finite");
  expectScalar(name + " loss vs f64 reference", <f64>loss, wantLoss, lossTol);
  expectBits(name + ": logits unchanged", x, xBits);
  if (withGrad) {
    expectAllFinite(name + " dout", d, n);
    expectClose(name + " dout vs f64 reference", d, want, tol);
  } else {
    expect<i32>(lowChanged).toBe(0, name + ": words written near address 0");
  }
  checkGuardsAndFree(name);
}

describe("bce_with_logits_f32_fwd_bwd", () => {
  it("stable form vs f64 reference: mean and sum, no pos_weight", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(229 + s));
      checkBceLogits(SHAPES[s], SHAPES[s + 1], <f32>1 / <f32>(SHAPES[s] * SHAPES[s + 1]), false, false, true);
      checkBceLogits(SHAPES[s], SHAPES[s + 1], 1, false, false, true);
    }
  });
  it("with a per-column pos_weight (weights 0, 1 and in between)", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(233 + s));
      checkBceLogits(SHAPES[s], SHAPES[s + 1], <f32>1 / <f32>(SHAPES[s] * SHAPES[s + 1]), true, false, true);
      checkBceLogits(SHAPES[s], SHAPES[s + 1], 1, true, false, true);
    }
  });
  it("logits +-100 and +-30 stay finite and accurate, with and without pos_weight", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(239 + s));
      checkBceLogits(SHAPES[s], SHAPES[s + 1], 1, false, true, true);
      checkBceLogits(SHAPES[s], SHAPES[s + 1], 1, true, true, true);
    }
  });
  it("dout = 0: loss only, nothing written", () => {
    for (let s = 0; s < SHAPES.length; s += 2) {
      seed(<u32>(241 + s));
      checkBceLogits(SHAPES[s], SHAPES[s + 1], 1, true, true, false);
      checkBceLogits(SHAPES[s], SHAPES[s + 1], 1, false, false, false);
    }
  });
  it("hand-checked: x = [100, -100, 100, -100], t = [0, 1, 1, 0]; pos_weight 3", () => {
    const x = allocF32(4), t = allocF32(4), d = allocF32(4), pw = allocF32(1);
    setF32(x, 0, 100); setF32(x, 1, -100); setF32(x, 2, 100); setF32(x, 3, -100);
    setF32(t, 0, 0); setF32(t, 1, 1); setF32(t, 2, 1); setF32(t, 3, 0);
    const loss = bce_with_logits_f32_fwd_bwd(x, t, 0, d, 4, 1, 1);
    expectScalar("loss 100 + 100 + ~0 + ~0", <f64>loss, 200, 0);
    expect<f64>(<f64>getF32(d, 0)).toBe(1.0, "dout[0] = sigmoid(100) - 0");
    expect<f64>(<f64>getF32(d, 1)).toBe(-1.0, "dout[1] = sigmoid(-100) - 1");
    expect<f64>(<f64>getF32(d, 2)).toBe(0.0, "dout[2] = sigmoid(100) - 1");
    expectScalar("dout[3] = sigmoid(-100)", <f64>getF32(d, 3), 0, 1e-40);
    setF32(pw, 0, 3);
    const lossPw = bce_with_logits_f32_fwd_bwd(x, t, pw, d, 4, 1, 0.25);
    // the positive terms (t = 1) weigh 3: (100 + 3 * 100 + ~0 + ~0) / 4
    expectScalar("loss with pos_weight 3, mean", <f64>lossPw, 100, 0);
    expect<f64>(<f64>getF32(d, 0)).toBe(0.25, "dout[0] = (1 * sigmoid(100) - 0) / 4");
    expect<f64>(<f64>getF32(d, 1)).toBe(-0.75, "dout[1] = (3 * sigmoid(-100) - 3) / 4");
    checkGuardsAndFree("bce_with_logits hand-checked");
  });
});

// ---------------------------------------------------------------------------------------------
// Cross-entropy label smoothing

/** cross_entropy_f32_fwd_bwd as it was before label smoothing (commit a486f91), the eps = 0 oracle. */
function ce_unsmoothed(logits: usize, labels: usize, dlogits: usize, rows: i32, cols: i32, scale: f32): f32 {
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const xr = logits + (<usize>r * <usize>cols << 2);
    const label = load<i32>(labels + (<usize>r << 2));
    let m: f32 = load<f32>(xr);
    for (let c = 1; c < cols; c++) m = max(m, load<f32>(xr + (<usize>c << 2)));
    let sum: f32 = 0;
    for (let c = 0; c < cols; c++) sum += Mathf.exp(load<f32>(xr + (<usize>c << 2)) - m);
    const lse = m + Mathf.log(sum);
    total += <f64>(lse - load<f32>(xr + (<usize>label << 2)));
    if (dlogits) {
      const dr = dlogits + (<usize>r * <usize>cols << 2);
      for (let c = 0; c < cols; c++) {
        const p = Mathf.exp(load<f32>(xr + (<usize>c << 2)) - lse);
        store<f32>(dr + (<usize>c << 2), (c == label ? p - 1 : p) * scale);
      }
    }
  }
  return <f32>(total * <f64>scale);
}

const CE_SHAPES: StaticArray<i32> = [
  1, 1,
  1, 3,
  5, 4,
  7, 10,
  3, 17,
  2, 33,
  64, 10,
  2, 1023,
];

function fillCe(x: usize, labels: usize, rows: i32, cols: i32, huge: bool): void {
  fillUniform(x, rows * cols, -6, 6);
  if (huge) {
    for (let i = 0; i < rows * cols; i++) {
      const k = randInt(4);
      if (k == 0) setF32(x, i, 1000 - <f32>randInt(3));
      else if (k == 1) setF32(x, i, -1000 + <f32>randInt(3));
    }
  }
  for (let r = 0; r < rows; r++) store<i32>(labels + (<usize>r << 2), r == 0 ? 0 : r == rows - 1 ? cols - 1 : randInt(cols));
}

function checkSmoothing(rows: i32, cols: i32, scale: f32, eps: f32, huge: bool): void {
  const name = "cross_entropy_f32_fwd_bwd rows=" + rows.toString() + " cols=" + cols.toString() + " scale=" + (<f64>scale).toString()
    + " label_smoothing=" + (<f64>eps).toString() + (huge ? " (logits +-1000)" : "");
  const n = rows * cols;
  const x = allocF32(n);
  const labels = allocBytes(<usize>rows << 2);
  const d = allocF32(n);
  fillCe(x, labels, rows, cols, huge);
  const e = <f64>eps;
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  const lses = new StaticArray<f64>(rows);
  let wantLoss: f64 = 0, lossTol: f64 = 1e-9;
  for (let r = 0; r < rows; r++) {
    let m: f64 = -Infinity;
    for (let c = 0; c < cols; c++) m = Math.max(m, <f64>getF32(x, r * cols + c));
    let s: f64 = 0;
    for (let c = 0; c < cols; c++) s += Math.exp(<f64>getF32(x, r * cols + c) - m);
    const lse = m + Math.log(s);
    lses[r] = lse;
    const l = load<i32>(labels + (<usize>r << 2));
    const xl = <f64>getF32(x, r * cols + l);
    let smooth: f64 = 0, smoothTol: f64 = 0;
    for (let c = 0; c < cols; c++) {
      const v = <f64>getF32(x, r * cols + c);
      smooth += lse - v;
      smoothTol += 2 * EPS * (Math.abs(lse) + Math.abs(v) + Math.abs(lse - v)) + 2 * cols * EPS;
    }
    wantLoss += (1 - e) * (lse - xl) + e / <f64>cols * smooth;
    lossTol += <f64>scale * ((1 - e) * (2 * EPS * (Math.abs(lse) + Math.abs(xl) + Math.abs(lse - xl)) + 2 * cols * EPS)
      + e / <f64>cols * smoothTol);
    for (let c = 0; c < cols; c++) {
      const v = <f64>getF32(x, r * cols + c);
      const p = Math.exp(v - lse);
      want[r * cols + c] = (p - (c == l ? 1 - e : 0) - e / <f64>cols) * <f64>scale;
      tol[r * cols + c] = <f64>scale * (p * (4 * EPS * (1 + Math.abs(lse) + Math.abs(v)) + 2 * cols * EPS) + 4 * EPS) + 1e-12;
    }
  }
  wantLoss *= <f64>scale;
  fillValue(d, n, NaN);
  const loss = cross_entropy_f32_fwd_bwd(x, labels, d, rows, cols, scale, eps);
  expect<bool>(isFinite<f32>(loss)).toBe(true, name + ": loss finite");
  expectScalar(name + " loss vs f64 reference", <f64>loss, wantLoss, lossTol + EPS * Math.abs(wantLoss));
  expectAllFinite(name + " dlogits", d, n);
  expectClose(name + " dlogits vs f64 reference", d, want, tol);
  // the smoothed gradient still sums to 0 over each row (softmax and the target both sum to 1);
  // exp(x - lse) carries lse's f32 rounding (an ulp of |lse|: 6e-5 at 1000) as relative error
  for (let r = 0; r < rows; r++) {
    let s: f64 = 0;
    for (let c = 0; c < cols; c++) s += <f64>getF32(d, r * cols + c);
    expectScalar(name + " row " + r.toString() + " of dlogits sums to 0", s, 0,
      <f64>scale * (4 * cols * EPS + 2 * EPS * Math.abs(lses[r]) + 1e-6));
  }
  checkGuardsAndFree(name);
}

describe("cross_entropy_f32_fwd_bwd label smoothing", () => {
  it("(1 - eps) * nll + eps / C * sum(-logp), grad softmax - ((1 - eps) onehot + eps / C): eps 0.1, 0.5, 1; mean and sum", () => {
    for (let s = 0; s < CE_SHAPES.length; s += 2) {
      const rows = CE_SHAPES[s], cols = CE_SHAPES[s + 1];
      seed(<u32>(251 + s));
      checkSmoothing(rows, cols, <f32>1 / <f32>rows, 0.1, false);
      checkSmoothing(rows, cols, 1, 0.5, false);
      checkSmoothing(rows, cols, <f32>1 / <f32>rows, 1, false);
    }
  });
  it("huge logits (+-1000) stay finite and accurate", () => {
    for (let s = 0; s < CE_SHAPES.length; s += 2) {
      seed(<u32>(257 + s));
      checkSmoothing(CE_SHAPES[s], CE_SHAPES[s + 1], <f32>1 / <f32>CE_SHAPES[s], 0.1, true);
    }
  });
  it("label_smoothing = 0 gives the bits of the kernel before the option (loss and gradient)", () => {
    for (let s = 0; s < CE_SHAPES.length; s += 2) {
      const rows = CE_SHAPES[s], cols = CE_SHAPES[s + 1];
      for (let huge = 0; huge < 2; huge++) {
        seed(<u32>(263 + s + huge));
        const name = "label_smoothing 0 rows=" + rows.toString() + " cols=" + cols.toString() + (huge ? " (logits +-1000)" : "");
        const n = rows * cols;
        const x = allocF32(n);
        const labels = allocBytes(<usize>rows << 2);
        const d = allocF32(n);
        const dOld = allocF32(n);
        fillCe(x, labels, rows, cols, huge != 0);
        const scale: f32 = <f32>1 / <f32>rows;
        const lossOld = ce_unsmoothed(x, labels, dOld, rows, cols, scale);
        const loss = cross_entropy_f32_fwd_bwd(x, labels, d, rows, cols, scale, 0);
        expect<u32>(reinterpret<u32>(loss)).toBe(reinterpret<u32>(lossOld), name + ": loss bits");
        expectBits(name + ": dlogits bits", d, snapshotBits(dOld, n));
        checkGuardsAndFree(name);
      }
    }
  });
  it("hand-checked: logits [0, 0], label 0, eps 0.2 -> loss log 2, grad [0.5 - 0.9, 0.5 - 0.1]", () => {
    const x = allocF32(2), labels = allocBytes(4), d = allocF32(2);
    fillValue(x, 2, 0);
    store<i32>(labels, 0);
    const loss = cross_entropy_f32_fwd_bwd(x, labels, d, 1, 2, 1, 0.2);
    expectScalar("loss", <f64>loss, Math.log(2), 1e-7);
    expectScalar("dlogits[0]", <f64>getF32(d, 0), -0.4, 1e-7);
    expectScalar("dlogits[1]", <f64>getF32(d, 1), 0.4, 1e-7);
    checkGuardsAndFree("label smoothing hand-checked");
  });
});
