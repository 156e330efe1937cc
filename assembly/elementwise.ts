// Elementwise kernels: bias, ReLU, fills, finiteness checks.
// Conventions (all kernels): row-major f32, sizes in elements, pointers in bytes.
// Every kernel runs a 4-wide SIMD body and a scalar tail, so any size works.

/** p: (n,) f32 <- value */
export function fill_f32(p: usize, n: i32, value: f32): void {
  const v = f32x4.splat(value);
  let i = 0;
  for (; i + 4 <= n; i += 4) v128.store(p + (<usize>i << 2), v);
  for (; i < n; i++) store<f32>(p + (<usize>i << 2), value);
}

/** dst: (n,) f32 <- src: (n,) f32 */
export function copy_f32(dst: usize, src: usize, n: i32): void {
  memory.copy(dst, src, <usize>n << 2);
}

/** y: (rows, cols) f32 += bias: (cols,) f32, broadcast over rows */
export function bias_f32_add(y: usize, bias: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = y + (<usize>r * <usize>cols << 2);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      v128.store(row + o, f32x4.add(v128.load(row + o), v128.load(bias + o)));
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(row + o, load<f32>(row + o) + load<f32>(bias + o));
    }
  }
}

/** dbias: (cols,) f32 (+)= column sums of dy: (rows, cols) f32. accumulate: 0 overwrite, 1 add */
export function bias_f32_grad(dy: usize, dbias: usize, rows: i32, cols: i32, accumulate: i32): void {
  if (!accumulate) fill_f32(dbias, cols, 0);
  for (let r = 0; r < rows; r++) {
    const row = dy + (<usize>r * <usize>cols << 2);
    let c = 0;
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      v128.store(dbias + o, f32x4.add(v128.load(dbias + o), v128.load(row + o)));
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(dbias + o, load<f32>(dbias + o) + load<f32>(row + o));
    }
  }
}

/** y: (n,) = max(x, 0), NaN propagating as in torch.relu (f32.max and f32x4.max both do). x and y may alias. */
export function relu_f32_fwd(x: usize, y: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(y + o, f32x4.max(v128.load(x + o), zero));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, max<f32>(load<f32>(x + o), 0));
  }
}

/** dx: (n,) = dy where y > 0 else 0 (y: the forward output). dx may alias dy. */
export function relu_f32_bwd(y: usize, dy: usize, dx: usize, n: i32): void {
  const zero = f32x4.splat(0);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const mask = f32x4.gt(v128.load(y + o), zero);
    v128.store(dx + o, v128.and(v128.load(dy + o), mask));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(y + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/** Index of the first non-finite (NaN or +-Inf) element of p: (n,) f32, or -1 if all are finite. */
export function find_nonfinite_f32(p: usize, n: i32): i32 {
  // x - x is 0 for finite x and NaN for NaN or Inf; NaN != NaN flags the lane.
  let i = 0;
  for (; i + 16 <= n; i += 16) {
    const o = <usize>i << 2;
    const a = v128.load(p + o), b = v128.load(p + o, 16), c = v128.load(p + o, 32), d = v128.load(p + o, 48);
    const s = f32x4.add(f32x4.add(f32x4.sub(a, a), f32x4.sub(b, b)), f32x4.add(f32x4.sub(c, c), f32x4.sub(d, d)));
    if (v128.any_true(f32x4.ne(s, s))) break; // locate it in the scalar loop below
  }
  for (; i < n; i++) {
    const v = load<f32>(p + (<usize>i << 2));
    if (v - v != 0) return i;
  }
  return -1;
}

/** out: (rows,) i32 = index of the largest element of each row of x: (rows, cols); ties pick the first. */
export function argmax_f32_rows(x: usize, out: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = x + (<usize>r * <usize>cols << 2);
    let best: f32 = load<f32>(row);
    let arg = 0;
    for (let c = 1; c < cols; c++) {
      const v = load<f32>(row + (<usize>c << 2));
      if (v > best) { best = v; arg = c; }
    }
    store<i32>(out + (<usize>r << 2), arg);
  }
}
