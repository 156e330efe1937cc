// The subpath entry simdnet/onnx: ONNX import and export. Kept apart from the main entries so that
// only code that imports it carries protobufjs; it shares their modules (Sequential, the layers,
// the errors), so a model built with `simdnet` exports here and an imported one works there.
export { importOnnx, exportOnnx, MIN_OPSET, MAX_OPSET, EXPORT_OPSET, type ImportOnnxOptions } from '../io/onnx.js';
