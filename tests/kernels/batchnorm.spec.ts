// Batch-norm kernels against plain f64 references: statistics (mean, biased variance; a large
// batch with a large mean that a one-pass f32 reduction would get wrong), forward (with and without
// gamma / beta, in place), training backward (dx, and dgamma / dbeta accumulating) and eval backward;
// null output pointers skip their output and write nothing; dx may alias dy. Shapes (N, C, S) cover
// BatchNorm1d (S = 1, and a length) and BatchNorm2d (S = H*W up to 28x28), every SIMD tail.
import {
  batchnorm_f32_stats, batchnorm_f32_fwd, batchnorm_f32_bwd_train, batchnorm_f32_bwd_eval,
} from "../../assembly/batchnorm";
import {
  seed, uniform, allocF32, allocBytes, fillUniform, fillValue, getF32, setF32,
  snapshotBits, expectBits, expectClose, saveLowMemory, lowMemoryChanges, checkGuardsAndFree,
} from "./util";

const EPS: f64 = 1.1920928955078125e-7;
const BN_EPS: f64 = 1e-5;

// N, C, S
const BN_SHAPES: StaticArray<i32> = [
  2, 1, 1,
  1, 1, 3,
  4, 3, 1,
  3, 2, 5,
  2, 3, 7,
  5, 4, 28,
  16, 8, 17,
  1, 3, 4,
  2, 3, 784,
];
const NBN = BN_SHAPES.length / 3;

function shapeName(kernel: string, N: i32, C: i32, S: i32): string {
  return kernel + " N=" + N.toString() + " C=" + C.toString() + " S=" + S.toString();
}

/** x: (N, C, S) with a per-channel offset and spread, so channels differ. */
function fillChannels(x: usize, N: i32, C: i32, S: i32): void {
  for (let c = 0; c < C; c++) {
    const off = uniform(-3, 3), spread = uniform(0.1, 4);
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) setF32(x, (n * C + c) * S + s, off + spread * uniform(-1, 1));
    }
  }
}

/** Reference mean and biased variance of channel c, two-pass in f64. */
function refMean(x: usize, N: i32, C: i32, S: i32, c: i32): f64 {
  let s: f64 = 0;
  for (let n = 0; n < N; n++) for (let i = 0; i < S; i++) s += <f64>getF32(x, (n * C + c) * S + i);
  return s / (<f64>N * <f64>S);
}

function refVar(x: usize, N: i32, C: i32, S: i32, c: i32, mu: f64): f64 {
  let s: f64 = 0;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < S; i++) {
      const d = <f64>getF32(x, (n * C + c) * S + i) - mu;
      s += d * d;
    }
  }
  return s / (<f64>N * <f64>S);
}

/** mean, invstd: (C,) from the kernel's statistics, as the layer computes them. */
function statsFor(x: usize, N: i32, C: i32, S: i32, mean: usize, invstd: usize, eps: f64 = BN_EPS): void {
  batchnorm_f32_stats(x, N, C, S, mean, invstd);
  for (let c = 0; c < C; c++) setF32(invstd, c, <f32>(1 / Math.sqrt(<f64>getF32(invstd, c) + eps)));
}

