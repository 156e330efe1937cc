// Pointwise activations and dropout against plain f64 scalar references: sigmoid, tanh, leaky
// ReLU, GELU (exact and tanh) forward and backward on odd sizes, in place, and at extremes
// (+-1e4, +-1e10, +-Inf, NaN, +-0, denormals); erff / erfcf against known values and an f64
// series / continued-fraction erf; dropout's mask statistics, scaling, seeding and backward.
//
// Tolerances follow f32 error analysis: EPS = 2^-23 per rounding, times the condition number of
// the function where the kernel rounds its argument first (GELU's x / sqrt 2 and its tanh inner
// polynomial u: relative errors there grow with x^2 and |u| for negative x, in PyTorch's f32 too).
import {
  sigmoid_f32_fwd, sigmoid_f32_bwd, tanh_f32_fwd, tanh_f32_bwd, leaky_relu_f32_fwd, leaky_relu_f32_bwd,
  gelu_f32_fwd, gelu_f32_bwd, dropout_f32_fwd, dropout_f32_bwd, erff, erfcf,
} from "../../assembly/activations";
import {
  seed, uniform, randInt, allocF32, fillUniform, fillValue, getF32, setF32,
  snapshotBits, expectBits, expectScalar, checkGuardsAndFree,
} from "./util";

const EPS: f64 = 1.1920928955078125e-7;
const TINY: f64 = 1e-42; // absolute slack for results in the f32 denormal range
const SIZES: StaticArray<i32> = [1, 2, 3, 4, 5, 7, 17, 33, 1023];
const SQRT1_2: f64 = 0.7071067811865476;
const SQRT_2_PI: f64 = 0.7978845608028654; // sqrt(2 / pi)
const KAPPA: f64 = 0.044715;

// kernels under test
const SIGMOID = 0, TANH = 1, LEAKY = 2, GELU = 3, GELU_TANH = 4;
const NAMES: StaticArray<string> = ["sigmoid", "tanh", "leaky_relu", "gelu(none)", "gelu(tanh)"];
/** Half-width of the random inputs per kernel: wide enough to reach each function's flat tails. */
const RANGE: StaticArray<f32> = [30, 12, 6, 9, 9];
const SLOPE: f32 = 0.2;

// ---------------------------------------------------------------------------------------------
// f64 references

/** erf(x) = 2/sqrt(pi) e^(-x^2) sum_n 2^n x^(2n+1) / (1 3 5 ... (2n+1)) (Abramowitz & Stegun 7.1.6): positive terms, for |x| < 3. */
function erfSeries(x: f64): f64 {
  const x2 = 2 * x * x;
  let term = x, sum = x;
  for (let n = 1; n < 400; n++) {
    term *= x2 / <f64>(2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-18 * Math.abs(sum)) break;
  }
  return 2 / Math.sqrt(Math.PI) * Math.exp(-x * x) * sum;
}

/** erfc(x) for x >= 3 by its continued fraction (A&S 7.1.14): e^(-x^2)/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...)))). */
function erfcFraction(x: f64): f64 {
  if (x == Infinity) return 0;
  let t = x;
  for (let k = 300; k >= 1; k--) t = x + (<f64>k * 0.5) / t;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / t;
}

function erf64(x: f64): f64 {
  if (isNaN(x)) return x;
  if (Math.abs(x) < 3) return erfSeries(x);
  const r = 1 - erfcFraction(Math.abs(x));
  return x < 0 ? -r : r;
}

function erfc64(x: f64): f64 {
  if (isNaN(x)) return x;
  if (x >= 3) return erfcFraction(x);
  if (x <= -3) return 2 - erfcFraction(-x);
  return 1 - erfSeries(x);
}

/** Standard normal CDF: 0.5 (1 + erf(x / sqrt 2)), written through erfc to keep digits for x < 0. */
function phi64(x: f64): f64 {
  return 0.5 * erfc64(-x * SQRT1_2);
}

function logistic64(t: f64): f64 {
  return 1 / (1 + Math.exp(-t));
}

