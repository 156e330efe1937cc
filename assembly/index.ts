// The exported ABI, in one place. Every export is a pure function over (pointer, sizes) into the
// one linear memory; the host (bindings/) owns the memory plan and creates the memory itself
// (imported as env.memory, so the thread pool can hand every worker the same shared one).
export { heap_base } from "./heap";
export {
  gemm_f32_nn, gemm_f32_nt, gemm_f32_tn, gemm_f32_strided, gemm_f32_ref, gemm_f32_scratch_bytes,
} from "./gemm";
export {
  fill_f32, copy_f32, bias_f32_add, bias_f32_grad, relu_f32_fwd, relu_f32_bwd,
  find_nonfinite_f32, argmax_f32_rows,
} from "./elementwise";
export {
  softmax_f32_fwd, softmax_f32_bwd, log_softmax_f32_fwd, log_softmax_f32_bwd,
  nll_f32_fwd_bwd, cross_entropy_f32_fwd_bwd,
} from "./softmax";
export {
  sigmoid_f32_fwd, sigmoid_f32_bwd, tanh_f32_fwd, tanh_f32_bwd, leaky_relu_f32_fwd, leaky_relu_f32_bwd,
  gelu_f32_fwd, gelu_f32_bwd, dropout_f32_fwd, dropout_f32_bwd,
} from "./activations";
export { mse_f32_fwd_bwd, l1_f32_fwd_bwd, bce_f32_fwd_bwd, bce_with_logits_f32_fwd_bwd } from "./losses";
export { sgd_f32_step, adam_f32_step, rmsprop_f32_step } from "./optim";
export { im2col_f32, col2im_f32, bias_f32_add_channels, bias_f32_grad_channels } from "./conv";
export { winograd5_f32_scratch_floats, winograd5_f32_fwd } from "./winograd";
export { maxpool2d_f32_fwd, maxpool2d_f32_bwd, avgpool2d_f32_fwd, avgpool2d_f32_bwd } from "./pool";
export { batchnorm_f32_stats, batchnorm_f32_fwd, batchnorm_f32_bwd_train, batchnorm_f32_bwd_eval } from "./batchnorm";
