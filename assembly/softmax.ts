// Softmax family and the classification losses, forward and backward side by side.
// Rows are samples, columns are classes. Exponentials use Mathf.exp (correctly rounded enough
// to match PyTorch within float32 tolerance); with 10 classes the row loops are not the hot path.

/** y: (rows, cols) = softmax(x) along each row. x and y may alias. */
export function softmax_f32_fwd(x: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>r * <usize>cols << 2);
    const yr = y + (<usize>r * <usize>cols << 2);
    const m = row_max(xr, cols);
    let sum: f32 = 0;
    for (let c = 0; c < cols; c++) {
      const e = Mathf.exp(load<f32>(xr + (<usize>c << 2)) - m);
      store<f32>(yr + (<usize>c << 2), e);
      sum += e;
    }
    const inv: f32 = 1 / sum;
    for (let c = 0; c < cols; c++) store<f32>(yr + (<usize>c << 2), load<f32>(yr + (<usize>c << 2)) * inv);
  }
}

/** dx: (rows, cols) = y * (dy - sum(dy * y)) per row, y the softmax output. dx may alias dy. */
export function softmax_f32_bwd(y: usize, dy: usize, dx: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * <usize>cols << 2;
    let dot: f32 = 0;
    for (let c = 0; c < cols; c++) dot += load<f32>(dy + o + (<usize>c << 2)) * load<f32>(y + o + (<usize>c << 2));
    for (let c = 0; c < cols; c++) {
      const k = o + (<usize>c << 2);
      store<f32>(dx + k, load<f32>(y + k) * (load<f32>(dy + k) - dot));
    }
  }
}

/** y: (rows, cols) = x - max - log(sum(exp(x - max))) per row. x and y may alias. */
export function log_softmax_f32_fwd(x: usize, y: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const xr = x + (<usize>r * <usize>cols << 2);
    const yr = y + (<usize>r * <usize>cols << 2);
    const lse = row_logsumexp(xr, cols);
    for (let c = 0; c < cols; c++) store<f32>(yr + (<usize>c << 2), load<f32>(xr + (<usize>c << 2)) - lse);
  }
}

/** dx: (rows, cols) = dy - exp(y) * sum(dy) per row, y the log-softmax output. dx may alias dy. */
export function log_softmax_f32_bwd(y: usize, dy: usize, dx: usize, rows: i32, cols: i32): void {
  for (let r = 0; r < rows; r++) {
    const o = <usize>r * <usize>cols << 2;
    let sum: f32 = 0;
    for (let c = 0; c < cols; c++) sum += load<f32>(dy + o + (<usize>c << 2));
    for (let c = 0; c < cols; c++) {
      const k = o + (<usize>c << 2);
      store<f32>(dx + k, load<f32>(dy + k) - Mathf.exp(load<f32>(y + k)) * sum);
    }
  }
}

/**
 * NLL loss on log-probabilities, PyTorch's `nll_loss` with reduction 'mean' (scale = 1/rows) or
 * 'sum' (scale = 1). logp: (rows, cols) f32, labels: (rows,) i32 in [0, cols).
 * Returns the loss; if dlogp != 0 also writes the gradient dlogp: (rows, cols) f32.
 */
export function nll_f32_fwd_bwd(logp: usize, labels: usize, dlogp: usize, rows: i32, cols: i32, scale: f32): f32 {
  let total: f64 = 0; // f64 so the reduction does not depend on the batch size's rounding
  for (let r = 0; r < rows; r++) {
    const label = load<i32>(labels + (<usize>r << 2));
    total -= <f64>load<f32>(logp + ((<usize>r * <usize>cols + <usize>label) << 2));
  }
  if (dlogp) {
    for (let i = 0, n = rows * cols; i < n; i++) store<f32>(dlogp + (<usize>i << 2), 0);
    for (let r = 0; r < rows; r++) {
      const label = load<i32>(labels + (<usize>r << 2));
      store<f32>(dlogp + ((<usize>r * <usize>cols + <usize>label) << 2), -scale);
    }
  }
  return <f32>(total * <f64>scale);
}

/**
 * Cross-entropy on logits, fused log-softmax + NLL (PyTorch's `cross_entropy`).
 * logits: (rows, cols) f32, labels: (rows,) i32. Returns the loss (scaled by `scale`);
 * if dlogits != 0 writes dlogits = (softmax(logits) - onehot(label)) * scale.
 */
export function cross_entropy_f32_fwd_bwd(logits: usize, labels: usize, dlogits: usize, rows: i32, cols: i32, scale: f32): f32 {
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const xr = logits + (<usize>r * <usize>cols << 2);
    const label = load<i32>(labels + (<usize>r << 2));
    const lse = row_logsumexp(xr, cols);
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

// @ts-ignore: decorator
@inline function row_max(row: usize, cols: i32): f32 {
  let m: f32 = load<f32>(row);
  for (let c = 1; c < cols; c++) m = max(m, load<f32>(row + (<usize>c << 2)));
  return m;
}

// @ts-ignore: decorator
@inline function row_logsumexp(row: usize, cols: i32): f32 {
  const m = row_max(row, cols);
  let sum: f32 = 0;
  for (let c = 0; c < cols; c++) sum += Mathf.exp(load<f32>(row + (<usize>c << 2)) - m);
  return m + Mathf.log(sum);
}
