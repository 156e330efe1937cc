// Sequential: a stack of layers with a fixed memory plan.
//
// Memory: parameters and gradients sit in two slabs (ParameterSet); non-trained buffers in a
// third. Activations live in arenas planned from the layer shapes:
//   - the training arena: every layer's input and output, their gradients, per-layer workspaces
//     (dropout masks, pooling indices) and the batch's targets, for up to `capacity` samples. A
//     training step is then a fixed list of kernel calls on fixed pointers: no allocation.
//   - the inference arena (predict, evaluate, validation): no gradients, no workspaces, two
//     ping-pong activation buffers, pointwise layers in place. It borrows the training arena's
//     block when that is large enough and holds nothing a backward() still needs; otherwise it
//     has a block of its own.
//
// Safety (see DESIGN.md, "Ownership and lifetime"):
//   - While fit runs (it awaits between epochs), calls that would re-plan or overwrite the
//     training arena (fit, forward, backward, add, compile) are refused with a StateError;
//     predict and evaluate stay allowed (callbacks use them) because they never touch it.
//   - dispose() frees everything at once; every handle then refuses, and a running fit stops
//     with a StateError at its next step.
//   - Every call validates everything first and allocates through heap transactions, so a
//     failing call leaves the model as it was.
//
// Two ways to train, as in the course material:
//   Keras:   model.compile({ loss, optimizer }); await model.fit(x, y, { epochs, batchSize })
//   PyTorch: out = model.forward(x); loss = lossFn.forward(out, y); model.zeroGrad();
//            model.backward(lossFn.backward()); optimizer.step()

import { getRuntime, Runtime } from '../runtime/load.js';
import { ConfigError, InputError, NumericError, ShapeError, StateError, describe } from '../errors.js';
import { Layer } from '../layers/layer.js';
import type { Parameter } from '../layers/parameter.js';
import { ParameterSet } from './parameter-set.js';
import { Loss, NLLLoss, CrossEntropyLoss, type Targets } from '../losses/loss.js';
import { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import { Generator, defaultGenerator, checkGenerator } from '../random.js';
import {
  Tensor, assertFinite, checkShape, formatShape, readTensor, sameShape, sizeOf, toFloat32, trustedTensor, type Shape,
} from '../tensor.js';
import { checkFlag, checkHyper, checkInteger, checkOptions } from '../options.js';
import { privateF32 } from '../memory/view.js';
import type { Callback, EpochLogs, BatchLogs } from './callbacks.js';
import { loadModel, loadWeights as loadWeightsInto, saveModel, type LoadOptions, type SaveOptions } from '../io/checkpoint.js';
import { History } from './callbacks.js';

export interface SequentialOptions {
  /** Per-sample input shape, e.g. [784] or [1, 28, 28]; taken from the first layer when it fixes one. */
  inputShape?: Shape;
  runtime?: Runtime;
}

export interface CompileOptions {
  loss: Loss | 'nll' | 'cross_entropy';
  /** An optimizer made over model.parameters(), or 'sgd' (lr 0.01). */
  optimizer: Optimizer | 'sgd';
  metrics?: 'accuracy'[];
}

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  /** Reshuffle the training samples before every epoch (default true). */
  shuffle?: boolean;
  /** Seeds the shuffling; otherwise `generator`, otherwise the default generator (see manualSeed). */
  seed?: number;
  /** The generator that shuffles (its state moves on); to resume a run exactly, the one a checkpoint restored. */
  generator?: Generator;
  /**
   * The epoch to start at (Keras's initial_epoch): training runs epochs initialEpoch .. epochs-1.
   * With `seed`, the shuffles of the skipped epochs are drawn and discarded, so a run resumed from
   * a checkpoint of epoch k shuffles as the uninterrupted run did.
   */
  initialEpoch?: number;
  /** Drop the last batch of each epoch when it is smaller than batchSize (PyTorch's drop_last). */
  dropLast?: boolean;
  /** Fraction of the samples, taken from the end before shuffling, held out for validation. */
  validationSplit?: number;
  validationData?: [Tensor | Float32Array, Targets];
  callbacks?: Callback[];
}

export interface EvaluateResult {
  loss: number;
  accuracy: number;
}

export interface MemoryBytesOptions {
  /** The batch size to plan for. */
  batchSize: number;
  /** true: what fit / forward / backward hold; false (default): what predict / evaluate hold. */
  training?: boolean;
}

const SEQUENTIAL_OPTIONS = ['inputShape', 'runtime'] as const;

/**
 * The model each layer belongs to. Layers keep per-forward state (a dropout mask flag, pooling
 * indices), so a layer in two live models would have one model's backward read the other's; a
 * layer of a disposed model may join a new one when it holds no wasm memory.
 */
const owners = new WeakMap<Layer, Sequential>();
const COMPILE_OPTIONS = ['loss', 'optimizer', 'metrics'] as const;
const FIT_OPTIONS = ['epochs', 'batchSize', 'shuffle', 'seed', 'generator', 'initialEpoch', 'dropLast', 'validationSplit', 'validationData', 'callbacks'] as const;
const CALLBACK_HOOKS = ['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd'] as const;

/** Byte offsets of one arena's buffers (see the file comment). */
interface Arena {
  /** The heap block the offsets lie in. */
  block: number;
  /** Whether this arena owns `block` (else it borrows the training arena's). */
  owned: boolean;
  capacity: number;
  /** act[i]: input of layer i (act[L] is the output); grad[i] the gradient at act[i] (0 if unused). */
  act: number[];
  grad: number[];
  /** ws[i]: layer i's workspace (e.g. a dropout mask), 0 when it needs none. */
  ws: number[];
  /** Scratch shared by all layers (an im2col buffer): the largest any layer asks for, 0 if none. */
  scratch: number;
  /** Targets of the batch: (capacity,) i32 labels or (capacity, width) f32 values. */
  targets: number;
  predicted: number;
  /** Output-width floats of scratch for the loss's constants (BCEWithLogitsLoss's posWeight). */
  aux: number;
  /** Bytes from block to the end of the last buffer. */
  bytes: number;
}

/** Validated targets: `width` 32-bit values per sample (1 class label, or one value per output). */
interface TargetSet {
  data: Int32Array | Float32Array;
  width: number;
}

/** Samples as a flat Float32Array plus their count, after shape checks. */
interface Samples {
  data: Float32Array;
  count: number;
  /** Floats per sample. */
  size: number;
  /** The layer shapes these samples imply (the model's, or new ones to adopt on success). */
  shapes: Shape[];
  /** Set when the values are not checked yet: each batch is checked as it is copied in, naming x by this. */
  what: string | null;
}