function geluInner64(x: f64): f64 {
  return SQRT_2_PI * (x + KAPPA * x * x * x);
}

/** Forward reference and its tolerance for input x. */
function refFwd(kind: i32, x: f64): f64 {
  if (kind == SIGMOID) return logistic64(x);
  if (kind == TANH) return Math.tanh(x);
  if (kind == LEAKY) return x > 0 ? x : x * <f64>SLOPE;
  if (kind == GELU) return x * phi64(x);
  // 0.5 x (1 + tanh u) = x / (1 + e^(-2u)), an identity that keeps the f64 reference exact for x < 0
  return x / (1 + Math.exp(-2 * geluInner64(x)));
}

function tolFwd(kind: i32, x: f64, want: f64): f64 {
  const a = Math.abs(want);
  if (kind == SIGMOID || kind == TANH) return 4 * EPS * a + TINY;
  if (kind == LEAKY) return EPS * a + 2e-45; // one f32 rounding
  if (kind == GELU) return (8 + x * x) * EPS * a + TINY;
  const u = geluInner64(x);
  return (8 + 12 * Math.abs(u) * (1 - logistic64(2 * u))) * EPS * a + TINY;
}

/** Backward reference: v is the forward output y (sigmoid, tanh) or the input x (leaky, gelu). */
function refBwd(kind: i32, v: f64, dy: f64): f64 {
  if (kind == SIGMOID) return dy * (1 - v) * v;
  if (kind == TANH) return dy * (1 - v * v);
  if (kind == LEAKY) return v > 0 ? dy : dy * <f64>SLOPE;
  if (kind == GELU) return dy * (phi64(v) + v * Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI));
  const u = geluInner64(v);
  const c = Math.cosh(u);
  const right = 0.5 * v * (1 / (c * c)) * SQRT_2_PI * (1 + 3 * KAPPA * v * v);
  return dy * (logistic64(2 * u) + right);
}

function tolBwd(kind: i32, v: f64, dy: f64, want: f64): f64 {
  const g = Math.abs(dy);
  if (kind == SIGMOID) return 3 * EPS * Math.abs(want) + TINY;
  if (kind == TANH) return 2 * EPS * g * (v * v + Math.abs(1 - v * v)) + TINY;
  if (kind == LEAKY) return EPS * Math.abs(want) + 2e-45;
  if (kind == GELU) {
    const terms = Math.abs(phi64(v)) + Math.abs(v * Math.exp(-0.5 * v * v) / Math.sqrt(2 * Math.PI));
    return (8 + v * v) * EPS * terms * g + TINY;
  }
  const u = geluInner64(v);
  const c = Math.cosh(u);
  const right = Math.abs(0.5 * v * (1 / (c * c)) * SQRT_2_PI * (1 + 3 * KAPPA * v * v));
  return (16 + 12 * Math.abs(u)) * EPS * (logistic64(2 * u) + right) * g + TINY;
}

// ---------------------------------------------------------------------------------------------
// running the kernels by kind

function runFwd(kind: i32, x: usize, y: usize, n: i32): void {
  if (kind == SIGMOID) sigmoid_f32_fwd(x, y, n);
  else if (kind == TANH) tanh_f32_fwd(x, y, n);
  else if (kind == LEAKY) leaky_relu_f32_fwd(x, y, n, SLOPE);
  else if (kind == GELU) gelu_f32_fwd(x, y, n, 0);
  else gelu_f32_fwd(x, y, n, 1);
}

/** v: the forward output (sigmoid, tanh) or input (leaky, gelu). */
function runBwd(kind: i32, v: usize, dy: usize, dx: usize, n: i32): void {
  if (kind == SIGMOID) sigmoid_f32_bwd(v, dy, dx, n);
  else if (kind == TANH) tanh_f32_bwd(v, dy, dx, n);
  else if (kind == LEAKY) leaky_relu_f32_bwd(v, dy, dx, n, SLOPE);
  else if (kind == GELU) gelu_f32_bwd(v, dy, dx, n, 0);
  else gelu_f32_bwd(v, dy, dx, n, 1);
}

