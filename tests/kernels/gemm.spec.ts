// SGEMM kernels: gemm_f32_nn / _nt / _tn against a plain scalar f64 reference written here, and
// the in-tree oracle gemm_f32_ref against the same reference (so the oracle is checked too).
//
// Tolerance: f32 summation in any order, with or without FMA, stays within
// |got - want| <= 1e-5 * (sum_k |a_ik * b_kj| + |C_prior|) + 1e-6.
import {
  gemm_f32_nn, gemm_f32_nt, gemm_f32_tn, gemm_f32_ref, gemm_f32_scratch_bytes, MR, NR,
} from "../../assembly/gemm";
import {
  seed, allocF32, allocBytes, fillUniform, fillValue, snapshot, snapshotBits, getF32,
  expectClose, expectBits, checkGuardsAndFree,
} from "./util";

const NN = 0;
const NT = 1;
const TN = 2;

// (M, N, K) triples. Blocking in assembly/gemm.ts: MR=5 (plain build) or 6 (relaxed build), NR=8,
// KC=256, MC=120 (a multiple of both MRs), NC=1024.
const SHAPES: StaticArray<i32> = [
  1, 1, 1,
  1, 9, 1,
  2, 3, 4,
  7, 5, 3,
  6, 8, 1,       // one full 6x8 micro-tile (relaxed), K=1
  5, 8, 256,     // exactly one 5x8 tile (plain), exactly one KC block
  6, 8, 256,     // exactly one 6x8 tile (relaxed); a tile plus a row of 1 (plain)
  5, 7, 257,     // partial tile, K one past KC
  13, 17, 300,   // crosses KC
  7, 9, 513,     // crosses KC twice, K not a multiple of 4
  12, 16, 512,   // 2x2 full 6x8 tiles, two full KC blocks
  10, 16, 512,   // 2x2 full 5x8 tiles, two full KC blocks
  1, 1, 600,     // K only
  120, 1024, 3,  // exactly MC x NC
  121, 1030, 5,  // crosses MC and NC
  241, 20, 7,    // crosses MC twice, mr tail of 1
  3, 2049, 2,    // crosses NC twice, nr tail of 1
];

function variantName(v: i32): string {
  return v == NN ? "gemm_f32_nn" : v == NT ? "gemm_f32_nt" : "gemm_f32_tn";
}

function caseName(v: i32, M: i32, N: i32, K: i32, acc: i32): string {
  return variantName(v) + " M=" + M.toString() + " N=" + N.toString() + " K=" + K.toString()
    + " accumulate=" + acc.toString();
}

/** op(A)(i, k) for the variant's storage of A: NN/NT A is (M, K); TN A is (K, M). */
function opA(v: i32, a: usize, M: i32, K: i32, i: i32, k: i32): f64 {
  return <f64>getF32(a, v == TN ? k * M + i : i * K + k);
}

/** op(B)(k, j) for the variant's storage of B: NN/TN B is (K, N); NT B is (N, K). */
function opB(v: i32, b: usize, N: i32, K: i32, k: i32, j: i32): f64 {
  return <f64>getF32(b, v == NT ? j * K + k : k * N + j);
}

/** Plain triple loop in f64: want = (acc ? prior : 0) + op(A).op(B); tol from the term magnitudes. */
function reference(v: i32, M: i32, N: i32, K: i32, a: usize, b: usize, prior: StaticArray<f64>, acc: i32,
  want: StaticArray<f64>, tol: StaticArray<f64>): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s: f64 = 0;
      let mag: f64 = 0;
      for (let k = 0; k < K; k++) {
        const t = opA(v, a, M, K, i, k) * opB(v, b, N, K, k, j);
        s += t;
        mag += Math.abs(t);
      }
      const idx = i * N + j;
      if (acc) {
        s += prior[idx];
        mag += Math.abs(prior[idx]);
      }
      want[idx] = s;
      tol[idx] = 1e-5 * mag + 1e-6;
    }
  }
}

function callFast(v: i32, M: i32, N: i32, K: i32, a: usize, b: usize, c: usize, acc: i32, scratch: usize): void {
  if (v == NN) gemm_f32_nn(M, N, K, a, b, c, acc, scratch);
  else if (v == NT) gemm_f32_nt(M, N, K, a, b, c, acc, scratch);
  else gemm_f32_tn(M, N, K, a, b, c, acc, scratch);
}

