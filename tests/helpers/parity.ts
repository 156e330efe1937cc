// Shared by the PyTorch parity tests: fixture loading and tolerance comparisons that name the
// case, the index, both values and the tolerance.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';

export function fixture<T>(file: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/${file}`, import.meta.url), 'utf8')) as T;
}

/** Fixture values are float32s written as shortest decimals: reading them through f32 gives back torch's bits. */
export const f32 = (v: ArrayLike<number>) => Float32Array.from(v);

export function maxAbs(v: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]));
  return m;
}

/** Comparisons at one default tolerance: rtol relative, plus atolScale times the tensor's max |want|. */
export function comparators(RTOL: number, ATOL_SCALE: number) {
  /**
   * Elementwise |got - want| <= rtol |want| + atol with atol = atolScale * max|want|; on failure
   * names the case, the index, both values and the tolerance (and how many others fail).
   */
  function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string,
    { rtol = RTOL, atolScale = ATOL_SCALE } = {}): void {
    expect(got.length, `${what}: length`).toBe(want.length);
    const atol = atolScale * maxAbs(want);
    let first = -1, bad = 0;
    for (let i = 0; i < want.length; i++) {
      const ok = Math.abs(got[i] - want[i]) <= rtol * Math.abs(want[i]) + atol;
      if (!ok) { bad++; if (first < 0) first = i; }
    }
    if (bad) {
      const tol = rtol * Math.abs(want[first]) + atol;
      throw new Error(`${what}[${first}]: got ${got[first]}, want ${want[first]} (|diff| ${Math.abs(got[first] - want[first])}, ` +
        `tolerance ${tol}); ${bad} of ${want.length} values outside the tolerance`);
    }
  }

  function expectScalar(got: number, want: number, what: string, rtol = RTOL, atol = 1e-7): void {
    const tol = rtol * Math.abs(want) + atol;
    if (!(Math.abs(got - want) <= tol)) throw new Error(`${what}: got ${got}, want ${want} (tolerance ${tol})`);
  }

  return { expectClose, expectScalar };
}
