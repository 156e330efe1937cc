// ONNX import and export (the package subpath simdnet/onnx, bindings/entry/onnx.ts, so that the
// main entries do not carry protobufjs).
//
// importOnnx(bytes, { runtime?, inputShape? }) -> Sequential, in eval mode: a chain graph of
// Gemm, MatMul (+ Add), Conv, MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool,
// BatchNormalization, Relu, LeakyRelu, Sigmoid, Tanh, Gelu (or its Erf / Tanh formula), Softmax,
// LogSoftmax, Flatten / Reshape / Squeeze / Unsqueeze (to [N, -1]), Dropout and Identity, with the
// Shape / Gather / Unsqueeze / Concat / Constant / Cast arithmetic dynamic-batch exports add, and a
// zero Pad before Conv or AveragePool (PyTorch's count_include_pad). Anything else, an attribute
// value simdnet has no equivalent for, or a malformed file is a FormatError naming it
// (onnx-import.ts).
//
// exportOnnx(model) -> the bytes of an opset-13 .onnx file, with a dynamic batch axis
// (onnx-export.ts).

export { importOnnx, MIN_OPSET, MAX_OPSET, type ImportOnnxOptions } from './onnx-import.js';
export { exportOnnx, EXPORT_OPSET } from './onnx-export.js';
