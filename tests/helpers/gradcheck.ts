// Shared by the finite-difference gradient checks: central differences in float64 and an
// elementwise comparison that names the value that is off.
import { expect } from 'vitest';

const H = 1e-6;

/** Central difference of f at every index of v, in float64 (v is perturbed and restored). */
export function numericGrad(f: () => number, v: Float64Array): Float64Array {
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const keep = v[i];
    v[i] = keep + H; const up = f();
    v[i] = keep - H; const down = f();
    v[i] = keep;
    g[i] = (up - down) / (2 * H);
  }
  return g;
}

/** |got - want| <= atol + rtol |want| at every index, or an error naming the first one that is not. */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol = 1e-3, atol = 1e-4): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const tol = atol + rtol * Math.abs(want[i]);
    if (!(Math.abs(got[i] - want[i]) <= tol)) {
      throw new Error(`${what}[${i}]: kernel ${got[i]}, reference ${want[i]} (tolerance ${tol})`);
    }
  }
}
