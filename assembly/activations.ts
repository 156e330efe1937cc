// Pointwise activations and dropout, forward and backward side by side.
// Conventions: row-major f32, sizes in elements, pointers in bytes; every kernel handles any n.
// Semantics follow PyTorch (aten/src/ATen/native/cpu/Activation.cpp, GeluKernel.cpp,
// BinaryOpsKernel.cpp's sigmoid/tanh backward, Dropout.cpp). Transcendental functions are scalar
// (Mathf.exp / Mathf.tanh, ports of musl; erff / erfcf below, from musl): accuracy first. Where
// PyTorch's formula loses digits to cancellation (1 + erf(x) and 1 + tanh(u) for x < 0), the same
// function is evaluated in a form without it (erfc, a logistic); the derivatives are PyTorch's
// analytic ones. Cheap passes (leaky ReLU, the dropout multiplies) run 4-wide SIMD + scalar tail.

// ---------------------------------------------------------------------------------------------
// Sigmoid

/** Logistic 1 / (1 + e^-x) without overflow: e^-|x| is in (0, 1]. NaN in, NaN out. */
// @ts-ignore: decorator
@inline function sigmoidf(x: f32): f32 {
  const e = Mathf.exp(-Mathf.abs(x));
  const d: f32 = 1 + e;
  return x >= 0 ? <f32>1 / d : e / d;
}

/** y: (n,) = 1 / (1 + exp(-x)), x: (n,). x and y may alias. */
export function sigmoid_f32_fwd(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, sigmoidf(load<f32>(x + o)));
  }
}

/** dx: (n,) = dy * (1 - y) * y (torch sigmoid_backward), y: (n,) the forward output. dx may alias dy. */
export function sigmoid_f32_bwd(y: usize, dy: usize, dx: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(y + o);
    v128.store(dx + o, f32x4.mul(f32x4.mul(v128.load(dy + o), f32x4.sub(one, v)), v));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * (1 - v) * v);
  }
}

// ---------------------------------------------------------------------------------------------
// Tanh

/** y: (n,) = tanh(x), x: (n,). x and y may alias. */
export function tanh_f32_fwd(x: usize, y: usize, n: i32): void {
  for (let i = 0; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, Mathf.tanh(load<f32>(x + o)));
  }
}

/** dx: (n,) = dy * (1 - y * y) (torch tanh_backward), y: (n,) the forward output. dx may alias dy. */
export function tanh_f32_bwd(y: usize, dy: usize, dx: usize, n: i32): void {
  const one = f32x4.splat(1);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(y + o);
    v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.sub(one, f32x4.mul(v, v))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * (1 - v * v));
  }
}

// ---------------------------------------------------------------------------------------------
// LeakyReLU