export class Sequential {
  readonly #rt: Runtime;
  #layers: Layer[] = [];
  readonly #slab: ParameterSet;
  /** Non-trained layer state (BatchNorm's running statistics), in a slab of its own. */
  readonly #bufferSlab: ParameterSet;
  #inShape: Shape | null = null;
  /** shapes[i] is the per-sample input shape of layer i; shapes[L] the output shape. */
  #shapes: Shape[] | null = null;
  #train: Arena | null = null;
  #infer: Arena | null = null;
  #borrowed: Arena | null = null;
  /** Batch size of the last explicit forward() whose activations backward() may use; 0 for none. */
  #held = 0;
  #compiled: { loss: Loss; optimizer: Optimizer; metrics: string[] } | null = null;
  #isTraining = true;
  /** What is running on the model right now ('fit'), refusing calls that would disturb it. */
  #busy: string | null = null;
  #disposed = false;
  /** Proves to the model's ParameterSets that a layout change or dispose comes from the model. */
  readonly #key = {};

  constructor(layers: Layer[] = [], options: SequentialOptions = {}) {
    checkOptions('Sequential', options, SEQUENTIAL_OPTIONS);
    if (!Array.isArray(layers)) throw new ConfigError(`Sequential: layers must be an array of layers, got ${describe(layers)}`);
    const runtime = options?.runtime;
    if (runtime !== undefined && !(runtime instanceof Runtime)) {
      throw new ConfigError(`Sequential: runtime must be a Runtime (from init or createRuntime), got ${describe(runtime)}`);
    }
    this.#rt = runtime ?? getRuntime();
    if (options?.inputShape !== undefined) {
      const shape = checkShape(options.inputShape, 'Sequential inputShape');
      if (shape.length === 0 || shape.some((d) => d < 1)) {
        throw new ShapeError(`Sequential: inputShape must have positive sizes, got ${formatShape(shape)}`);
      }
      this.#inShape = shape;
    }
    this.#slab = new ParameterSet(this.#rt, { owner: this.#key });
    this.#bufferSlab = new ParameterSet(this.#rt, { gradients: false, owner: this.#key });
    if (this.#inShape) this.#shapes = [this.#inShape];
    this.#append(layers);
  }

  /** The runtime whose memory holds this model. */
  get rt(): Runtime { return this.#rt; }

  /** The layers, in order: a copy (as Keras's model.layers), so add() is the way to change them. */
  get layers(): Layer[] { return [...this.#layers]; }

  /** True after dispose(). */
  get disposed(): boolean { return this.#disposed; }

  /** Appends a layer, checking at once that it accepts the previous layer's output shape. */
  add(layer: Layer): this {
    this.#assertIdle('add');
    this.#append([layer]);
    return this;
  }

  /** The parameter slab, for optimizers: new SGD(model.parameters(), { lr }). */
  parameters(): ParameterSet {
    this.#assertLive('parameters');
    return this.#slab;
  }

  /**
   * The trainable parameters by PyTorch's names ("0.weight", "0.bias", ...), in PyTorch's order, as
   * nn.Module.named_parameters(): each Parameter's data and grad are live views.
   */
  namedParameters(): [string, Parameter][] {
    this.#assertLive('namedParameters');
    return this.#layers.flatMap((l, i) => l.params.map((p): [string, Parameter] => [`${i}.${p.name}`, p]));
  }

  /** Per-sample input and output shapes, once known. */
  get inputShape(): Shape | null { return this.#inShape; }
  get outputShape(): Shape | null { return this.#shapes ? this.#shapes[this.#shapes.length - 1] : null; }

  train(mode = true): this {
    this.#assertLive('train');
    checkFlag('train', 'mode', mode);
    this.#isTraining = mode;
    for (const l of this.#layers) l.training = mode;
    return this;
  }

  eval(): this { return this.train(false); }

  get training(): boolean { return this.#isTraining; }

  compile(options: CompileOptions): this {
    this.#assertIdle('compile');
    if (options === undefined) throw new ConfigError('compile: options { loss, optimizer } are required');
    checkOptions('compile', options, COMPILE_OPTIONS);
    const loss = options.loss === 'nll' ? new NLLLoss()
      : options.loss === 'cross_entropy' ? new CrossEntropyLoss()
      : options.loss;
    if (!(loss instanceof Loss)) throw new ConfigError(`compile: loss must be a Loss, 'nll' or 'cross_entropy', got ${describe(options.loss)}`);
    if (loss.disposed) throw new StateError(`compile: ${loss} was disposed`);
    const metrics = options.metrics ?? ['accuracy'];
    if (!Array.isArray(metrics)) throw new ConfigError(`compile: metrics must be an array, got ${describe(metrics)}`);
    for (const m of metrics) {
      if (m !== 'accuracy') throw new ConfigError(`compile: unknown metric ${describe(m)} (supported: 'accuracy')`);
    }
    if (options.optimizer !== 'sgd' && !(options.optimizer instanceof Optimizer)) {
      throw new ConfigError(`compile: optimizer must be an Optimizer or 'sgd', got ${describe(options.optimizer)}`);
    }
    if (options.optimizer instanceof Optimizer) {
      if (options.optimizer.params !== this.#slab) throw new ConfigError('compile: the optimizer was made for another model\'s parameters');
      options.optimizer.assertLive();
    }
    const optimizer = options.optimizer === 'sgd' ? new SGD(this, { lr: 0.01 }) : options.optimizer;
    this.#compiled = { loss, optimizer, metrics: [...metrics] };
    return this;
  }

  /** Trains with the compiled loss and optimizer; returns the per-epoch history. */
  async fit(x: Tensor | Float32Array, y: Targets, options: FitOptions = {}): Promise<History> {
    this.#assertIdle('fit');
    if (!this.#compiled) throw new StateError('fit() called before compile(): call model.compile({ loss, optimizer }) first');
    const { loss, optimizer } = this.#compiled;
    const o = checkFitOptions(options);
    optimizer.assertLive();
    if (loss.disposed) throw new StateError(`fit: ${loss} was disposed`);

    // everything that can be checked is checked before the first step
    const all = this.#samples(x, 'fit: x', true);
    let targets = this.#targets(loss, y, all.count, all.shapes);
    let train: Samples = all;
    let validation: { x: Samples; y: TargetSet } | null = null;
    if (o.validationData) {
      const [vx, vy] = o.validationData;
      const vs = this.#samples(vx, 'fit: validationData x', true, all.shapes);
      validation = { x: vs, y: this.#targets(loss, vy, vs.count, all.shapes) };
    } else if (o.validationSplit !== undefined) {
      const split = o.validationSplit;
      const nVal = Math.floor(all.count * split);
      const nTrain = all.count - nVal;
      if (nVal < 1 || nTrain < 1) throw new InputError(`fit: validationSplit ${split} of ${all.count} samples leaves an empty part`);
      const d = all.size, w = targets.width;
      train = { ...all, data: all.data.subarray(0, nTrain * d), count: nTrain };
      validation = { x: { ...all, data: all.data.subarray(nTrain * d), count: nVal }, y: { data: targets.data.subarray(nTrain * w), width: w } };
      targets = { data: targets.data.subarray(0, nTrain * w), width: w };
    }
    if (o.dropLast && train.count < o.batchSize) {
      throw new InputError(`fit: dropLast with ${train.count} samples and batches of ${o.batchSize} leaves no batch`);
    }
    const batchSize = Math.min(o.batchSize, train.count);
    const steps = o.dropLast ? Math.floor(train.count / batchSize) : Math.ceil(train.count / batchSize);
    const lastBatch = o.dropLast ? batchSize : train.count - (steps - 1) * batchSize;
    const shapes = all.shapes;
    this.#layers.forEach((l, i) => {
      for (const b of new Set([batchSize, lastBatch])) {
        try {
          l.checkTrainingBatch(b, shapes[i]);
        } catch (e) {
          if (!(e instanceof InputError)) throw e;
          throw new InputError(`fit: ${train.count} samples in batches of ${o.batchSize} give a batch of ${b}, ` +
            `and ${e.message}; choose another batchSize`, { cause: e });
        }
      }
    });

    // Input shapes implied by x are adopted tentatively: a fit that fails before its first step
    // leaves a model without a shape as it found it. So is the mode: fit trains, then puts back
    // the mode the caller had set (train() or eval()).
    const shapesBefore = this.#shapes === shapes ? null : { inShape: this.#inShape, shapes: this.#shapes };
    const modeBefore = this.#isTraining;
    let stepped = false;
    this.#adoptShapes(shapes);
    const gen = o.seed !== undefined ? new Generator(o.seed) : o.generator ?? defaultGenerator;
    const order = new Int32Array(train.count);
    for (let i = 0; i < train.count; i++) order[i] = i;
    // a seeded run resumed at epoch k shuffles as the run that did not stop: draw the skipped shuffles
    if (o.seed !== undefined && o.shuffle) for (let e = 0; e < o.initialEpoch; e++) gen.permutation(train.count, order);
    const callbacks = o.callbacks;
    const history = new History();
    let plan: Arena;
    this.#busy = 'fit';
    try {
      // the plans, before anything changes; validation borrows the training arena when it fits
      plan = this.#ensureTrain(batchSize);
      this.#held = 0;
      const validationBatch = validation ? Math.min(batchSize, validation.x.count) : 0;
      if (validation) this.#inference(validationBatch, 0);
      for (const cb of callbacks) await cb.onTrainBegin?.({ epochs: o.epochs, steps, samples: train.count, validation: validation !== null, model: this });
      this.#checkFitGoesOn(0, 0, loss, optimizer);
      this.#setMode(true);
      for (let epoch = o.initialEpoch; epoch < o.epochs; epoch++) {
        if (o.shuffle) gen.permutation(train.count, order);
        for (const cb of callbacks) await cb.onEpochBegin?.(epoch);
        this.#checkFitGoesOn(epoch, 0, loss, optimizer);
        const started = performance.now();
        let lossSum = 0, correct = 0, seen = 0;
        for (let step = 0; step < steps; step++) {
          const begin = step * batchSize;
          const batch = Math.min(batchSize, train.count - begin);
          this.#gather(plan, train, targets, order, begin, batch);
          const value = this.#trainStep(plan, batch, loss, optimizer, epoch, step);
          stepped = true;
          lossSum += value * (loss.reduction === 'mean' ? batch : 1);
          correct += this.#countCorrect(plan, batch, loss, targets.width);
          seen += batch;
          if (callbacks.length) {
            const logs: BatchLogs = { batch: step, size: batch, loss: lossSum / seen, accuracy: correct / seen };
            for (const cb of callbacks) cb.onBatchEnd?.(step, logs);
            this.#checkFitGoesOn(epoch, step + 1, loss, optimizer);
          }
        }
        const logs: EpochLogs = { loss: lossSum / seen, accuracy: correct / seen, seconds: (performance.now() - started) / 1000 };
        if (validation) {
          const v = this.#evaluateSamples(validation.x, validation.y, validationBatch, loss);
          logs.val_loss = v.loss;
          logs.val_accuracy = v.accuracy;
        }
        history.record(epoch, logs);
        let stop = false;
        for (const cb of callbacks) if ((await cb.onEpochEnd?.(epoch, logs)) === false) stop = true;
        this.#checkFitGoesOn(epoch, steps, loss, optimizer);
        if (stop) break;
        await yieldToEventLoop();
        this.#checkFitGoesOn(epoch, steps, loss, optimizer);
      }
      for (const cb of callbacks) await cb.onTrainEnd?.(history);
    } catch (e) {
      if (!stepped && shapesBefore && !this.#disposed) this.#restoreShapes(shapesBefore);
      throw e;
    } finally {
      this.#busy = null;
      if (!this.#disposed) this.#setMode(modeBefore);
    }
    return history;
  }

  /** Mean loss (with the compiled loss) and accuracy over all samples. */
  evaluate(x: Tensor | Float32Array, y: Targets, options: { batchSize?: number } = {}): EvaluateResult {
    this.#assertLive('evaluate');
    if (!this.#compiled) throw new StateError('evaluate() called before compile(): the model has no loss yet');
    const batchSize = checkBatchOption('evaluate', options);
    const s = this.#samples(x, 'evaluate: x', false);
    const targets = this.#targets(this.#compiled.loss, y, s.count, s.shapes);
    const loss = this.#compiled.loss;
    return this.#tentatively(s.shapes, () => this.#evaluateSamples(s, targets, Math.min(batchSize, s.count), loss));
  }

  /** Outputs for all samples, in inference mode, as a tensor the caller owns. */
  predict(x: Tensor | Float32Array, options: { batchSize?: number } = {}): Tensor {
    this.#assertLive('predict');
    const batchSize = checkBatchOption('predict', options);
    const s = this.#samples(x, 'predict: x', false);
    return this.#tentatively(s.shapes, () => this.#predictSamples(s, batchSize));
  }

  #predictSamples(s: Samples, batchSize: number): Tensor {
    const outShape = this.#outShape();
    const outSize = sizeOf(outShape);
    const result = new Float32Array(s.count * outSize);
    const plan = this.#inference(Math.min(batchSize, s.count), this.#held);
    const L = this.#layers.length;
    for (let begin = 0; begin < s.count; begin += plan.capacity) {
      const batch = Math.min(plan.capacity, s.count - begin);
      this.#load(plan, s, begin, batch);
      this.#runForward(plan, batch, false, false, false);
      const at = plan.act[L] >>> 2;
      result.set(this.#rt.heap.f32.subarray(at, at + batch * outSize), begin * outSize);
    }
    return trustedTensor(result, [s.count, ...outShape]);
  }

  /** Explicit loop: runs the layers on x in the current mode (train() / eval()); returns a copy of the output. */
  forward(x: Tensor | Float32Array): Tensor {
    this.#assertIdle('forward');
    const s = this.#samples(x, 'forward: x', true);
    if (this.#isTraining) this.#layers.forEach((l, i) => l.checkTrainingBatch(s.count, s.shapes[i]));
    return this.#tentatively(s.shapes, () => {
      const plan = this.#ensureTrain(s.count);
      // the arena is overwritten from here: the previous forward's activations are gone
      this.#held = 0;
      this.#load(plan, s, 0, s.count);
      this.#runForward(plan, s.count, this.#isTraining, true, true);
      this.#held = s.count;
      const outShape = this.#outShape();
      const at = plan.act[this.#layers.length] >>> 2;
      return trustedTensor(this.#rt.heap.f32.slice(at, at + s.count * sizeOf(outShape)), [s.count, ...outShape]);
    });
  }

  /** Explicit loop: backpropagates dOut (the gradient of the last forward's output), accumulating into .grad. */
  backward(dOut: Tensor): void {
    this.#assertIdle('backward');
    const g = readTensor(dOut, 'backward: the gradient');
    const plan = this.#train;
    if (!plan || this.#held === 0) {
      throw new StateError('backward() called before forward(): it needs the activations of a forward() call ' +
        '(fit and adding layers discard them)');
    }
    const want = [this.#held, ...this.#outShape()];
    if (!sameShape(g.shape, want)) {
      throw new ShapeError(`backward: gradient of shape ${formatShape(g.shape)} does not match the last output ${formatShape(want)}`);
    }
    const grad = privateF32(g.data, this.#rt.kernels.memory.buffer)!;
    assertFinite(grad, 'backward: gradient');
    this.#rt.heap.f32.set(grad, plan.grad[this.#layers.length] >>> 2);
    this.#runBackward(plan, this.#held);
  }

  zeroGrad(): void {
    this.#assertLive('zeroGrad');
    this.#slab.zeroGrad();
  }

  /**
   * Copies of all parameters and persistent buffers (BatchNorm's running statistics), named as
   * PyTorch's state_dict of the same nn.Sequential ("0.weight", "1.running_mean", ...).
   */
  stateDict(): Record<string, Tensor> {
    this.#assertLive('stateDict');
    const dict: Record<string, Tensor> = {};
    for (const [name, p] of this.#namedState()) dict[name] = trustedTensor(p.view().slice(), p.shape);
    return dict;
  }

  /**
   * Overwrites parameters and persistent buffers from a state dict ({ name: { data, shape } }),
   * all or nothing: every entry is checked (names, shapes, values finite as float32) first.
   */
  loadStateDict(dict: Record<string, { data: ArrayLike<number>; shape: Shape }>): void {
    this.#assertLive('loadStateDict');
    if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) {
      throw new InputError(`loadStateDict: expected an object of tensors by name (as stateDict() returns), got ${describe(dict)}`);
    }
    const expected = this.#namedState();
    const values = new Map<Parameter, Float32Array>();
    for (const [name, p] of expected) {
      const t = (dict as Record<string, unknown>)[name];
      if (t === undefined) throw new ShapeError(`loadStateDict: missing parameter '${name}'`);
      if (t === null || typeof t !== 'object') throw new InputError(`loadStateDict: '${name}' must be a tensor ({ data, shape }), got ${describe(t)}`);
      const { data, shape } = t as { data: unknown; shape: unknown };
      let dims: Shape;
      try {
        dims = checkShape(shape, `loadStateDict: '${name}'`);
      } catch (e) {
        throw new InputError(`loadStateDict: '${name}' has no valid shape (${(e as Error).message})`, { cause: e });
      }
      let converted: Float32Array;
      try {
        converted = privateF32(toFloat32(data, `loadStateDict: '${name}' data`))!.slice();
      } catch (e) {
        if (e instanceof StateError) throw e;   // a view of a disposed model
        throw new InputError(`loadStateDict: '${name}' data is not an array of numbers (${(e as Error).message})`, { cause: e });
      }
      if (!sameShape(dims, p.shape)) {
        throw new ShapeError(`loadStateDict: '${name}' has shape ${formatShape(dims)}, the model needs ${formatShape(p.shape)}`);
      }
      if (converted.length !== p.size) {
        throw new ShapeError(`loadStateDict: '${name}' has ${converted.length} values for its shape ${formatShape(dims)} (${p.size})`);
      }
      // check the float32 values: 1e39 is finite as a double but Infinity once stored
      for (let i = 0; i < converted.length; i++) {
        if (!Number.isFinite(converted[i])) {
          const original = (data as ArrayLike<number>)[i];
          throw new InputError(`loadStateDict: '${name}' contains ${original} at index ${i}` +
            (Number.isFinite(original) ? ', which overflows float32' : '') + ': values must be finite');
        }
      }
      if (p.name === 'num_batches_tracked' && !(Number.isInteger(converted[0]) && converted[0] >= 0)) {
        throw new InputError(`loadStateDict: '${name}' must be a non-negative integer, got ${converted[0]}`);
      }
      values.set(p, converted);
    }
    for (const name of Object.keys(dict)) {
      if (!expected.has(name)) throw new ShapeError(`loadStateDict: unexpected parameter '${name}'`);
    }
    for (const [p, v] of values) p.view().set(v);
  }

  /** Number of trainable values. */
  get parameterCount(): number { return this.#slab.count; }

  /** A PyTorch-like description with shapes and parameter counts. */
  summary(): string {
    this.#assertLive('summary');
    const lines = ['Sequential('];
    this.#layers.forEach((l, i) => {
      const shape = this.#shapes && this.#shapes.length > i + 1 ? ` -> ${formatShape(this.#shapes[i + 1])}` : '';
      const n = l.params.reduce((s, p) => s + p.size, 0);
      lines.push(`  (${i}): ${l}${shape}${n ? `  [${n} params]` : ''}`);
    });
    lines.push(`)  total parameters: ${this.parameterCount}`);
    return lines.join('\n');
  }

  /**
   * Bytes of wasm memory the model holds: without options, what it holds now (slabs and arenas);
   * with { batchSize, training }, what it will hold at most for calls with that batch size,
   * before anything is allocated (training: fit / forward / backward; else predict / evaluate).
   * An optimizer's state is the optimizer's (optimizer.memoryBytes); the runtime's GEMM scratch
   * is shared by all models.
   */
  memoryBytes(options?: MemoryBytesOptions): number {
    this.#assertLive('memoryBytes');
    const slabs = ParameterSet.bytesFor(this.#slab.params, true) + ParameterSet.bytesFor(this.#bufferSlab.params, false);
    if (options === undefined) {
      const heap = this.#rt.heap;
      return slabs + (this.#train ? heap.blockBytes(this.#train.block) : 0) + (this.#infer ? heap.blockBytes(this.#infer.block) : 0);
    }
    checkOptions('memoryBytes', options, ['batchSize', 'training']);
    checkInteger('memoryBytes', 'batchSize', options.batchSize, 1);
    const training = options.training ?? false;
    checkFlag('memoryBytes', 'training', training);
    if (!this.#shapes || this.#shapes.length !== this.#layers.length + 1 || this.#layers.length === 0) {
      throw new StateError('memoryBytes: the model\'s input shape is not known yet (give it inputShape, or a first layer that fixes one)');
    }
    const arena = training ? this.#trainLayout(0, options.batchSize, this.#shapes) : this.#inferLayout(0, options.batchSize, this.#shapes);
    return slabs + alignUp(arena.bytes);
  }

  /**
   * The model as the bytes of a safetensors file: its state_dict under PyTorch's names (PyTorch's
   * load_state_dict takes it), with the architecture in the metadata; with an optimizer (and
   * scheduler, epoch, shuffle generator) a checkpoint that loadCheckpoint resumes exactly.
   */
  save(options?: SaveOptions): Uint8Array {
    this.#assertLive('save');   // reads only: a callback may checkpoint during fit
    return saveModel(this, options);
  }

  /** A model from the bytes save() wrote (use loadCheckpoint for the optimizer too). */
  static load(bytes: Uint8Array | ArrayBuffer, options?: LoadOptions): Sequential {
    return loadModel(bytes, options);
  }

  /**
   * Loads weights by name from a safetensors file (one written from a PyTorch state_dict, or by
   * save()): all or nothing; a ShapeError names each missing, unexpected or mis-shaped tensor.
   */
  loadWeights(bytes: Uint8Array | ArrayBuffer, options?: { strict?: boolean }): this {
    this.#assertLive('loadWeights');
    loadWeightsInto(this, bytes, options);
    return this;
  }

  /** Frees the model's wasm memory (and its optimizers' state); the model and its handles cannot be used afterwards. */
  dispose(): void {
    if (this.#disposed) return;
    this.#releaseArenas();
    this.#slab.dispose(this.#key);
    this.#bufferSlab.dispose(this.#key);
    this.#compiled = null;
    this.#disposed = true;
  }

  // ---- building ----------------------------------------------------------------------------

  /** Appends layers all-or-nothing: shapes checked, then both slabs rebuilt in one heap transaction. */
  #append(added: Layer[]): void {
    const seen = new Set<Layer>(this.#layers);
    for (const layer of added) {
      if (!(layer instanceof Layer)) throw new ConfigError(`Sequential.add expects a Layer, got ${describe(layer)}`);
      if (seen.has(layer)) throw new ConfigError(`${layer} is already in this model`);
      seen.add(layer);
      const owned = [...layer.params, ...layer.buffers];
      if (owned.some((p) => p.disposed)) throw new StateError(`${layer} belongs to a disposed model`);
      const owner = owners.get(layer);
      if (owned.some((p) => p.bound) || (owner && !owner.disposed)) throw new ConfigError(`${layer} already belongs to another model`);
    }
    if (added.length === 0) return;
    const layers = [...this.#layers, ...added];
    // shapes: from the model's input shape, or the first layer's when it fixes one
    let shapes: Shape[] | null = this.#shapes;
    const inShape = this.#inShape ?? (layers[0].inputShape() ? checkShape(layers[0].inputShape(), `${layers[0]}`) : null);
    if (inShape) {
      shapes = [inShape];
      for (let i = 0; i < layers.length; i++) {
        const l = layers[i];
        try {
          shapes.push(Object.freeze([...l.outputShape(shapes[i])]));
        } catch (e) {
          if (!added.includes(l) || !(e instanceof ShapeError)) throw e;
          throw new ShapeError(`cannot add ${l} after ${layers[i - 1] ?? 'the input'} ` +
            `(output shape ${formatShape(shapes[i])}): ${e.message}`, { cause: e });
        }
      }
    }
    const params = layers.flatMap((l) => l.params);
    const buffers = layers.flatMap((l) => l.buffers);
    const heap = this.#rt.heap;
    const [p, b] = heap.transaction(() => [
      this.#slab.prepare(params, this.#key),
      added.some((l) => l.buffers.length) ? this.#bufferSlab.prepare(buffers, this.#key) : null,
    ]);
    // the point of no return: nothing below fails
    this.#slab.commit(p, this.#key);
    if (b) this.#bufferSlab.commit(b, this.#key);
    for (const l of added) {
      owners.set(l, this);
      l.training = this.#isTraining;
      Object.freeze(l.params);
      Object.freeze(l.buffers);
    }
    this.#layers = layers;
    if (inShape) this.#inShape = inShape;
    this.#shapes = shapes;
    this.#releaseArenas();
  }

  // ---- the training step ---------------------------------------------------------------------

  /**
   * One step on the batch in the arena: forward, loss, backward, optimizer. A non-finite loss or
   * gradient stops it before the weights, the optimizer state or BatchNorm's running statistics
   * change (those are committed only after the optimizer stepped).
   */
  #trainStep(plan: Arena, batch: number, loss: Loss, optimizer: Optimizer, epoch: number, step: number): number {
    const L = this.#layers.length;
    this.#runForward(plan, batch, true, true, false);
    const value = loss.compute(this.#rt, plan.act[L], plan.targets, plan.grad[L], batch, sizeOf(this.#outShape()), plan.aux);
    if (!Number.isFinite(value)) {
      throw new NumericError(`loss is ${value} at epoch ${epoch + 1}, batch ${step + 1}; the step was not applied ` +
        '(lower the learning rate or check the inputs)');
    }
    for (const l of this.#layers) l.checkStep(this.#rt);
    this.#slab.zeroGrad();
    this.#runBackward(plan, batch);
    optimizer.step();
    for (const l of this.#layers) l.commit(this.#rt);
    return value;
  }

  #runForward(plan: Arena, batch: number, training: boolean, record: boolean, commit: boolean): void {
    const shapes = this.#shapes!;
    for (let i = 0; i < this.#layers.length; i++) {
      this.#layers[i].forward({
        rt: this.#rt, batch, x: plan.act[i], y: plan.act[i + 1], ws: plan.ws[i], scratch: plan.scratch,
        inShape: shapes[i], outShape: shapes[i + 1], training, record, commit,
      });
    }
  }

  /** Backward follows what each layer recorded in the last recorded forward (mask, statistics used). */
  #runBackward(plan: Arena, batch: number): void {
    const shapes = this.#shapes!;
    const first = this.#firstTrainable();
    for (let i = this.#layers.length - 1; i >= first; i--) {
      this.#layers[i].backward({
        rt: this.#rt, batch, x: plan.act[i], y: plan.act[i + 1], ws: plan.ws[i], scratch: plan.scratch,
        inShape: shapes[i], outShape: shapes[i + 1],
        training: this.#layers[i].training, dy: plan.grad[i + 1], dx: i > first ? plan.grad[i] : 0,
      });
    }
  }

  /** Layers below the first one with parameters need no backward pass at all (the input needs no gradient). */
  #firstTrainable(): number {
    const i = this.#layers.findIndex((l) => l.params.length > 0);
    return i < 0 ? this.#layers.length : i;
  }

  #setMode(training: boolean): void {
    this.#isTraining = training;
    for (const l of this.#layers) l.training = training;
  }

  /**
   * Between the steps of fit: stops it when the model, its optimizer or its loss was disposed
   * meanwhile (by a callback, or another task).
   */
  #checkFitGoesOn(epoch: number, step: number, loss: Loss, optimizer: Optimizer): void {
    const gone = this.#disposed ? 'the model' : optimizer.disposed ? `its optimizer` : loss.disposed ? `its loss (${loss})` : null;
    if (gone) {
      throw new StateError(`fit: ${gone} was disposed during training (epoch ${epoch + 1}, after batch ${step}); ` +
        'training stopped');
    }
  }

  // ---- data movement -------------------------------------------------------------------------

  /** Copies samples order[begin .. begin+batch) and their targets into the arena. */
  #gather(plan: Arena, s: Samples, targets: TargetSet, order: Int32Array, begin: number, batch: number): void {
    const d = s.size;
    assertUnchanged(s);
    const f32 = this.#rt.heap.f32;
    const x0 = plan.act[0] >>> 2;
    for (let r = 0; r < batch; r++) {
      const idx = order[begin + r];
      f32.set(s.data.subarray(idx * d, idx * d + d), x0 + r * d);
    }
    const view = targets.data instanceof Int32Array ? this.#rt.heap.i32 : f32;
    const w = targets.width, t0 = plan.targets >>> 2;
    if (w === 1) for (let r = 0; r < batch; r++) view[t0 + r] = targets.data[order[begin + r]];
    else for (let r = 0; r < batch; r++) view.set(targets.data.subarray(order[begin + r] * w, order[begin + r] * w + w), t0 + r * w);
  }

  /** Copies samples [begin, begin+batch) into the arena input, checking unchecked values for NaN / Infinity. */
  #load(plan: Arena, s: Samples, begin: number, batch: number): void {
    const d = s.size;
    assertUnchanged(s);
    this.#rt.heap.f32.set(s.data.subarray(begin * d, (begin + batch) * d), plan.act[0] >>> 2);
    if (s.what !== null) {
      const at = this.#rt.kernels.find_nonfinite_f32(plan.act[0], batch * d);
      if (at >= 0) throw new InputError(`${s.what} contains ${s.data[begin * d + at]} at index ${begin * d + at}: inputs must be finite`);
    }
  }

  /** Samples of the batch in the arena that the loss's accuracy rule counts as correct (NaN: no rule). */
  #countCorrect(plan: Arena, batch: number, loss: Loss, width: number): number {
    const cols = sizeOf(this.#outShape());
    const rule = loss.accuracyRule(cols);
    if (!rule) return NaN;
    const out = plan.act[this.#layers.length];
    let correct = 0;
    if (rule.kind === 'argmax') {
      this.#rt.kernels.argmax_f32_rows(out, plan.predicted, batch, cols);
      const i32 = this.#rt.heap.i32;
      const p = plan.predicted >>> 2, y = plan.targets >>> 2;
      for (let r = 0; r < batch; r++) if (i32[p + r] === i32[y + r]) correct++;
    } else {
      // one output per sample against a 0/1 target
      const f32 = this.#rt.heap.f32;
      const o = out >>> 2, y = plan.targets >>> 2;
      for (let r = 0; r < batch; r++) if ((f32[o + r * cols] > rule.at) === (f32[y + r * width] > 0.5)) correct++;
    }
    return correct;
  }

  #evaluateSamples(s: Samples, targets: TargetSet, batchSize: number, loss: Loss): EvaluateResult {
    const plan = this.#inference(batchSize, this.#held);
    const L = this.#layers.length;
    const cols = sizeOf(this.#outShape());
    const w = targets.width;
    let lossSum = 0, correct = 0;
    for (let begin = 0; begin < s.count; begin += plan.capacity) {
      const batch = Math.min(plan.capacity, s.count - begin);
      this.#load(plan, s, begin, batch);
      const view = targets.data instanceof Int32Array ? this.#rt.heap.i32 : this.#rt.heap.f32;
      view.set(targets.data.subarray(begin * w, (begin + batch) * w), plan.targets >>> 2);
      this.#runForward(plan, batch, false, false, false);
      const value = loss.compute(this.#rt, plan.act[L], plan.targets, 0, batch, cols, plan.aux);
      if (!Number.isFinite(value)) this.#explainLoss(plan, batch, cols, loss, begin, value);
      lossSum += value * (loss.reduction === 'mean' ? batch : 1);
      correct += this.#countCorrect(plan, batch, loss, w);
    }
    return { loss: lossSum / s.count, accuracy: correct / s.count };
  }

  /**
   * Why an evaluation loss is not finite, as a typed error: the model's outputs overflow
   * (NumericError), they lie outside what the loss takes (InputError: BCELoss and [0, 1]), or the
   * loss itself overflows float32 (NumericError).
   */
  #explainLoss(plan: Arena, batch: number, cols: number, loss: Loss, begin: number, value: number): never {
    const out = plan.act[this.#layers.length] >>> 2;
    const outputs = this.#rt.heap.f32.subarray(out, out + batch * cols);
    const bad = outputs.findIndex((v) => v - v !== 0);
    if (bad >= 0) {
      throw new NumericError(`evaluate: the model's output for sample ${begin + Math.floor(bad / cols)} is ${outputs[bad]} ` +
        '(its weights or inputs overflow float32)');
    }
    loss.checkOutputs(outputs, `evaluate: ${loss}`);
    throw new NumericError(`evaluate: ${loss} is ${value} on samples ${begin}..${begin + batch - 1} (it overflows float32)`);
  }

  // ---- checks --------------------------------------------------------------------------------

  /**
   * Validates x against the model's input shape (or, before the model has one, the shape x
   * implies, which the caller adopts once the call is sure to succeed). With checkValues, also
   * scans for NaN / Infinity up front (fit and forward must refuse before touching anything);
   * evaluate and predict check each batch with a SIMD kernel as it is copied in.
   */
  #samples(x: Tensor | Float32Array, what: string, checkValues: boolean, shapes?: Shape[]): Samples {
    if (this.#layers.length === 0) throw new StateError(`${what}: the model has no layers`);
    let data: Float32Array, count: number;
    let modelShapes = shapes ?? this.#shapes;
    const known = modelShapes !== null && modelShapes.length === this.#layers.length + 1 ? modelShapes : null;
    if (Tensor.isTensor(x)) {
      const t = readTensor(x, what);
      if (t.shape.length < 2) throw new ShapeError(`${what} must have a batch dimension: got shape ${formatShape(t.shape)}`);
      const sampleShape = t.shape.slice(1);
      if (!known) modelShapes = this.#shapesFor(sampleShape, what);
      const inShape = modelShapes![0];
      if (!sameShape(sampleShape, inShape)) {
        throw new ShapeError(`${what} has per-sample shape ${formatShape(sampleShape)}, the model expects ${formatShape(inShape)}`);
      }
      data = t.data;
      count = t.shape[0];
    } else if (x instanceof Float32Array) {
      if (!known) throw new ShapeError(`${what}: the model's input shape is unknown; pass a Tensor with a shape`);
      const d = sizeOf(known[0]);
      const length = privateF32(x)?.length ?? x.length;
      if (length % d !== 0) {
        throw new ShapeError(`${what} has length ${length}, which is not a multiple of the per-sample size ${d} (shape ${formatShape(known[0])})`);
      }
      const own = privateF32(x);
      if (!own) throw new InputError(`${what} is not a real Float32Array (${describe(x)})`);
      data = own;
      count = own.length / d;
    } else {
      throw new InputError(`${what} must be a Float32Array or a Tensor, got ${describe(x)}`);
    }
    if (count === 0) throw new InputError(`${what} is empty (batch size 0)`);
    // a private view, so that the caller's array cannot lie about its length or species later; a
    // live view of wasm memory, or a plain view of it that the next growth would detach, is copied
    data = privateF32(data, this.#rt.kernels.memory.buffer)!;
    if (checkValues) assertFinite(data, what);
    return { data, count, size: sizeOf(modelShapes![0]), shapes: modelShapes!, what: checkValues ? null : what };
  }

  /** The layer shapes for a per-sample input shape (the model's own until it has one). */
  #shapesFor(sampleShape: Shape, what: string): Shape[] {
    if (sampleShape.some((d) => d < 1)) throw new ShapeError(`${what} has per-sample shape ${formatShape(sampleShape)} with an empty dimension`);
    const shapes: Shape[] = [Object.freeze([...sampleShape])];
    for (const l of this.#layers) shapes.push(Object.freeze([...l.outputShape(shapes[shapes.length - 1])]));
    return shapes;
  }

  /** The per-sample output shape (shapes are known wherever this is called). */
  #outShape(): Shape {
    return this.#shapes![this.#shapes!.length - 1];
  }

  #adoptShapes(shapes: Shape[]): void {
    if (this.#shapes === shapes) return;
    this.#inShape = shapes[0];
    this.#shapes = shapes;
  }

  /**
   * Runs `body` with the shapes x implies; when the model had none and body throws, the model goes
   * back to having none (and drops the arenas planned for them: it had none before either).
   */
  #tentatively<T>(shapes: Shape[], body: () => T): T {
    if (this.#shapes === shapes) return body();
    const before = { inShape: this.#inShape, shapes: this.#shapes };
    this.#adoptShapes(shapes);
    try {
      return body();
    } catch (e) {
      this.#restoreShapes(before);
      throw e;
    }
  }

  #restoreShapes(before: { inShape: Shape | null; shapes: Shape[] | null }): void {
    this.#releaseArenas();
    this.#inShape = before.inShape;
    this.#shapes = before.shapes;
  }

  /** Validates targets with the loss's rules against the model's output width. */
  #targets(loss: Loss, y: Targets, count: number, shapes: Shape[]): TargetSet {
    const out = shapes[shapes.length - 1];
    if (out.length !== 1) {
      throw new ShapeError(`${loss} needs an output of shape [${loss.targetKind === 'class' ? 'classes' : 'outputs'}] per sample, ` +
        `the model gives ${formatShape(out)}`);
    }
    const data = loss.toTargets(y, count, out[0]);
    return { data, width: data instanceof Int32Array ? 1 : out[0] };
  }

  #assertLive(what: string): void {
    if (this.#disposed) throw new StateError(`${what}: this model was disposed`);
  }

  /** Live and not busy: refuses calls that would disturb a running fit. */
  #assertIdle(what: string): void {
    this.#assertLive(what);
    if (this.#busy) {
      throw new StateError(`${what}: the model is busy: ${this.#busy}() is running (it awaits between epochs); ` +
        `wait for it to finish before calling ${what}() on this model`);
    }
  }

  #namedState(): Map<string, Parameter> {
    const named = new Map<string, Parameter>();
    this.#layers.forEach((l, i) => {
      for (const p of l.params) named.set(`${i}.${p.name}`, p);
      for (const b of l.buffers) if (b.persistent) named.set(`${i}.${b.name}`, b);
    });
    return named;
  }

  // ---- the arena plans -----------------------------------------------------------------------

  /** Makes sure the training arena holds `batch` samples; it is re-planned only to grow. */
  #ensureTrain(batch: number): Arena {
    if (this.#train && this.#train.capacity >= batch) return this.#train;
    const capacity = Math.max(batch, 1);
    const layout = this.#trainLayout(0, capacity, this.#shapes!);
    const block = this.#replace(this.#train, layout.bytes, `activation arena for batch ${capacity} (training)`);
    this.#train = this.#trainLayout(block, capacity, this.#shapes!);
    this.#borrowed = null;
    this.#held = 0;
    return this.#train;
  }

  /**
   * An inference arena for `batch` samples: the model's own when large enough, else the training
   * arena's block when nothing there is held for a backward (held = 0) and it is large enough,
   * else the model's own, grown.
   */
  #inference(batch: number, held: number): Arena {
    const capacity = Math.max(batch, 1);
    if (this.#infer && this.#infer.capacity >= capacity) return this.#infer;
    const borrowed = this.#borrowed;
    if (borrowed && held === 0 && borrowed.block === this.#train?.block && borrowed.capacity >= capacity) return borrowed;
    const shapes = this.#shapes!;
    const layout = this.#inferLayout(0, capacity, shapes);
    if (this.#train && held === 0 && layout.bytes <= this.#rt.heap.blockBytes(this.#train.block)) {
      if (!this.#borrowed || this.#borrowed.block !== this.#train.block || this.#borrowed.capacity < capacity) {
        this.#borrowed = { ...this.#inferLayout(this.#train.block, capacity, shapes), owned: false };
      }
      return this.#borrowed;
    }
    const block = this.#replace(this.#infer, layout.bytes, `inference arena for batch ${capacity}`);
    this.#infer = this.#inferLayout(block, capacity, shapes);
    return this.#infer;
  }

  /** A block of `bytes` in place of `old` (released), all-or-nothing: on MemoryError `old` stays. */
  #replace(old: Arena | null, bytes: number, what: string): number {
    const heap = this.#rt.heap;
    return heap.transaction(() => {
      if (old) heap.release(old.block);
      return heap.alloc(bytes, what);
    });
  }

  #releaseArenas(): void {
    const heap = this.#rt.heap;
    if (this.#train) heap.release(this.#train.block);
    if (this.#infer) heap.release(this.#infer.block);
    this.#train = this.#infer = this.#borrowed = null;
    this.#held = 0;
  }

  /** Offsets of the training arena's buffers from `block`. Reshape layers share buffers. */
  #trainLayout(block: number, capacity: number, shapes: Shape[]): Arena {
    const L = this.#layers.length;
    let at = block;
    const take = (floats: number) => { const p = at; at += Math.ceil(floats / 16) * 64; return p; };
    const act: number[] = [take(capacity * sizeOf(shapes[0]))];
    for (let i = 0; i < L; i++) act.push(this.#layers[i].aliasesInput ? act[i] : take(capacity * sizeOf(shapes[i + 1])));
    const grad = new Array<number>(L + 1).fill(0);
    grad[L] = take(capacity * sizeOf(shapes[L]));
    const first = this.#firstTrainable();
    for (let i = L - 1; i > first; i--) grad[i] = this.#layers[i].aliasesInput ? grad[i + 1] : take(capacity * sizeOf(shapes[i]));
    const ws = this.#layers.map((l, i) => {
      const perSample = l.workspace(shapes[i]);
      return perSample > 0 ? take(capacity * perSample) : 0;
    });
    return this.#finishLayout(block, capacity, shapes, act, grad, ws, take, () => at);
  }

  /**
   * Offsets of the inference arena's buffers: activations alternate between two buffers A and B
   * (each as large as the largest activation it ever holds); reshapes and pointwise layers stay
   * in the buffer they read.
   */
  #inferLayout(block: number, capacity: number, shapes: Shape[]): Arena {
    const L = this.#layers.length;
    const side = [0];
    const largest = [capacity * sizeOf(shapes[0]), 0];
    for (let i = 0; i < L; i++) {
      const l = this.#layers[i];
      const s = l.aliasesInput || l.inPlace ? side[i] : 1 - side[i];
      side.push(s);
      largest[s] = Math.max(largest[s], capacity * sizeOf(shapes[i + 1]));
    }
    let at = block;
    const take = (floats: number) => { const p = at; at += Math.ceil(floats / 16) * 64; return p; };
    const buffers = [take(largest[0]), largest[1] > 0 ? take(largest[1]) : 0];
    const act = side.map((s) => buffers[s]);
    const zeros = new Array<number>(L + 1).fill(0);
    return this.#finishLayout(block, capacity, shapes, act, zeros, zeros.slice(0, L), take, () => at);
  }

  /** The buffers both layouts end with: scratch, targets, predicted classes, loss constants. */
  #finishLayout(block: number, capacity: number, shapes: Shape[], act: number[], grad: number[], ws: number[],
    take: (floats: number) => number, end: () => number): Arena {
    const out = Math.max(1, sizeOf(shapes[shapes.length - 1]));
    const scratchFloats = Math.max(0, ...this.#layers.map((l, i) => l.scratch(shapes[i], this.#rt)));
    const scratch = scratchFloats > 0 ? take(scratchFloats) : 0;
    const targets = take(capacity * out);
    const predicted = take(capacity);
    const aux = take(out);
    return { block, owned: true, capacity, act, grad, ws, scratch, targets, predicted, aux, bytes: end() - block };
  }
}

interface CheckedFitOptions {
  epochs: number;
  batchSize: number;
  shuffle: boolean;
  seed?: number;
  generator?: Generator;
  initialEpoch: number;
  dropLast: boolean;
  validationSplit?: number;
  validationData?: [Tensor | Float32Array, Targets];
  callbacks: Callback[];
}

/** fit's options, every one checked for its type and range before anything happens. */
function checkFitOptions(options: FitOptions): CheckedFitOptions {
  checkOptions('fit', options, FIT_OPTIONS);
  const o = options ?? {};
  const { epochs = 1, batchSize = 32, shuffle = true, seed, generator, initialEpoch = 0, dropLast = false,
    validationSplit, validationData, callbacks = [] } = o;
  checkInteger('fit', 'epochs', epochs, 0);
  checkInteger('fit', 'initialEpoch', initialEpoch, 0, epochs);
  checkFlag('fit', 'dropLast', dropLast);
  if (generator !== undefined) {
    checkGenerator('fit', generator);
    if (seed !== undefined) throw new ConfigError('fit: give seed or generator, not both');
  }
  checkInteger('fit', 'batchSize', batchSize, 1);
  checkFlag('fit', 'shuffle', shuffle);
  if (seed !== undefined) checkInteger('fit', 'seed', seed, Number.MIN_SAFE_INTEGER);
  if (validationSplit !== undefined) checkHyper('fit', 'validationSplit', validationSplit, (v) => v > 0 && v < 1, 'in (0, 1)');
  if (validationData !== undefined) {
    if (!Array.isArray(validationData) || validationData.length !== 2) {
      throw new ConfigError(`fit: validationData must be a pair [x, y], got ${describe(validationData)}`);
    }
    if (validationSplit !== undefined) throw new ConfigError('fit: give validationSplit or validationData, not both');
  }
  if (!Array.isArray(callbacks)) throw new ConfigError(`fit: callbacks must be an array, got ${describe(callbacks)}`);
  // the hooks as they are now, bound to their objects: a callback that changes them during fit
  // changes nothing of this fit
  const hooks = callbacks.map((cb, i) => {
    if (cb === null || typeof cb !== 'object') throw new ConfigError(`fit: callbacks[${i}] must be an object with hooks, got ${describe(cb)}`);
    const bound: Callback = {};
    for (const hook of CALLBACK_HOOKS) {
      const f = (cb as Record<string, unknown>)[hook];
      if (f !== undefined && typeof f !== 'function') throw new ConfigError(`fit: callbacks[${i}].${hook} must be a function, got ${describe(f)}`);
      if (f) (bound as Record<string, unknown>)[hook] = (f as (...a: unknown[]) => unknown).bind(cb);
    }
    return bound;
  });
  return { epochs, batchSize, shuffle, seed, generator, initialEpoch, dropLast, validationSplit, validationData, callbacks: hooks };
}

/** The batchSize option of evaluate / predict (default 256). */
function checkBatchOption(owner: string, options: { batchSize?: number }): number {
  checkOptions(owner, options, ['batchSize']);
  const batchSize = options?.batchSize ?? 256;
  checkInteger(owner, 'batchSize', batchSize, 1);
  return batchSize;
}

/** The caller's array must not have been resized or detached since it was checked. */
function assertUnchanged(s: Samples): void {
  if (s.data.length !== s.count * s.size) {
    throw new StateError(`the input array changed size during the call (now ${s.data.length} values, ` +
      `${s.count * s.size} expected): it was detached, transferred or resized`);
  }
}

function alignUp(n: number): number {
  return Math.ceil(n / 64) * 64;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