/** Backward takes the forward output for sigmoid and tanh, the input for the others. */
function takesOutput(kind: i32): bool {
  return kind == SIGMOID || kind == TANH;
}

// ---------------------------------------------------------------------------------------------
// checks

/** |got - want| <= tol elementwise; a NaN want needs a NaN, an infinite want the same infinity. */
function expectNear(what: string, got: usize, want: StaticArray<f64>, tol: StaticArray<f64>): void {
  const n = want.length;
  let bad = 0, first = -1;
  for (let i = 0; i < n; i++) {
    const g = <f64>getF32(got, i), w = want[i];
    let ok: bool;
    if (isNaN(w)) ok = isNaN(g);
    else if (!isFinite(w)) ok = g == w;
    else ok = Math.abs(g - w) <= tol[i];
    if (!ok) {
      if (bad == 0) first = i;
      bad++;
    }
  }
  let msg = "";
  if (bad != 0) {
    msg = what + ": " + bad.toString() + " of " + n.toString() + " elements out of tolerance; first at ["
      + first.toString() + "]: got " + (<f64>getF32(got, first)).toString() + ", want "
      + want[first].toString() + ", tol " + tol[first].toString();
  }
  expect<i32>(bad).toBe(0, msg);
}

function name(kind: i32, what: string, n: i32): string {
  return NAMES[kind] + " " + what + " n=" + n.toString();
}

/** Random inputs in [-r, r] with exact zeros, -0 and tiny magnitudes mixed in. */
function fillInput(x: usize, n: i32, r: f32): void {
  for (let i = 0; i < n; i++) {
    const k = randInt(16);
    let v: f32;
    if (k == 0) v = 0.0;
    else if (k == 1) v = -0.0;
    else if (k == 2) v = uniform(-1, 1) * 1e-30;
    else v = uniform(-r, r);
    setF32(x, i, v);
  }
}

const EXTREMES: StaticArray<f32> = [
  0.0, -0.0, 1e-30, -1e-30, 1e-40, -1e-40, 0.5, -0.5, 10, -10, 20, -20, 88, -88, 100, -100,
  1e4, -1e4, 1e10, -1e10, Infinity, -Infinity, NaN,
];

function checkForward(kind: i32, x: usize, n: i32, what: string): void {
  const y = allocF32(n);
  fillValue(y, n, NaN);
  const xBits = snapshotBits(x, n);
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  for (let i = 0; i < n; i++) {
    const v = <f64>getF32(x, i);
    want[i] = refFwd(kind, v);
    tol[i] = tolFwd(kind, v, want[i]);
  }
  runFwd(kind, x, y, n);
  expectNear(what, y, want, tol);
  expectBits(what + ": x unchanged", x, xBits);
  // in place (y == x) gives the same bits
  const z = allocF32(n);
  memory.copy(z, x, <usize>n << 2);
  runFwd(kind, z, z, n);
  expectBits(what + ": in place", z, snapshotBits(y, n));
}

function checkBackward(kind: i32, x: usize, n: i32, what: string): void {
  const v = allocF32(n); // what backward reads: y or x
  if (takesOutput(kind)) runFwd(kind, x, v, n);
  else memory.copy(v, x, <usize>n << 2);
  const dy = allocF32(n);
  const dx = allocF32(n);
  fillUniform(dy, n, -2, 2);
  fillValue(dx, n, NaN);
  const want = new StaticArray<f64>(n);
  const tol = new StaticArray<f64>(n);
  for (let i = 0; i < n; i++) {
    const vi = <f64>getF32(v, i), g = <f64>getF32(dy, i);
    want[i] = refBwd(kind, vi, g);
    tol[i] = tolBwd(kind, vi, g, want[i]);
  }
  const vBits = snapshotBits(v, n), dyBits = snapshotBits(dy, n);
  runBwd(kind, v, dy, dx, n);
  expectNear(what, dx, want, tol);
  expectBits(what + ": input unchanged", v, vBits);
  expectBits(what + ": dy unchanged", dy, dyBits);
  // in place (dx == dy) gives the same bits
  runBwd(kind, v, dy, dy, n);
  expectBits(what + ": in place", dy, snapshotBits(dx, n));
}