/** y: (n,) = x > 0 ? x : x * slope (torch leaky_relu; NaN propagates). x and y may alias. */
export function leaky_relu_f32_fwd(x: usize, y: usize, n: i32, slope: f32): void {
  const zero = f32x4.splat(0), s = f32x4.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const v = v128.load(x + o);
    v128.store(y + o, v128.bitselect(v, f32x4.mul(v, s), f32x4.gt(v, zero)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(y + o, v > 0 ? v : v * slope);
  }
}

/** dx: (n,) = x > 0 ? dy : dy * slope (torch leaky_relu_backward: x == 0 takes the slope), x: (n,) the forward input. dx may alias dy. */
export function leaky_relu_f32_bwd(x: usize, dy: usize, dx: usize, n: i32, slope: f32): void {
  const zero = f32x4.splat(0), s = f32x4.splat(slope);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const g = v128.load(dy + o);
    v128.store(dx + o, v128.bitselect(g, f32x4.mul(g, s), f32x4.gt(v128.load(x + o), zero)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(dy + o);
    store<f32>(dx + o, load<f32>(x + o) > 0 ? g : g * slope);
  }
}

// ---------------------------------------------------------------------------------------------
// erf / erfc in f32: musl libc src/math/erff.c (from FreeBSD s_erff.c; Copyright (C) 1993 by Sun
// Microsystems, Inc.: "Permission to use, copy, modify, and distribute this software is freely
// granted, provided that this notice is preserved."). Rational approximations on |x| < 0.84375,
// [0.84375, 1.25), [1.25, 1/0.35), [1/0.35, 6 or 28); errors of about 1 ulp.

const erx: f32 = 8.4506291151e-01;
const efx8: f32 = 1.0270333290e+00;
const pp0: f32 = 1.2837916613e-01, pp1: f32 = -3.2504209876e-01, pp2: f32 = -2.8481749818e-02,
  pp3: f32 = -5.7702702470e-03, pp4: f32 = -2.3763017452e-05;
const qq1: f32 = 3.9791721106e-01, qq2: f32 = 6.5022252500e-02, qq3: f32 = 5.0813062117e-03,
  qq4: f32 = 1.3249473704e-04, qq5: f32 = -3.9602282413e-06;
// erf(1 + s) - erx on [0.84375, 1.25)
const pa0: f32 = -2.3621185683e-03, pa1: f32 = 4.1485610604e-01, pa2: f32 = -3.7220788002e-01,
  pa3: f32 = 3.1834661961e-01, pa4: f32 = -1.1089469492e-01, pa5: f32 = 3.5478305072e-02,
  pa6: f32 = -2.1663755178e-03;
const qa1: f32 = 1.0642088205e-01, qa2: f32 = 5.4039794207e-01, qa3: f32 = 7.1828655899e-02,
  qa4: f32 = 1.2617121637e-01, qa5: f32 = 1.3637083583e-02, qa6: f32 = 1.1984500103e-02;
// erfc(x) * x * e^(x^2 + 0.5625) on [1.25, 1/0.35)
const ra0: f32 = -9.8649440333e-03, ra1: f32 = -6.9385856390e-01, ra2: f32 = -1.0558626175e+01,
  ra3: f32 = -6.2375331879e+01, ra4: f32 = -1.6239666748e+02, ra5: f32 = -1.8460508728e+02,
  ra6: f32 = -8.1287437439e+01, ra7: f32 = -9.8143291473e+00;
const sa1: f32 = 1.9651271820e+01, sa2: f32 = 1.3765776062e+02, sa3: f32 = 4.3456588745e+02,
  sa4: f32 = 6.4538726807e+02, sa5: f32 = 4.2900814819e+02, sa6: f32 = 1.0863500214e+02,
  sa7: f32 = 6.5702495575e+00, sa8: f32 = -6.0424413532e-02;
// the same on [1/0.35, 28)
const rb0: f32 = -9.8649431020e-03, rb1: f32 = -7.9928326607e-01, rb2: f32 = -1.7757955551e+01,
  rb3: f32 = -1.6063638306e+02, rb4: f32 = -6.3756646729e+02, rb5: f32 = -1.0250950928e+03,
  rb6: f32 = -4.8351919556e+02;
const sb1: f32 = 3.0338060379e+01, sb2: f32 = 3.2579251099e+02, sb3: f32 = 1.5367296143e+03,
  sb4: f32 = 3.1998581543e+03, sb5: f32 = 2.5530502930e+03, sb6: f32 = 4.7452853394e+02,
  sb7: f32 = -2.2440952301e+01;

/** erfc(|x|) for 0.84375 <= |x| < 1.25 */
function erfc1(x: f32): f32 {
  const s: f32 = Mathf.abs(x) - 1;
  const P: f32 = pa0 + s * (pa1 + s * (pa2 + s * (pa3 + s * (pa4 + s * (pa5 + s * pa6)))));
  const Q: f32 = 1 + s * (qa1 + s * (qa2 + s * (qa3 + s * (qa4 + s * (qa5 + s * qa6)))));
  return 1 - erx - P / Q;
}

/** erfc(|x|) for 0.84375 <= |x| < 28; ix: the bits of |x| */
function erfc2(ix: u32, x: f32): f32 {
  if (ix < 0x3fa00000) return erfc1(x); // |x| < 1.25
  x = Mathf.abs(x);
  const s: f32 = 1 / (x * x);
  let R: f32, S: f32;
  if (ix < 0x4036db6d) { // |x| < 1/0.35
    R = ra0 + s * (ra1 + s * (ra2 + s * (ra3 + s * (ra4 + s * (ra5 + s * (ra6 + s * ra7))))));
    S = 1 + s * (sa1 + s * (sa2 + s * (sa3 + s * (sa4 + s * (sa5 + s * (sa6 + s * (sa7 + s * sa8)))))));
  } else { // |x| >= 1/0.35
    R = rb0 + s * (rb1 + s * (rb2 + s * (rb3 + s * (rb4 + s * (rb5 + s * rb6)))));
    S = 1 + s * (sb1 + s * (sb2 + s * (sb3 + s * (sb4 + s * (sb5 + s * (sb6 + s * sb7))))));
  }
  // z: x with the low 13 bits cleared, so z * z is exact
  const z = reinterpret<f32>(reinterpret<u32>(x) & 0xffffe000);
  return Mathf.exp(-z * z - 0.5625) * Mathf.exp((z - x) * (z + x) + R / S) / x;
}

/** The error function erf(x) in f32 (musl erff). */
export function erff(x: f32): f32 {
  let ix = reinterpret<u32>(x);
  const sign = ix >> 31;
  ix &= 0x7fffffff;
  if (ix >= 0x7f800000) return (sign ? <f32>-1 : <f32>1) + 1 / x; // erf(NaN) = NaN, erf(+-inf) = +-1
  if (ix < 0x3f580000) { // |x| < 0.84375
    if (ix < 0x31800000) return 0.125 * (8 * x + efx8 * x); // |x| < 2^-28, avoiding underflow
    const z = x * x;
    const r: f32 = pp0 + z * (pp1 + z * (pp2 + z * (pp3 + z * pp4)));
    const s: f32 = 1 + z * (qq1 + z * (qq2 + z * (qq3 + z * (qq4 + z * qq5))));
    return x + x * (r / s);
  }
  let y: f32;
  if (ix < 0x40c00000) y = 1 - erfc2(ix, x); // |x| < 6
  else y = 1 - reinterpret<f32>(0x03800000); // 1 - 2^-120
  return sign ? -y : y;
}

/** The complementary error function erfc(x) = 1 - erf(x) in f32 (musl erfcf), accurate in its tails. */
export function erfcf(x: f32): f32 {
  let ix = reinterpret<u32>(x);
  const sign = ix >> 31;
  ix &= 0x7fffffff;
  if (ix >= 0x7f800000) return (sign ? <f32>2 : <f32>0) + 1 / x; // erfc(NaN) = NaN, erfc(+inf) = 0, erfc(-inf) = 2
  if (ix < 0x3f580000) { // |x| < 0.84375
    if (ix < 0x23800000) return 1 - x; // |x| < 2^-56
    const z = x * x;
    const r: f32 = pp0 + z * (pp1 + z * (pp2 + z * (pp3 + z * pp4)));
    const s: f32 = 1 + z * (qq1 + z * (qq2 + z * (qq3 + z * (qq4 + z * qq5))));
    const y: f32 = r / s;
    if (sign || ix < 0x3e800000) return 1 - (x + x * y); // x < 1/4
    return 0.5 - (x - 0.5 + x * y);
  }
  if (ix < 0x41e00000) return sign ? 2 - erfc2(ix, x) : erfc2(ix, x); // |x| < 28
  const tiny = reinterpret<f32>(0x03800000); // 2^-120
  return sign ? 2 - tiny : tiny * tiny;
}

// ---------------------------------------------------------------------------------------------
// GELU (torch.nn.functional.gelu; aten/src/ATen/native/cpu/GeluKernel.cpp)
//   approximate 0 ('none'): y = x * Phi(x), Phi(x) = 0.5 * (1 + erf(x / sqrt 2)) = 0.5 * erfc(-x / sqrt 2)
//                           dy/dx = Phi(x) + x * exp(-x^2 / 2) / sqrt(2 pi)
//   approximate 1 ('tanh'): y = 0.5 * x * (1 + tanh(u)), u = sqrt(2 / pi) * (x + 0.044715 x^3)
//                           dy/dx = 0.5 * (1 + tanh u) + 0.5 * x * (1 - tanh^2 u) * sqrt(2 / pi) * (1 + 3 * 0.044715 x^2)
// Phi is evaluated through erfc and 0.5 * (1 + tanh u) as the logistic s = 1 / (1 + e^(-2u)), with
// 1 - tanh^2 u = 4 s (1 - s) and 1 - s = e^(-2u) / (1 + e^(-2u)): equal to PyTorch's expressions,
// without their cancellation for negative x. Infinite or NaN inputs give what PyTorch's give (NaN
// for gelu(-inf) = -inf * 0).

const M_SQRT1_2: f32 = 0.7071067811865476;     // 1 / sqrt 2
const INV_SQRT_2PI: f32 = 0.3989422804014327;  // M_2_SQRTPI * M_SQRT1_2 * 0.5
const SQRT_2_PI: f32 = 0.7978845608028654;     // M_SQRT2 * M_2_SQRTPI * 0.5 = sqrt(2 / pi)
const KAPPA: f32 = 0.044715;

// @ts-ignore: decorator
@inline function gelu_inner(x: f32): f32 {
  return SQRT_2_PI * (x + KAPPA * (x * x * x));
}

/** y: (n,) = GELU(x), x: (n,); approximate: 0 exact (erf), 1 tanh. x and y may alias. */
export function gelu_f32_fwd(x: usize, y: usize, n: i32, approximate: i32): void {
  if (approximate) {
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(x + o);
      store<f32>(y + o, v * sigmoidf(2 * gelu_inner(v)));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(x + o);
      store<f32>(y + o, v * (0.5 * erfcf(-v * M_SQRT1_2)));
    }
  }
}

/** dx: (n,) = dy * GELU'(x), x: (n,) the forward input; approximate as in gelu_f32_fwd. dx may alias dy. */
export function gelu_f32_bwd(x: usize, dy: usize, dx: usize, n: i32, approximate: i32): void {
  if (approximate) {
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(x + o);
      const u = gelu_inner(v);
      const e = Mathf.exp(-2 * Mathf.abs(u));
      const d: f32 = 1 + e;
      const pos = u >= 0;
      const s: f32 = (pos ? 1 : e) / d;    // 0.5 * (1 + tanh u); NaN for NaN
      const sbar: f32 = (pos ? e : 1) / d; // 0.5 * (1 - tanh u)
      const right: f32 = 2 * v * s * sbar * (SQRT_2_PI * (1 + 3 * KAPPA * (v * v)));
      store<f32>(dx + o, load<f32>(dy + o) * (s + right));
    }
  } else {
    for (let i = 0; i < n; i++) {
      const o = <usize>i << 2;
      const v = load<f32>(x + o);
      const cdf: f32 = 0.5 * erfcf(-v * M_SQRT1_2);
      const pdf: f32 = INV_SQRT_2PI * Mathf.exp(-0.5 * (v * v));
      store<f32>(dx + o, load<f32>(dy + o) * (cdf + v * pdf));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Dropout (torch.nn.functional.dropout in training mode; aten/src/ATen/native/Dropout.cpp:
// mask ~ Bernoulli(1 - p), y = x * mask / (1 - p)). The mask stores 0 or 1 / (1 - p) itself.
// Randomness: xoshiro128** (Blackman & Vigna, https://prng.di.unimi.it/xoshiro128starstar.c)
// seeded through splitmix32 from `seed`, exactly as bindings/random.ts's Generator(seed), so the
// kernel keeps no state and a seed gives the same mask on every runtime. Element i takes the
// i-th 32-bit draw; its top 24 bits u (uniform on [0, 2^24)) drop it iff u < p * 2^24, compared
// exactly in integers: P(drop) = ceil(p * 2^24) / 2^24, which is p for multiples of 2^-24.

/**
 * mask: (n,) f32 <- 0 (dropped, probability p) or 1 / (1 - p) (kept); y: (n,) = x: (n,) * mask.
 * p in [0, 1); seed: any u32. x and y may alias (mask must not).
 */
export function dropout_f32_fwd(x: usize, y: usize, mask: usize, n: i32, p: f64, seed: u32): void {
  // splitmix32 -> the four xoshiro128 state words
  let z = seed;
  z += 0x9e3779b9; let s0 = splitmix32_mix(z);
  z += 0x9e3779b9; let s1 = splitmix32_mix(z);
  z += 0x9e3779b9; let s2 = splitmix32_mix(z);
  z += 0x9e3779b9; let s3 = splitmix32_mix(z);
  const threshold = <u32>Math.ceil(p * 16777216.0); // 2^24 * p, rounded up; p * 2^24 is exact in f64
  const scale = <f32>(1.0 / (1.0 - p));              // as torch's native_dropout: 1 / (1 - p) in double
  for (let i = 0; i < n; i++) {
    // xoshiro128**
    const r = rotl<u32>(s1 * 5, 7) * 9;
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
    s2 ^= t;
    s3 = rotl<u32>(s3, 11);
    store<f32>(mask + (<usize>i << 2), (r >> 8) < threshold ? <f32>0 : scale);
  }
  mul_f32(x, mask, y, n);
}

/** dx: (n,) = dy: (n,) * mask: (n,) (the mask of dropout_f32_fwd, scale included). dx may alias dy. */
export function dropout_f32_bwd(dy: usize, mask: usize, dx: usize, n: i32): void {
  mul_f32(dy, mask, dx, n);
}

// @ts-ignore: decorator
@inline function splitmix32_mix(z: u32): u32 {
  let t = z;
  t = (t ^ (t >> 16)) * 0x85ebca6b;
  t = (t ^ (t >> 13)) * 0xc2b2ae35;
  return t ^ (t >> 16);
}

/** out: (n,) = a: (n,) * b: (n,); out may alias a or b. */
function mul_f32(a: usize, b: usize, out: usize, n: i32): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(out + o, load<f32>(a + o) * load<f32>(b + o));
  }
}