/**
 * One GEMM case: random A, B and prior C (NaN when priorNaN, to prove accumulate=0 never reads
 * C); checks the fast kernel and the oracle against the reference, that A and B are unchanged,
 * and (via guards) that nothing around A, B, C or the scratch buffer was written.
 */
function runCase(v: i32, M: i32, N: i32, K: i32, acc: i32, priorNaN: bool, misalign: usize): void {
  const name = caseName(v, M, N, K, acc) + (priorNaN ? " (C prior = NaN)" : "")
    + (misalign ? " (pointers misaligned by " + misalign.toString() + ")" : "");
  seed(<u32>(1 + v * 7919 + M * 104729 + N * 1299709 + K * 15485863 + acc * 3));
  const mn = M * N;
  const a = allocF32(M * K, misalign);
  const b = allocF32(K * N, misalign);
  const c = allocF32(mn, misalign);
  const c2 = allocF32(mn, misalign);
  const scratch = allocBytes(<usize>gemm_f32_scratch_bytes());
  fillUniform(a, M * K, -1, 1);
  fillUniform(b, K * N, -1, 1);
  if (priorNaN) fillValue(c, mn, NaN);
  else fillUniform(c, mn, -2, 2);
  const prior = snapshot(c, mn);
  const priorBits = snapshotBits(c, mn);
  const aBits = snapshotBits(a, M * K);
  const bBits = snapshotBits(b, K * N);
  // c2 gets the same prior contents for the oracle
  for (let i = 0; i < mn; i++) store<u32>(c2 + (<usize>i << 2), priorBits[i]);

  const want = new StaticArray<f64>(mn);
  const tol = new StaticArray<f64>(mn);
  reference(v, M, N, K, a, b, prior, acc, want, tol);

  callFast(v, M, N, K, a, b, c, acc, scratch);
  expectClose(name, c, want, tol);
  expectBits(name + ": A must be unchanged", a, aBits);
  expectBits(name + ": B must be unchanged", b, bBits);

  gemm_f32_ref(M, N, K, a, v == TN ? 1 : 0, b, v == NT ? 1 : 0, c2, acc);
  expectClose(name + " [oracle gemm_f32_ref]", c2, want, tol);

  checkGuardsAndFree(name);
}

function runAllShapes(v: i32, acc: i32, priorNaN: bool): void {
  for (let s = 0; s < SHAPES.length; s += 3) {
    runCase(v, SHAPES[s], SHAPES[s + 1], SHAPES[s + 2], acc, priorNaN, 0);
  }
}

describe("gemm build", () => {
  it("is compiled with SIMD, and with relaxed SIMD exactly in the relaxed run", () => {
    expect<bool>(ASC_FEATURE_SIMD).toBe(true);
    expect<bool>(ASC_FEATURE_RELAXED_SIMD).toBe(SIMDNET_TEST_RELAXED != 0, "relaxed-simd feature vs the as-pect config in use");
  });
  it("blocking is the one SHAPES was designed around (MR=5|6 NR=8 KC=256 MC=120 NC=1024)", () => {
    // scratch = (MC*KC + KC*NC + MR*NR) * 4 bytes. If the blocking changes, update SHAPES so
    // the cases still sit exactly on and just across every block boundary.
    const mr: i32 = ASC_FEATURE_RELAXED_SIMD ? 6 : 5;
    expect<i32>(MR).toBe(mr, "MR changed: update SHAPES");
    expect<i32>(NR).toBe(8, "NR changed: update SHAPES");
    expect<i32>(gemm_f32_scratch_bytes()).toBe((120 * 256 + 256 * 1024 + mr * 8) * 4,
      "KC / MC / NC changed: update SHAPES in gemm.spec.ts");
  });
});

describe("gemm_f32_nn", () => {
  it("accumulate=0 overwrites C (prior NaN) on all shapes", () => { runAllShapes(NN, 0, true); });
  it("accumulate=1 adds to C on all shapes", () => { runAllShapes(NN, 1, false); });
});

describe("gemm_f32_nt", () => {
  it("accumulate=0 overwrites C (prior NaN) on all shapes", () => { runAllShapes(NT, 0, true); });
  it("accumulate=1 adds to C on all shapes", () => { runAllShapes(NT, 1, false); });
});

describe("gemm_f32_tn", () => {
  it("accumulate=0 overwrites C (prior NaN) on all shapes", () => { runAllShapes(TN, 0, true); });
  it("accumulate=1 adds to C on all shapes", () => { runAllShapes(TN, 1, false); });
});