// ---------------------------------------------------------------------------------------------

describe("f64 references of this spec", () => {
  it("erf64 / erfc64 match published values to 1e-15 and join continuously at 3", () => {
    expectScalar("erf64(0.5)", erf64(0.5), 0.5204998778130465, 1e-15);
    expectScalar("erf64(1)", erf64(1), 0.8427007929497149, 1e-15);
    expectScalar("erf64(-2)", erf64(-2), -0.9953222650189527, 1e-15);
    expectScalar("erf64(3.5)", erf64(3.5), 0.9999992569016276, 1e-15);
    expectScalar("erfc64(3.5)", erfc64(3.5), 7.430983723414128e-07, 1e-21);
    expectScalar("erfc64(5)", erfc64(5), 1.5374597944280349e-12, 1e-26);
    expectScalar("erfc64(-1)", erfc64(-1), 1.8427007929497148, 1e-15);
    expectScalar("series vs fraction at 3", erfSeries(3), 1 - erfcFraction(3), 1e-15);
  });
});

describe("erff and erfcf (musl)", () => {
  it("match known values", () => {
    const xs: StaticArray<f64> = [0.5, 1, -2, 3.5, 0.1, -0.84375, 1.25, 2.857142857142857, 5.9, 6, -7];
    const es: StaticArray<f64> = [
      0.5204998778130465, 0.8427007929497149, -0.9953222650189527, 0.9999992569016276,
      0.1124629160182849, -0.7672256612323416, 0.9229001282564582, 0.9999466876886117,
      0.9999999999999999, 1.0, -1.0,
    ];
    for (let i = 0; i < xs.length; i++) {
      const x = <f32>xs[i];
      expectScalar("erf64 vs table at " + xs[i].toString(), erf64(xs[i]), es[i], 4e-16);
      const want = erf64(<f64>x); // erff sees the f32 argument
      expectScalar("erff(" + xs[i].toString() + ")", <f64>erff(x), want, 2 * EPS * Math.abs(want));
    }
    expectScalar("erfcf(3.5)", <f64>erfcf(3.5), 7.430983723414128e-07, 3 * EPS * 7.430983723414128e-07);
    expectScalar("erfcf(5)", <f64>erfcf(5), 1.5374597944280349e-12, 3 * EPS * 1.5374597944280349e-12);
    expectScalar("erfcf(9)", <f64>erfcf(9), 4.1370317465138102e-37, 3 * EPS * 4.1370317465138102e-37);
    expectScalar("erfcf(-1)", <f64>erfcf(-1), 1.8427007929497148, 2 * EPS * 1.8427007929497148);
    expectScalar("erfcf(0.5)", <f64>erfcf(0.5), 0.4795001221869535, 2 * EPS * 0.4795001221869535);
  });

  it("tiny arguments: erf(x) = 2x/sqrt(pi) to f32 precision; signed zeros kept", () => {
    const xs: StaticArray<f32> = [1e-10, -1e-10, 1e-20, 1e-38, 1e-45, 3e-9];
    for (let i = 0; i < xs.length; i++) {
      const want = 2 / Math.sqrt(Math.PI) * <f64>xs[i];
      expectScalar("erff(" + xs[i].toString() + ")", <f64>erff(xs[i]), want, EPS * Math.abs(want) + 2e-45);
      expectScalar("erfcf(" + xs[i].toString() + ")", <f64>erfcf(xs[i]), 1, EPS);
    }
    expect<u32>(reinterpret<u32>(erff(0.0))).toBe(0, "erff(+0) = +0");
    expect<u32>(reinterpret<u32>(erff(-0.0))).toBe(0x80000000, "erff(-0) = -0");
  });

  it("non-finite arguments", () => {
    expect<f32>(erff(Infinity)).toBe(1);
    expect<f32>(erff(-Infinity)).toBe(-1);
    expect<bool>(isNaN(erff(NaN))).toBe(true);
    expect<f32>(erfcf(Infinity)).toBe(0);
    expect<f32>(erfcf(-Infinity)).toBe(2);
    expect<bool>(isNaN(erfcf(NaN))).toBe(true);
    expect<f32>(erff(30)).toBe(1);
    expect<f32>(erfcf(30)).toBe(0);
    expect<f32>(erfcf(-30)).toBe(2);
  });

  it("within 1 ulp (erff) and 2 ulp (erfcf) of the f64 reference on a sweep of [-12, 12]", () => {
    let worstErf: f64 = 0, worstErfc: f64 = 0, atErf: f64 = 0, atErfc: f64 = 0;
    for (let k = -12000; k <= 12000; k += 7) {
      const x = <f32>(<f64>k * 1e-3 + 1e-4);
      const e = erf64(<f64>x), c = erfc64(<f64>x);
      // error in units of the f32 spacing at the reference value (2^-149 for denormals)
      const ue = Math.abs(<f64>erff(x) - e) / Math.max(Math.abs(e) * EPS, 1.401298464324817e-45);
      const uc = Math.abs(<f64>erfcf(x) - c) / Math.max(Math.abs(c) * EPS, 1.401298464324817e-45);
      if (ue > worstErf) { worstErf = ue; atErf = <f64>x; }
      if (uc > worstErfc) { worstErfc = uc; atErfc = <f64>x; }
    }
    expect<bool>(worstErf <= 1).toBe(true, "erff worst " + worstErf.toString() + " ulp at " + atErf.toString());
    expect<bool>(worstErfc <= 2).toBe(true, "erfcf worst " + worstErfc.toString() + " ulp at " + atErfc.toString());
  });
});

