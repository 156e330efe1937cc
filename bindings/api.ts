// simdnet's public API, the same in every environment. The package entries (index.ts for Node
// and Bun, entry/browser.ts for browsers, bundlers and Deno, entry/workerd.ts for Cloudflare
// workerd) add what differs: where init finds the wasm, and how loadMnist reads the files.
export { getRuntime, Runtime, type InitOptions, type Tier } from './runtime/load.js';
export { detectFeatures, type Features } from './runtime/features.js';
export {
  SimdnetError, ShapeError, InputError, ConfigError, NumericError, MemoryError, FormatError, StateError,
} from './errors.js';
export { Generator, manualSeed, defaultGenerator } from './random.js';
export { Tensor, tensor, type Shape, type Labels } from './tensor.js';
export { Layer } from './layers/layer.js';
export { Parameter } from './layers/parameter.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { ReLU, Softmax, LogSoftmax, Flatten } from './layers/activations.js';
export { Sigmoid, Tanh, LeakyReLU, GELU, type GELUOptions } from './layers/activations.js';
export { Dropout, type DropoutOptions } from './layers/dropout.js';
export { Conv2d, type Conv2dOptions } from './layers/conv.js';
export { MaxPool2d, AvgPool2d, type PoolOptions, type AvgPoolOptions } from './layers/pool.js';
export { BatchNorm1d, BatchNorm2d, type BatchNormOptions } from './layers/batchnorm.js';
export { Loss, NLLLoss, CrossEntropyLoss, type Reduction } from './losses/loss.js';
export { type CrossEntropyLossOptions, type LossOptions, type TargetKind, type AccuracyRule, type Targets } from './losses/loss.js';
export { DenseLoss, MSELoss, L1Loss } from './losses/regression.js';
export { BCELoss, BCEWithLogitsLoss, type BCEWithLogitsLossOptions } from './losses/binary.js';
export { Optimizer } from './optim/optimizer.js';
export { SGD, type SGDOptions } from './optim/sgd.js';
export { Adam, AdamW, AdamBase, type AdamOptions } from './optim/adam.js';
export { RMSprop, type RMSpropOptions } from './optim/rmsprop.js';
export {
  LRScheduler, StepLR, ExponentialLR, CosineAnnealingLR, ReduceLROnPlateau,
  type StepLROptions, type ExponentialLROptions, type CosineAnnealingLROptions, type ReduceLROnPlateauOptions,
} from './optim/schedulers.js';
export { Sequential, type CompileOptions, type FitOptions, type EvaluateResult } from './model/sequential.js';
export { ParameterSet } from './model/parameter-set.js';
export {
  History, ProgressBar, EarlyStopping, type Callback, type EpochLogs, type BatchLogs, type TrainInfo, type EarlyStoppingOptions,
} from './model/callbacks.js';
export { parseIdx, type IdxArray } from './data/idx.js';
export { scalePixels, type Mnist, type MnistSplit, type LoadMnistOptions } from './data/mnist.js';
export {
  TensorDataset, Subset, DataLoader, randomSplit, toArrays, type Dataset, type Batch, type DataLoaderOptions,
} from './data/dataset.js';
export * as transforms from './data/transforms.js';
export { toTensor } from './data/transforms.js';
export {
  accuracy, argmax, confusionMatrix, classificationReport, ConfusionMatrix, type ClassificationReport, type ClassScores,
} from './metrics/classification.js';
export { loadCheckpoint, type Checkpoint, type SaveOptions, type LoadOptions } from './io/checkpoint.js';
export { encodeSafetensors, decodeSafetensors, type SafetensorsFile, type SafeTensor, type TensorToWrite } from './io/safetensors.js';
export { type LayerConfig } from './layers/layer.js';
export { type Architecture } from './io/architecture.js';
