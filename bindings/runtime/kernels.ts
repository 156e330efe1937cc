// The typed view of the wasm ABI (assembly/index.ts). Pointers are byte offsets, sizes elements.

export interface Kernels {
  readonly memory: WebAssembly.Memory;
  heap_base(): number;

  gemm_f32_scratch_bytes(): number;
  /** c: (M, N) (+)= a: (M, K) . b: (K, N) */
  gemm_f32_nn(M: number, N: number, K: number, a: number, b: number, c: number, accumulate: number, scratch: number): void;
  /** c: (M, N) (+)= a: (M, K) . b^T, b: (N, K) */
  gemm_f32_nt(M: number, N: number, K: number, a: number, b: number, c: number, accumulate: number, scratch: number): void;
  /** c: (M, N) (+)= a^T . b, a: (K, M), b: (K, N) */
  gemm_f32_tn(M: number, N: number, K: number, a: number, b: number, c: number, accumulate: number, scratch: number): void;
  /** c: (M, N), rows ldc apart, (+)= op(a) . op(b) with leading dimensions (assembly/gemm.ts); trans 0 / 1. */
  gemm_f32_strided(M: number, N: number, K: number, a: number, lda: number, transA: number, b: number, ldb: number,
    transB: number, c: number, ldc: number, accumulate: number, scratch: number): void;
  gemm_f32_ref(M: number, N: number, K: number, a: number, transA: number, b: number, transB: number, c: number, accumulate: number): void;

  fill_f32(p: number, n: number, value: number): void;
  copy_f32(dst: number, src: number, n: number): void;
  bias_f32_add(y: number, bias: number, rows: number, cols: number): void;
  bias_f32_grad(dy: number, dbias: number, rows: number, cols: number, accumulate: number): void;
  relu_f32_fwd(x: number, y: number, n: number): void;
  relu_f32_bwd(y: number, dy: number, dx: number, n: number): void;
  find_nonfinite_f32(p: number, n: number): number;
  argmax_f32_rows(x: number, out: number, rows: number, cols: number): void;

  softmax_f32_fwd(x: number, y: number, rows: number, cols: number): void;
  softmax_f32_bwd(y: number, dy: number, dx: number, rows: number, cols: number): void;
  log_softmax_f32_fwd(x: number, y: number, rows: number, cols: number): void;
  log_softmax_f32_bwd(y: number, dy: number, dx: number, rows: number, cols: number): void;
  nll_f32_fwd_bwd(logp: number, labels: number, dlogp: number, rows: number, cols: number, scale: number): number;
  /** labelSmoothing in [0, 1] (PyTorch's label_smoothing; 0 = plain cross-entropy). */
  cross_entropy_f32_fwd_bwd(logits: number, labels: number, dlogits: number, rows: number, cols: number, scale: number,
    labelSmoothing: number): number;
  /** Dense-target losses: out, target, dout (n,) f32; scale 1/n ('mean') or 1 ('sum'); dout 0 = loss only. */
  mse_f32_fwd_bwd(out: number, target: number, dout: number, n: number, scale: number): number;
  l1_f32_fwd_bwd(out: number, target: number, dout: number, n: number, scale: number): number;
  bce_f32_fwd_bwd(out: number, target: number, dout: number, n: number, scale: number): number;
  /** x, target, dout: (n / cols, cols) f32; posWeight: (cols,) f32 or 0 for none. */
  bce_with_logits_f32_fwd_bwd(x: number, target: number, posWeight: number, dout: number, n: number, cols: number, scale: number): number;