describe("activation forward kernels", () => {
  it("match the f64 reference on odd sizes, in place too", () => {
    for (let kind = 0; kind < 5; kind++) {
      for (let s = 0; s < SIZES.length; s++) {
        const n = SIZES[s];
        seed(<u32>(1000 * kind + n + 1));
        const x = allocF32(n);
        fillInput(x, n, RANGE[kind]);
        const what = name(kind, "fwd", n);
        checkForward(kind, x, n, what);
        checkGuardsAndFree(what);
      }
    }
  });

  it("extremes: +-1e4, +-1e10, +-Inf, NaN, +-0, denormals (NaN propagates as in PyTorch)", () => {
    const n = EXTREMES.length;
    for (let kind = 0; kind < 5; kind++) {
      const x = allocF32(n);
      for (let i = 0; i < n; i++) setF32(x, i, EXTREMES[i]);
      const what = name(kind, "fwd extremes", n);
      checkForward(kind, x, n, what);
      checkGuardsAndFree(what);
    }
  });

  it("known values at the extremes, stated explicitly", () => {
    const x = allocF32(6), y = allocF32(6);
    const xs: StaticArray<f32> = [-1e4, 1e4, -Infinity, Infinity, NaN, -0.0];
    for (let i = 0; i < 6; i++) setF32(x, i, xs[i]);
    sigmoid_f32_fwd(x, y, 6);
    expect<f32>(getF32(y, 0)).toBe(0);
    expect<f32>(getF32(y, 1)).toBe(1);
    expect<f32>(getF32(y, 2)).toBe(0);
    expect<f32>(getF32(y, 3)).toBe(1);
    expect<bool>(isNaN(getF32(y, 4))).toBe(true);
    expect<f32>(getF32(y, 5)).toBe(0.5);
    tanh_f32_fwd(x, y, 6);
    expect<f32>(getF32(y, 0)).toBe(-1);
    expect<f32>(getF32(y, 3)).toBe(1);
    expect<bool>(isNaN(getF32(y, 4))).toBe(true);
    leaky_relu_f32_fwd(x, y, 6, 0.01);
    expect<f32>(getF32(y, 0)).toBe(<f32>-1e4 * <f32>0.01);
    expect<f32>(getF32(y, 2)).toBe(-Infinity);
    expect<bool>(isNaN(getF32(y, 4))).toBe(true);
    for (let a = 0; a < 2; a++) {
      gelu_f32_fwd(x, y, 6, a);
      expect<f32>(getF32(y, 0)).toBe(0, "gelu(-1e4) = -0");
      expect<f32>(getF32(y, 1)).toBe(1e4, "gelu(1e4) = 1e4");
      expect<bool>(isNaN(getF32(y, 2))).toBe(true, "gelu(-inf) = -inf * 0 = NaN, as PyTorch");
      expect<f32>(getF32(y, 3)).toBe(Infinity, "gelu(inf) = inf");
      expect<bool>(isNaN(getF32(y, 4))).toBe(true, "gelu(NaN) = NaN");
    }
    checkGuardsAndFree("known extremes");
  });

  it("leaky_relu: x == 0 and negative slopes follow x > 0 ? x : x * slope", () => {
    const x = allocF32(9), y = allocF32(9);
    const xs: StaticArray<f32> = [0.0, -0.0, 1, -1, 2, -2, 3, -3, 4];
    for (let i = 0; i < 9; i++) setF32(x, i, xs[i]);
    const slopes: StaticArray<f32> = [0.01, -0.5, 1.5, 0];
    for (let k = 0; k < slopes.length; k++) {
      leaky_relu_f32_fwd(x, y, 9, slopes[k]);
      const want = new StaticArray<u32>(9);
      for (let i = 0; i < 9; i++) want[i] = reinterpret<u32>(xs[i] > 0 ? xs[i] : xs[i] * slopes[k]);
      expectBits("leaky_relu slope " + slopes[k].toString(), y, want);
    }
    checkGuardsAndFree("leaky_relu slopes");
  });
});

