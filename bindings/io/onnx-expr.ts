// Elementwise subgraphs of one activation x, as exporters write functions ONNX (before opset 20)
// has no operator for: GELU as x * (erf(x / sqrt 2) + 1) * 0.5, or its tanh approximation as
// Mul / Add / Tanh. Each value is kept as a polynomial in x and in functions (Erf, Tanh) of such
// polynomials, normalised (products distributed, like terms merged), so that the grouping and
// operand order an exporter chose do not matter; recognise() then compares the coefficients with
// GELU's. Sizes are bounded (terms, degree, nesting), so a hostile graph cannot make it blow up.

import { FormatError } from '../errors.js';

export interface Fn { name: 'Erf' | 'Tanh'; arg: Poly }
/** c * x^d * f1(..) * f2(..) ... */
export interface Mono { c: number; d: number; f: Fn[] }
export type Poly = Mono[];

const MAX_TERMS = 16, MAX_DEGREE = 6, MAX_FACTORS = 3, MAX_NESTING = 3;

export const X: Poly = [{ c: 1, d: 1, f: [] }];
export const constant = (c: number): Poly => (c === 0 ? [] : [{ c, d: 0, f: [] }]);

function nesting(p: Poly): number {
  let n = 0;
  for (const m of p) for (const f of m.f) n = Math.max(n, 1 + nesting(f.arg));
  return n;
}

function samePoly(a: Poly, b: Poly): boolean {
  if (a.length !== b.length) return false;
  const used = new Array<boolean>(b.length).fill(false);
  return a.every((m) => {
    const j = b.findIndex((n, k) => !used[k] && n.c === m.c && sameShape(m, n));
    if (j < 0) return false;
    used[j] = true;
    return true;
  });
}

/** Same power of x and the same functions (of exactly equal arguments), whatever the coefficients. */
function sameShape(a: Mono, b: Mono): boolean {
  if (a.d !== b.d || a.f.length !== b.f.length) return false;
  const used = new Array<boolean>(b.f.length).fill(false);
  return a.f.every((f) => {
    const j = b.f.findIndex((g, k) => !used[k] && g.name === f.name && samePoly(g.arg, f.arg));
    if (j < 0) return false;
    used[j] = true;
    return true;
  });
}

function check(p: Poly, ops: string): Poly {
  if (p.length > MAX_TERMS || p.some((m) => m.d > MAX_DEGREE || m.f.length > MAX_FACTORS || !Number.isFinite(m.c))) {
    throw new FormatError(`importOnnx: the elementwise ops ${ops} build an expression too large to be a supported function`);
  }
  return p;
}

export function add(a: Poly, b: Poly, ops: string): Poly {
  const out = a.map((m) => ({ ...m }));
  for (const m of b) {
    const same = out.find((n) => sameShape(n, m));
    if (same) same.c += m.c;
    else out.push({ ...m });
  }
  return check(out.filter((m) => m.c !== 0), ops);
}

export function scale(a: Poly, k: number, ops: string): Poly {
  return k === 0 ? [] : check(a.map((m) => ({ ...m, c: m.c * k })), ops);
}

export function mul(a: Poly, b: Poly, ops: string): Poly {
  let out: Poly = [];
  for (const m of a) {
    for (const n of b) {
      out = add(out, check([{ c: m.c * n.c, d: m.d + n.d, f: [...m.f, ...n.f] }], ops), ops);
    }
  }
  return out;
}

export function pow(a: Poly, e: number, ops: string): Poly {
  if (!Number.isInteger(e) || e < 0 || e > MAX_DEGREE) throw new FormatError(`importOnnx: Pow with exponent ${e} on the activation is not supported (${ops})`);
  let out = constant(1);
  for (let i = 0; i < e; i++) out = mul(out, a, ops);
  return out;
}

export function fn(name: 'Erf' | 'Tanh', a: Poly, ops: string): Poly {
  if (nesting(a) >= MAX_NESTING) throw new FormatError(`importOnnx: the elementwise ops ${ops} nest too deep to be a supported function`);
  if (a.every((m) => m.d === 0 && m.f.length === 0)) throw new FormatError(`importOnnx: ${name} of a constant expression (${ops}) is not supported`);
  return [{ c: 1, d: 0, f: [{ name, arg: a }] }];
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.abs(b);
const isMono = (p: Poly, c: number, d: number) => p.length === 1 && p[0].d === d && p[0].f.length === 0 && close(p[0].c, c);

export type Recognised = { type: 'identity' } | { type: 'Tanh' } | { type: 'GELU'; approximate: 'none' | 'tanh' };

const SQRT1_2 = Math.SQRT1_2, BETA = Math.sqrt(2 / Math.PI), KAPPA = 0.044715;

/** The function of x a polynomial is, among those simdnet has a layer for, or null. */
export function recognise(p: Poly): Recognised | null {
  if (isMono(p, 1, 1)) return { type: 'identity' };
  if (p.length === 1 && p[0].d === 0 && p[0].f.length === 1 && close(p[0].c, 1) && p[0].f[0].name === 'Tanh' && isMono(p[0].f[0].arg, 1, 1)) {
    return { type: 'Tanh' };
  }
  // 0.5 x + 0.5 x f(q)
  if (p.length !== 2) return null;
  const linear = p.find((m) => m.f.length === 0), withFn = p.find((m) => m.f.length === 1);
  if (!linear || !withFn || linear.d !== 1 || withFn.d !== 1 || !close(linear.c, 0.5) || !close(withFn.c, 0.5)) return null;
  const { name, arg } = withFn.f[0];
  if (name === 'Erf' && isMono(arg, SQRT1_2, 1)) return { type: 'GELU', approximate: 'none' };
  if (name === 'Tanh' && arg.length === 2 && arg.every((m) => m.f.length === 0)) {
    const one = arg.find((m) => m.d === 1), three = arg.find((m) => m.d === 3);
    if (one && three && close(one.c, BETA) && close(three.c, BETA * KAPPA)) return { type: 'GELU', approximate: 'tanh' };
  }
  return null;
}