describe("batchnorm_f32_stats", () => {
  it("per-channel mean and biased variance match a two-pass f64 reference", () => {
    for (let k = 0; k < NBN; k++) {
      const N = BN_SHAPES[3 * k], C = BN_SHAPES[3 * k + 1], S = BN_SHAPES[3 * k + 2];
      seed(<u32>(100 + k));
      const what = shapeName("batchnorm stats", N, C, S);
      const n = N * C * S;
      const x = allocF32(n, 4), mean = allocF32(C), v = allocF32(C);
      fillChannels(x, N, C, S);
      fillValue(mean, C, NaN);
      fillValue(v, C, NaN);
      const wantM = new StaticArray<f64>(C), wantV = new StaticArray<f64>(C);
      const tolM = new StaticArray<f64>(C), tolV = new StaticArray<f64>(C);
      for (let c = 0; c < C; c++) {
        wantM[c] = refMean(x, N, C, S, c);
        wantV[c] = refVar(x, N, C, S, c, wantM[c]);
        tolM[c] = EPS * Math.abs(wantM[c]) + 1e-12;
        tolV[c] = EPS * wantV[c] + 1e-12;
      }
      const xBits = snapshotBits(x, n);
      batchnorm_f32_stats(x, N, C, S, mean, v);
      expectClose(what + ": mean", mean, wantM, tolM);
      expectClose(what + ": var", v, wantV, tolV);
      expectBits(what + ": x unchanged", x, xBits);
      checkGuardsAndFree(what);
    }
  });

  it("a large batch with a large mean keeps f32 accuracy (f64 two-pass reduction)", () => {
    const N = 64, C = 2, S = 1024, n = N * C * S;
    seed(7);
    const x = allocF32(n), mean = allocF32(C), v = allocF32(C);
    for (let i = 0; i < n; i++) setF32(x, i, <f32>1000 + uniform(-1, 1) * <f32>0.01);
    batchnorm_f32_stats(x, N, C, S, mean, v);
    const wantM = new StaticArray<f64>(C), wantV = new StaticArray<f64>(C);
    const tolM = new StaticArray<f64>(C), tolV = new StaticArray<f64>(C);
    for (let c = 0; c < C; c++) {
      wantM[c] = refMean(x, N, C, S, c);
      wantV[c] = refVar(x, N, C, S, c, wantM[c]); // about 3e-5: a one-pass f32 E[x^2] - E[x]^2 loses it all
      tolM[c] = EPS * wantM[c];
      tolV[c] = 2 * EPS * wantV[c];
    }
    expectClose("large batch: mean", mean, wantM, tolM);
    expectClose("large batch: var", v, wantV, tolV);
    checkGuardsAndFree("large batch");
  });
});

describe("batchnorm_f32_fwd", () => {
  it("y = (x - mean) * invstd * gamma + beta, with and without gamma / beta, in place too", () => {
    for (let k = 0; k < NBN; k++) {
      const N = BN_SHAPES[3 * k], C = BN_SHAPES[3 * k + 1], S = BN_SHAPES[3 * k + 2];
      for (let affine = 0; affine < 4; affine++) { // bit 0: gamma, bit 1: beta
        seed(<u32>(300 + 4 * k + affine));
        const what = shapeName("batchnorm fwd", N, C, S) + " gamma=" + (affine & 1).toString() + " beta=" + (affine >> 1).toString();
        const n = N * C * S;
        const x = allocF32(n), y = allocF32(n, 8), mean = allocF32(C), invstd = allocF32(C);
        const gamma = allocF32(C), beta = allocF32(C);
        fillChannels(x, N, C, S);
        statsFor(x, N, C, S, mean, invstd);
        fillUniform(gamma, C, -2, 2);
        fillUniform(beta, C, -2, 2);
        fillValue(y, n, NaN);
        const g: usize = (affine & 1) ? gamma : 0, b: usize = (affine & 2) ? beta : 0;
        const want = new StaticArray<f64>(n), tol = new StaticArray<f64>(n);
        for (let i = 0; i < n; i++) {
          const c = (i / S) % C;
          const m = <f64>getF32(mean, c), is = <f64>getF32(invstd, c);
          const gc: f64 = g ? <f64>getF32(gamma, c) : 1, bc: f64 = b ? <f64>getF32(beta, c) : 0;
          const xv = <f64>getF32(x, i);
          want[i] = (xv - m) * is * gc + bc;
          tol[i] = 4 * EPS * ((Math.abs(xv) + Math.abs(m)) * Math.abs(is * gc) + Math.abs(bc));
        }
        const xBits = snapshotBits(x, n);
        batchnorm_f32_fwd(x, N, C, S, mean, invstd, g, b, y);
        expectClose(what, y, want, tol);
        expectBits(what + ": x unchanged", x, xBits);
        batchnorm_f32_fwd(x, N, C, S, mean, invstd, g, b, x); // in place
        expectBits(what + ": in place", x, snapshotBits(y, n));
        checkGuardsAndFree(what);
      }
    }
  });
});