describe("activation backward kernels", () => {
  it("match the f64 derivative on odd sizes, in place (dx == dy) too", () => {
    for (let kind = 0; kind < 5; kind++) {
      for (let s = 0; s < SIZES.length; s++) {
        const n = SIZES[s];
        seed(<u32>(7000 * kind + n + 3));
        const x = allocF32(n);
        fillInput(x, n, RANGE[kind]);
        const what = name(kind, "bwd", n);
        checkBackward(kind, x, n, what);
        checkGuardsAndFree(what);
      }
    }
  });

  it("extremes", () => {
    const n = EXTREMES.length;
    for (let kind = 0; kind < 5; kind++) {
      seed(<u32>(31 + kind));
      const x = allocF32(n);
      for (let i = 0; i < n; i++) setF32(x, i, EXTREMES[i]);
      const what = name(kind, "bwd extremes", n);
      checkBackward(kind, x, n, what);
      checkGuardsAndFree(what);
    }
  });

  it("leaky_relu_bwd: x == 0 (either sign) takes the slope, as PyTorch", () => {
    const x = allocF32(5), dy = allocF32(5), dx = allocF32(5);
    const xs: StaticArray<f32> = [0.0, -0.0, 1e-45, -1e-45, NaN];
    for (let i = 0; i < 5; i++) setF32(x, i, xs[i]);
    fillValue(dy, 5, 2);
    leaky_relu_f32_bwd(x, dy, dx, 5, 0.25);
    const want: StaticArray<u32> = [
      reinterpret<u32>(<f32>0.5), reinterpret<u32>(<f32>0.5), reinterpret<u32>(<f32>2),
      reinterpret<u32>(<f32>0.5), reinterpret<u32>(<f32>0.5),
    ];
    expectBits("leaky_relu_bwd at 0", dx, want);
    checkGuardsAndFree("leaky_relu_bwd at 0");
  });

  it("gelu derivatives at known points", () => {
    const x = allocF32(3), dy = allocF32(3), dx = allocF32(3);
    setF32(x, 0, 0); setF32(x, 1, 1); setF32(x, 2, -1);
    fillValue(dy, 3, 1);
    gelu_f32_bwd(x, dy, dx, 3, 0);
    // Phi(1) + phi(1) = 0.8413447460685429 + 0.24197072451914337
    expectScalar("gelu'(0)", <f64>getF32(dx, 0), 0.5, EPS);
    expectScalar("gelu'(1)", <f64>getF32(dx, 1), 1.0833154705876864, 4 * EPS);
    expectScalar("gelu'(-1)", <f64>getF32(dx, 2), -0.08331547058768629, 8 * EPS);
    gelu_f32_bwd(x, dy, dx, 3, 1);
    expectScalar("gelu_tanh'(0)", <f64>getF32(dx, 0), 0.5, EPS);
    checkGuardsAndFree("gelu known derivatives");
  });
});