  /** Pointwise activations (assembly/activations.ts): x, y, dy, dx (n,) f32; y may alias x, dx may alias dy. */
  sigmoid_f32_fwd(x: number, y: number, n: number): void;
  sigmoid_f32_bwd(y: number, dy: number, dx: number, n: number): void;
  tanh_f32_fwd(x: number, y: number, n: number): void;
  tanh_f32_bwd(y: number, dy: number, dx: number, n: number): void;
  leaky_relu_f32_fwd(x: number, y: number, n: number, slope: number): void;
  leaky_relu_f32_bwd(x: number, dy: number, dx: number, n: number, slope: number): void;
  /** approximate: 0 exact (erf), 1 tanh. */
  gelu_f32_fwd(x: number, y: number, n: number, approximate: number): void;
  gelu_f32_bwd(x: number, dy: number, dx: number, n: number, approximate: number): void;
  /** mask (n,) f32 <- 0 or 1 / (1 - p), drawn from xoshiro128** seeded by seed (u32) as Generator(seed); y = x * mask. */
  dropout_f32_fwd(x: number, y: number, mask: number, n: number, p: number, seed: number): void;
  dropout_f32_bwd(dy: number, mask: number, dx: number, n: number): void;

  sgd_f32_step(param: number, grad: number, buf: number, n: number, lr: number, momentum: number,
    dampening: number, weightDecay: number, nesterov: number, first: number): void;
  /** Adam / AdamW step; vmax = 0 unless amsgrad; stepSize = lr / (1 - beta1^t), bc2Sqrt = sqrt(1 - beta2^t). */
  adam_f32_step(param: number, grad: number, m: number, v: number, vmax: number, n: number, lr: number,
    beta1: number, beta2: number, eps: number, weightDecay: number, stepSize: number, bc2Sqrt: number,
    decoupled: number): void;
  /** RMSprop step; ga = 0 unless centered, buf = 0 unless momentum > 0. */
  rmsprop_f32_step(param: number, grad: number, sq: number, ga: number, buf: number, n: number, lr: number,
    alpha: number, eps: number, weightDecay: number, momentum: number): void;

  /** Conv2d (assembly/conv.ts): x, dx (C, H, W) one sample; col (C*KH*KW, OH*OW); padding reads 0. */
  im2col_f32(x: number, C: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
    PH: number, PW: number, DH: number, DW: number, OH: number, OW: number, col: number): void;
  /** The adjoint of im2col_f32: dx += col scattered back (padding taps dropped); the caller zeroes dx. */
  col2im_f32(col: number, C: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
    PH: number, PW: number, DH: number, DW: number, OH: number, OW: number, dx: number): void;
  /** y: (N, C, S) += b: (C,) per channel. */
  bias_f32_add_channels(y: number, b: number, N: number, C: number, S: number): void;
  /** db: (C,) (+)= sums of dy: (N, C, S) over n and s; accumulate 0 overwrite, 1 add. */
  bias_f32_grad_channels(dy: number, db: number, N: number, C: number, S: number, accumulate: number): void;
  /** Floats of scratch winograd5_f32_fwd needs for these sizes (assembly/winograd.ts); 0 when the output is empty. */
  winograd5_f32_scratch_floats(N: number, C: number, OC: number, H: number, W: number, PH: number, PW: number): number;
  /** 5x5 stride-1 Conv2d forward by Winograd F(2x2, 5x5): x (N, C, H, W), w (OC, C, 5, 5), b (OC,) or 0,
   *  y (N, OC, OH, OW) written, OH = H + 2*PH - 4, OW = W + 2*PW - 4; scratch: winograd5_f32_scratch_floats floats. */
  winograd5_f32_fwd(x: number, N: number, C: number, H: number, W: number, w: number, b: number, OC: number,
    PH: number, PW: number, OH: number, OW: number, y: number, scratch: number): void;
  /** MaxPool2d (assembly/pool.ts): x, dx (P, H, W) with P = N*C planes; y, dy (P, OH, OW); arg (P, OH, OW) i32 = h*W + w of the max. */
  maxpool2d_f32_fwd(x: number, P: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
    PH: number, PW: number, OH: number, OW: number, y: number, arg: number): void;
  /** dx = 0, then dx[p, arg] += dy (writes all of dx). */
  maxpool2d_f32_bwd(dy: number, arg: number, P: number, H: number, W: number, OH: number, OW: number, dx: number): void;
  /** AvgPool2d: countIncludePad 0 / 1 picks PyTorch's divisor. */
  avgpool2d_f32_fwd(x: number, P: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
    PH: number, PW: number, OH: number, OW: number, countIncludePad: number, y: number): void;
  /** dx = 0, then each dy / divisor added over its window (writes all of dx). */
  avgpool2d_f32_bwd(dy: number, P: number, H: number, W: number, KH: number, KW: number, SH: number, SW: number,
    PH: number, PW: number, OH: number, OW: number, countIncludePad: number, dx: number): void;
  // BatchNorm1d/2d (assembly/batchnorm.ts): x, y, dy, dx (N, C, S), S = H*W (2d) or L or 1 (1d); per-channel (C,) vectors.
  /** mean, variance <- per-channel mean and biased variance (divide by N*S), reduced in f64. */
  batchnorm_f32_stats(x: number, N: number, C: number, S: number, mean: number, variance: number): void;
  /** y = (x - mean) * invstd * gamma + beta; gamma 0 = ones, beta 0 = zeros; y may alias x. */
  batchnorm_f32_fwd(x: number, N: number, C: number, S: number, mean: number, invstd: number, gamma: number,
    beta: number, y: number): void;
  /** Batch-statistics backward: dx written (0 = skip), dgamma / dbeta accumulated (0 = skip); dx may alias dy. */
  batchnorm_f32_bwd_train(x: number, dy: number, N: number, C: number, S: number, mean: number, invstd: number,
    gamma: number, dx: number, dgamma: number, dbeta: number): void;
  /** Running-statistics backward: dx = dy * gamma * invstd written, dgamma / dbeta accumulated; 0 = skip. */
  batchnorm_f32_bwd_eval(x: number, dy: number, N: number, C: number, S: number, mean: number, invstd: number,
    gamma: number, dx: number, dgamma: number, dbeta: number): void;
}