describe("gemm edge cases", () => {
  it("accumulate=0 overwrites finite garbage in C", () => {
    for (let v = 0; v < 3; v++) {
      runCase(v, 7, 5, 3, 0, false, 0);
      runCase(v, 13, 17, 300, 0, false, 0);
      runCase(v, 97, 1030, 5, 0, false, 0);
    }
  });

  it("works on pointers that are not 16-byte aligned", () => {
    for (let v = 0; v < 3; v++) {
      runCase(v, 7, 9, 13, 0, true, 4);
      runCase(v, 13, 17, 300, 1, false, 8);
      runCase(v, 6, 16, 5, 1, false, 12);
    }
  });

  it("K=0: C = 0 with accumulate=0, C unchanged with accumulate=1", () => {
    for (let v = 0; v < 3; v++) {
      for (let acc = 0; acc < 2; acc++) {
        const name = caseName(v, 5, 7, 0, acc);
        seed(<u32>(99 + v * 2 + acc));
        const a = allocF32(0);
        const b = allocF32(0);
        const c = allocF32(35);
        const scratch = allocBytes(<usize>gemm_f32_scratch_bytes());
        fillUniform(c, 35, -1, 1);
        const want = snapshot(c, 35);
        if (!acc) for (let i = 0; i < 35; i++) want[i] = 0;
        callFast(v, 5, 7, 0, a, b, c, acc, scratch);
        const tol = new StaticArray<f64>(35); // all 0: exact
        expectClose(name, c, want, tol);
        checkGuardsAndFree(name);
      }
    }
  });

  it("M=0 or N=0 writes nothing", () => {
    for (let v = 0; v < 3; v++) {
      const a = allocF32(5 * 4);
      const b = allocF32(4 * 5);
      const c = allocF32(0);
      const scratch = allocBytes(<usize>gemm_f32_scratch_bytes());
      fillUniform(a, 20, -1, 1);
      fillUniform(b, 20, -1, 1);
      callFast(v, 0, 5, 4, a, b, c, 0, scratch);
      callFast(v, 5, 0, 4, a, b, c, 0, scratch);
      checkGuardsAndFree(variantName(v) + " with M=0 / N=0");
    }
  });

  it("is deterministic: the same call twice gives the same bits", () => {
    for (let v = 0; v < 3; v++) {
      const M = 29, N = 37, K = 301;
      seed(<u32>(7 + v));
      const a = allocF32(M * K);
      const b = allocF32(K * N);
      const c = allocF32(M * N);
      const scratch = allocBytes(<usize>gemm_f32_scratch_bytes());
      fillUniform(a, M * K, -1, 1);
      fillUniform(b, K * N, -1, 1);
      callFast(v, M, N, K, a, b, c, 0, scratch);
      const first = snapshotBits(c, M * N);
      fillValue(c, M * N, NaN);
      callFast(v, M, N, K, a, b, c, 0, scratch);
      expectBits(caseName(v, M, N, K, 0) + " run twice", c, first);
      checkGuardsAndFree(variantName(v) + " determinism");
    }
  });

  it("exact on small integers (no rounding anywhere)", () => {
    // products and sums of small integers are exact in f32, so every variant must match exactly
    for (let v = 0; v < 3; v++) {
      const M = 11, N = 13, K = 270;
      seed(<u32>(1234 + v));
      const a = allocF32(M * K);
      const b = allocF32(K * N);
      const c = allocF32(M * N);
      const scratch = allocBytes(<usize>gemm_f32_scratch_bytes());
      for (let i = 0; i < M * K; i++) store<f32>(a + (<usize>i << 2), <f32>(<i32>(i % 7) - 3));
      for (let i = 0; i < K * N; i++) store<f32>(b + (<usize>i << 2), <f32>(<i32>(i % 5) - 2));
      const want = new StaticArray<f64>(M * N);
      const tol = new StaticArray<f64>(M * N);
      reference(v, M, N, K, a, b, want, 0, want, tol);
      for (let i = 0; i < M * N; i++) tol[i] = 0;
      callFast(v, M, N, K, a, b, c, 0, scratch);
      expectClose(caseName(v, M, N, K, 0) + " integer inputs", c, want, tol);
      checkGuardsAndFree(variantName(v) + " integers");
    }
  });
});