describe("dropout_f32_fwd / dropout_f32_bwd", () => {
  it("drops a fraction p of 100000 elements (within 6 standard deviations), keeps the rest scaled by 1/(1-p) exactly", () => {
    const n = 100000;
    const ps: StaticArray<f64> = [0.1, 0.5, 0.9];
    for (let k = 0; k < ps.length; k++) {
      const p = ps[k];
      const what = "dropout p=" + p.toString();
      seed(<u32>(17 + k));
      const x = allocF32(n), y = allocF32(n), mask = allocF32(n);
      fillUniform(x, n, -3, 3);
      fillValue(y, n, NaN);
      dropout_f32_fwd(x, y, mask, n, p, <u32>(12345 + k));
      const scale = <f32>(1.0 / (1.0 - p));
      let zeros = 0, pairs = 0, badMask = 0, badY = 0;
      for (let i = 0; i < n; i++) {
        const m = getF32(mask, i);
        const xi = getF32(x, i), yi = getF32(y, i);
        if (m == 0) {
          zeros++;
          if (i > 0 && getF32(mask, i - 1) == 0) pairs++;
          if (yi != 0) badY++;
        } else {
          if (reinterpret<u32>(m) != reinterpret<u32>(scale)) badMask++;
          // x * scale rounded once: the f64 product of two f32 is exact
          if (reinterpret<u32>(yi) != reinterpret<u32>(<f32>(<f64>xi * <f64>scale))) badY++;
        }
      }
      const sd = Math.sqrt(<f64>n * p * (1 - p));
      expectScalar(what + ": dropped count", <f64>zeros, <f64>n * p, 6 * sd);
      // neighbours independent: both dropped with probability p^2
      expectScalar(what + ": adjacent dropped pairs", <f64>pairs, <f64>(n - 1) * p * p, 6 * Math.sqrt(<f64>n * p * p) + 1);
      expect<i32>(badMask).toBe(0, what + ": kept mask values equal 1/(1-p) in f32");
      expect<i32>(badY).toBe(0, what + ": y = x * mask exactly");
      checkGuardsAndFree(what);
    }
  });

  it("same seed, same mask; another seed, another mask; odd sizes; y may alias x", () => {
    for (let s = 0; s < SIZES.length; s++) {
      const n = SIZES[s];
      const what = "dropout seeds n=" + n.toString();
      seed(<u32>(5 + n));
      const x = allocF32(n), y = allocF32(n), m1 = allocF32(n), m2 = allocF32(n), m3 = allocF32(n);
      fillUniform(x, n, -1, 1);
      dropout_f32_fwd(x, y, m1, n, 0.5, 99);
      const yBits = snapshotBits(y, n);
      dropout_f32_fwd(x, x, m2, n, 0.5, 99); // in place
      expectBits(what + ": same seed, same mask", m2, snapshotBits(m1, n));
      expectBits(what + ": in place gives the same y", x, yBits);
      dropout_f32_fwd(x, y, m3, n, 0.5, 100);
      if (n >= 33) {
        let differ = 0;
        for (let i = 0; i < n; i++) if (getF32(m1, i) != getF32(m3, i)) differ++;
        // half the elements differ on average; 6 sd below that is still far from 0
        expect<bool>(<f64>differ > <f64>n / 2 - 6 * Math.sqrt(<f64>n / 4)).toBe(true, what + ": another seed, another mask");
      }
      checkGuardsAndFree(what);
    }
  });

  it("seeds differing only in high bits give different masks", () => {
    const n = 1024;
    const x = allocF32(n), y = allocF32(n), a = allocF32(n), b = allocF32(n);
    fillValue(x, n, 1);
    dropout_f32_fwd(x, y, a, n, 0.5, 0x00000001);
    dropout_f32_fwd(x, y, b, n, 0.5, 0x80000001);
    let differ = 0;
    for (let i = 0; i < n; i++) if (getF32(a, i) != getF32(b, i)) differ++;
    expect<bool>(differ > 400).toBe(true, "masks for seeds 1 and 2^31 + 1 differ in " + differ.toString() + " places");
    checkGuardsAndFree("dropout high seed bits");
  });

  it("p = 0 keeps everything with mask 1 (y == x bit for bit)", () => {
    for (let s = 0; s < SIZES.length; s++) {
      const n = SIZES[s];
      const x = allocF32(n), y = allocF32(n), m = allocF32(n);
      seed(<u32>n);
      fillUniform(x, n, -5, 5);
      dropout_f32_fwd(x, y, m, n, 0, 7);
      expectBits("dropout p=0 y", y, snapshotBits(x, n));
      const ones = new StaticArray<u32>(n);
      for (let i = 0; i < n; i++) ones[i] = reinterpret<u32>(<f32>1);
      expectBits("dropout p=0 mask", m, ones);
      checkGuardsAndFree("dropout p=0 n=" + n.toString());
    }
  });

  it("small p: the 24-bit threshold rounds up (p = 2^-24 drops about n / 2^24)", () => {
    // p * 2^24 = 1: exactly the draws whose top 24 bits are 0 are dropped
    const n = 4096;
    const x = allocF32(n), y = allocF32(n), m = allocF32(n);
    fillValue(x, n, 1);
    dropout_f32_fwd(x, y, m, n, 1.0 / 16777216.0, 3);
    let zeros = 0;
    for (let i = 0; i < n; i++) if (getF32(m, i) == 0) zeros++;
    expect<bool>(zeros <= 1).toBe(true, "p = 2^-24 dropped " + zeros.toString() + " of 4096");
    // and p just below 1 drops nearly all
    dropout_f32_fwd(x, y, m, n, 0.999, 3);
    zeros = 0;
    for (let i = 0; i < n; i++) if (getF32(m, i) == 0) zeros++;
    expectScalar("p = 0.999 dropped count", <f64>zeros, 0.999 * 4096, 6 * Math.sqrt(4096 * 0.999 * 0.001) + 1);
    checkGuardsAndFree("dropout threshold");
  });

  it("backward: dx = dy * mask exactly, in place too", () => {
    for (let s = 0; s < SIZES.length; s++) {
      const n = SIZES[s];
      const what = "dropout_bwd n=" + n.toString();
      seed(<u32>(77 + n));
      const x = allocF32(n), y = allocF32(n), m = allocF32(n), dy = allocF32(n), dx = allocF32(n);
      fillUniform(x, n, -1, 1);
      fillUniform(dy, n, -2, 2);
      fillValue(dx, n, NaN);
      dropout_f32_fwd(x, y, m, n, 0.3, <u32>n);
      const want = new StaticArray<u32>(n);
      for (let i = 0; i < n; i++) want[i] = reinterpret<u32>(getF32(dy, i) * getF32(m, i));
      const mBits = snapshotBits(m, n);
      dropout_f32_bwd(dy, m, dx, n);
      expectBits(what, dx, want);
      expectBits(what + ": mask unchanged", m, mBits);
      dropout_f32_bwd(dy, m, dy, n);
      expectBits(what + ": in place", dy, want);
      checkGuardsAndFree(what);
    }
  });
});