/**
 * Every function the ABI above declares: the manifest a module must export to be simdnet's.
 * (The type checks below fail to compile when the list and the interface drift apart.)
 */
export const KERNEL_FUNCTIONS = [
  'heap_base', 'gemm_f32_scratch_bytes', 'gemm_f32_nn', 'gemm_f32_nt', 'gemm_f32_tn', 'gemm_f32_strided', 'gemm_f32_ref',
  'fill_f32', 'copy_f32', 'bias_f32_add', 'bias_f32_grad', 'relu_f32_fwd', 'relu_f32_bwd', 'find_nonfinite_f32',
  'argmax_f32_rows', 'softmax_f32_fwd', 'softmax_f32_bwd', 'log_softmax_f32_fwd', 'log_softmax_f32_bwd',
  'nll_f32_fwd_bwd', 'cross_entropy_f32_fwd_bwd', 'mse_f32_fwd_bwd', 'l1_f32_fwd_bwd', 'bce_f32_fwd_bwd',
  'bce_with_logits_f32_fwd_bwd', 'sigmoid_f32_fwd', 'sigmoid_f32_bwd', 'tanh_f32_fwd', 'tanh_f32_bwd',
  'leaky_relu_f32_fwd', 'leaky_relu_f32_bwd', 'gelu_f32_fwd', 'gelu_f32_bwd', 'dropout_f32_fwd', 'dropout_f32_bwd',
  'sgd_f32_step', 'adam_f32_step', 'rmsprop_f32_step', 'im2col_f32', 'col2im_f32', 'bias_f32_add_channels',
  'bias_f32_grad_channels', 'winograd5_f32_scratch_floats', 'winograd5_f32_fwd', 'maxpool2d_f32_fwd',
  'maxpool2d_f32_bwd', 'avgpool2d_f32_fwd', 'avgpool2d_f32_bwd', 'batchnorm_f32_stats', 'batchnorm_f32_fwd',
  'batchnorm_f32_bwd_train', 'batchnorm_f32_bwd_eval',
] as const satisfies readonly Exclude<keyof Kernels, 'memory'>[];

type Unlisted = Exclude<Exclude<keyof Kernels, 'memory'>, typeof KERNEL_FUNCTIONS[number]>;
const everyKernelListed: [Unlisted] extends [never] ? true : Unlisted = true;
void everyKernelListed;
