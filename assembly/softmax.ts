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
 * Cross-entropy on logits, fused log-softmax + NLL (PyTorch's `cross_entropy`), with PyTorch's
 * label smoothing eps in [0, 1] (1.13, aten/src/ATen/native/LossNLL.cpp,
 * cross_entropy_loss_label_smoothing: (1 - eps) * nll + eps / C * sum_c(-logp), without class
 * weights or ignore_index). logits: (rows, cols) f32, labels: (rows,) i32 in [0, cols).
 * Returns scale * sum_r [(1 - eps) * (lse_r - x[r, y_r]) + eps / C * sum_c (lse_r - x[r, c])];
 * if dlogits != 0 writes dlogits: (rows, cols) = (softmax - (1 - eps) * onehot - eps / C) * scale.
 * eps = 0 takes exactly the unsmoothed arithmetic (same bits as without the option).
 */
export function cross_entropy_f32_fwd_bwd(logits: usize, labels: usize, dlogits: usize, rows: i32, cols: i32, scale: f32, label_smoothing: f32): f32 {
  let total: f64 = 0;
  const eps = label_smoothing;
  const off: f32 = eps / <f32>cols;      // target mass of every class
  const on: f32 = (1 - eps) + off;       // ... plus the rest for the labelled class
  for (let r = 0; r < rows; r++) {
    const xr = logits + (<usize>r * <usize>cols << 2);
    const label = load<i32>(labels + (<usize>r << 2));
    const lse = row_logsumexp(xr, cols);
    const nll = <f64>(lse - load<f32>(xr + (<usize>label << 2)));
    if (eps != 0) {
      let smooth: f64 = 0; // sum_c -logp[c]
      for (let c = 0; c < cols; c++) smooth += <f64>(lse - load<f32>(xr + (<usize>c << 2)));
      total += (1 - <f64>eps) * nll + <f64>eps / <f64>cols * smooth;
    } else {
      total += nll;
    }
    if (dlogits) {
      const dr = dlogits + (<usize>r * <usize>cols << 2);
      for (let c = 0; c < cols; c++) {
        const p = Mathf.exp(load<f32>(xr + (<usize>c << 2)) - lse);
        store<f32>(dr + (<usize>c << 2), (c == label ? p - on : p - off) * scale);
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