/** Train (1) or eval (0) backward against the f64 reference, with every output present. */
function checkBackward(train: bool, N: i32, C: i32, S: i32, useGamma: bool, alias: bool, sd: u32): void {
  seed(sd);
  const what = shapeName(train ? "batchnorm bwd_train" : "batchnorm bwd_eval", N, C, S)
    + (useGamma ? " gamma" : " no gamma") + (alias ? " dx == dy" : "");
  const n = N * C * S;
  const x = allocF32(n), dy = allocF32(n, 4), dxBuf = allocF32(n);
  const mean = allocF32(C), invstd = allocF32(C), gamma = allocF32(C), dgamma = allocF32(C), dbeta = allocF32(C);
  fillChannels(x, N, C, S);
  if (train) statsFor(x, N, C, S, mean, invstd);
  else { // running statistics: unrelated to this batch
    fillUniform(mean, C, -2, 2);
    fillUniform(invstd, C, 0.2, 3);
  }
  fillUniform(gamma, C, -2, 2);
  fillUniform(dy, n, -1, 1);
  fillUniform(dgamma, C, -5, 5); // prior gradients: the kernel adds to them
  fillUniform(dbeta, C, -5, 5);
  fillValue(dxBuf, n, NaN);
  const g: usize = useGamma ? gamma : 0;
  const M = <f64>N * <f64>S;
  const wantDx = new StaticArray<f64>(n), tolDx = new StaticArray<f64>(n);
  const wantG = new StaticArray<f64>(C), tolG = new StaticArray<f64>(C);
  const wantB = new StaticArray<f64>(C), tolB = new StaticArray<f64>(C);
  for (let c = 0; c < C; c++) {
    const m = <f64>getF32(mean, c), is = <f64>getF32(invstd, c);
    const gc: f64 = useGamma ? <f64>getF32(gamma, c) : 1;
    let sumDy: f64 = 0, sumDyXhat: f64 = 0, absDy: f64 = 0, absDyXhat: f64 = 0;
    for (let b = 0; b < N; b++) {
      for (let s = 0; s < S; s++) {
        const i = (b * C + c) * S + s;
        const d = <f64>getF32(dy, i), xh = (<f64>getF32(x, i) - m) * is;
        sumDy += d;
        sumDyXhat += d * xh;
        absDy += Math.abs(d);
        absDyXhat += Math.abs(d * xh);
      }
    }
    wantB[c] = <f64>getF32(dbeta, c) + sumDy;
    tolB[c] = 2 * EPS * (Math.abs(<f64>getF32(dbeta, c)) + absDy);
    wantG[c] = <f64>getF32(dgamma, c) + sumDyXhat;
    tolG[c] = 4 * EPS * (Math.abs(<f64>getF32(dgamma, c)) + absDyXhat);
    for (let b = 0; b < N; b++) {
      for (let s = 0; s < S; s++) {
        const i = (b * C + c) * S + s;
        const d = <f64>getF32(dy, i), xv = <f64>getF32(x, i), xh = (xv - m) * is;
        if (train) {
          wantDx[i] = gc * is * (d - sumDy / M - xh * sumDyXhat / M);
          const t = (Math.abs(xv) + Math.abs(m)) * is * Math.abs(sumDyXhat) / M;
          tolDx[i] = 8 * EPS * Math.abs(gc * is) * (Math.abs(d) + absDy / M + t + Math.abs(xh) * absDyXhat / M);
        } else {
          wantDx[i] = d * gc * is;
          tolDx[i] = 3 * EPS * Math.abs(wantDx[i]);
        }
      }
    }
  }
  const xBits = snapshotBits(x, n);
  const dx = alias ? dy : dxBuf;
  if (train) batchnorm_f32_bwd_train(x, dy, N, C, S, mean, invstd, g, dx, dgamma, dbeta);
  else batchnorm_f32_bwd_eval(x, dy, N, C, S, mean, invstd, g, dx, dgamma, dbeta);
  expectClose(what + ": dx", dx, wantDx, tolDx);
  expectClose(what + ": dgamma", dgamma, wantG, tolG);
  expectClose(what + ": dbeta", dbeta, wantB, tolB);
  expectBits(what + ": x unchanged", x, xBits);
  checkGuardsAndFree(what);
}

/** With dx, dgamma, dbeta = 0 in turn: the others are still right and nothing is written at 0. */
function checkNullOutputs(train: bool, sd: u32): void {
  const N = 3, C = 3, S = 5, n = N * C * S;
  const lowBytes: usize = <usize>n << 2;
  for (let skip = 0; skip < 3; skip++) { // 0: dx, 1: dgamma, 2: dbeta
    seed(sd + <u32>skip);
    const what = (train ? "bwd_train" : "bwd_eval") + " with " + (skip == 0 ? "dx" : skip == 1 ? "dgamma" : "dbeta") + " = 0";
    const x = allocF32(n), dy = allocF32(n), dx = allocF32(n), ref = allocF32(n);
    const mean = allocF32(C), invstd = allocF32(C), gamma = allocF32(C);
    const dg = allocF32(C), db = allocF32(C), dgRef = allocF32(C), dbRef = allocF32(C);
    const lowCopy = allocBytes(lowBytes);
    fillChannels(x, N, C, S);
    statsFor(x, N, C, S, mean, invstd);
    fillUniform(gamma, C, -2, 2);
    fillUniform(dy, n, -1, 1);
    fillValue(dg, C, 0.5); fillValue(db, C, 0.5); fillValue(dgRef, C, 0.5); fillValue(dbRef, C, 0.5);
    fillValue(dx, n, 7);
    if (train) batchnorm_f32_bwd_train(x, dy, N, C, S, mean, invstd, gamma, ref, dgRef, dbRef);
    else batchnorm_f32_bwd_eval(x, dy, N, C, S, mean, invstd, gamma, ref, dgRef, dbRef);
    const pdx: usize = skip == 0 ? 0 : dx, pdg: usize = skip == 1 ? 0 : dg, pdb: usize = skip == 2 ? 0 : db;
    saveLowMemory(lowCopy, lowBytes);
    if (train) batchnorm_f32_bwd_train(x, dy, N, C, S, mean, invstd, gamma, pdx, pdg, pdb);
    else batchnorm_f32_bwd_eval(x, dy, N, C, S, mean, invstd, gamma, pdx, pdg, pdb);
    expect<i32>(lowMemoryChanges(lowCopy, lowBytes)).toBe(0, what + ": wrote near address 0");
    if (skip != 0) expectBits(what + ": dx", dx, snapshotBits(ref, n));
    if (skip != 1) expectBits(what + ": dgamma", dg, snapshotBits(dgRef, C));
    if (skip != 2) expectBits(what + ": dbeta", db, snapshotBits(dbRef, C));
    checkGuardsAndFree(what);
  }
}

describe("batchnorm_f32_bwd_train / batchnorm_f32_bwd_eval", () => {
  it("training backward matches the f64 reference; dgamma / dbeta accumulate", () => {
    for (let k = 0; k < NBN; k++) {
      const N = BN_SHAPES[3 * k], C = BN_SHAPES[3 * k + 1], S = BN_SHAPES[3 * k + 2];
      checkBackward(true, N, C, S, true, false, <u32>(500 + k));
      checkBackward(true, N, C, S, false, false, <u32>(600 + k));
      checkBackward(true, N, C, S, true, true, <u32>(700 + k));
    }
  });

  it("eval backward matches the f64 reference; dgamma / dbeta accumulate", () => {
    for (let k = 0; k < NBN; k++) {
      const N = BN_SHAPES[3 * k], C = BN_SHAPES[3 * k + 1], S = BN_SHAPES[3 * k + 2];
      checkBackward(false, N, C, S, true, false, <u32>(800 + k));
      checkBackward(false, N, C, S, false, false, <u32>(900 + k));
      checkBackward(false, N, C, S, true, true, <u32>(1000 + k));
    }
  });

  it("training dx sums to zero per channel and is orthogonal to xhat (the batch-stat constraints)", () => {
    const N = 4, C = 3, S = 49, n = N * C * S;
    seed(11);
    const x = allocF32(n), dy = allocF32(n), dx = allocF32(n), mean = allocF32(C), invstd = allocF32(C);
    fillChannels(x, N, C, S);
    statsFor(x, N, C, S, mean, invstd, 0); // eps 0: xhat exactly normalized, up to rounding
    fillUniform(dy, n, -1, 1);
    batchnorm_f32_bwd_train(x, dy, N, C, S, mean, invstd, 0, dx, 0, 0);
    for (let c = 0; c < C; c++) {
      let s: f64 = 0, sx: f64 = 0, mag: f64 = 0;
      for (let b = 0; b < N; b++) {
        for (let i = 0; i < S; i++) {
          const j = (b * C + c) * S + i;
          const d = <f64>getF32(dx, j), xh = (<f64>getF32(x, j) - <f64>getF32(mean, c)) * <f64>getF32(invstd, c);
          s += d;
          sx += d * xh;
          mag += Math.abs(d) * (1 + Math.abs(xh));
        }
      }
      expect<bool>(Math.abs(s) <= 1e-5 * mag).toBe(true, "channel " + c.toString() + ": sum dx = " + s.toString());
      expect<bool>(Math.abs(sx) <= 1e-5 * mag).toBe(true, "channel " + c.toString() + ": sum dx*xhat = " + sx.toString());
    }
    checkGuardsAndFree("bwd_train constraints");
  });

  it("null dx / dgamma / dbeta skip that output and write nothing", () => {
    checkNullOutputs(true, 1200);
    checkNullOutputs(false, 1300);
  });
});
