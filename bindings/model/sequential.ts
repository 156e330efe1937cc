// Sequential: a stack of layers with a fixed memory plan.
//
// Memory: parameters and gradients sit in two slabs (ParameterSet); activations and their
// gradients for up to `capacity` samples sit in one arena block planned from the layer shapes.
// A training step is then a fixed list of kernel calls on fixed pointers: no allocation.
//
// Two ways to train, as in the course material:
//   Keras:   model.compile({ loss, optimizer }); await model.fit(x, y, { epochs, batchSize })
//   PyTorch: out = model.forward(x); loss = lossFn.forward(out, y); model.zeroGrad();
//            model.backward(lossFn.backward()); optimizer.step()

import { getRuntime, type Runtime } from '../runtime/load.js';
import { ConfigError, InputError, NumericError, ShapeError, StateError } from '../errors.js';
import { Layer } from '../layers/layer.js';
import type { Parameter } from '../layers/parameter.js';
import { ParameterSet } from './parameter-set.js';
import { Loss, NLLLoss, CrossEntropyLoss, type Targets } from '../losses/loss.js';
import { Optimizer } from '../optim/optimizer.js';
import { SGD } from '../optim/sgd.js';
import { Generator, defaultGenerator } from '../random.js';
import {
  Tensor, assertFinite, formatShape, sameShape, sizeOf, type Shape,
} from '../tensor.js';
import type { Callback, EpochLogs, BatchLogs } from './callbacks.js';
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
  /** Seeds the shuffling; otherwise the default generator (see manualSeed) drives it. */
  seed?: number;
  /** Fraction of the samples, taken from the end before shuffling, held out for validation. */
  validationSplit?: number;
  validationData?: [Tensor | Float32Array, Targets];
  callbacks?: Callback[];
}

export interface EvaluateResult {
  loss: number;
  accuracy: number;
}

interface Plan {
  capacity: number;
  block: number;
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
}

/** Validated targets: `width` 32-bit values per sample (1 class label, or one value per output). */
interface TargetSet {
  data: Int32Array | Float32Array;
  width: number;
}

/** Samples as a flat Float32Array plus their count, after shape and value checks. */
interface Samples {
  data: Float32Array;
  count: number;
  /** Set when the values are not checked yet: load() checks each batch and names x by this. */
  what: string | null;
}

export class Sequential {
  readonly layers: Layer[] = [];
  readonly rt: Runtime;
  private readonly slab: ParameterSet;
  /** Non-trained layer state (BatchNorm running statistics), in a slab of its own. */
  private readonly bufferSlab: ParameterSet;
  private inShape: Shape | null;
  /** shapes[i] is the per-sample input shape of layer i; shapes[L] the output shape. */
  private shapes: Shape[] | null = null;
  private plan: Plan | null = null;
  private compiled: { loss: Loss; optimizer: Optimizer; metrics: string[] } | null = null;
  private isTraining = true;
  /** Batch size of the last explicit forward(), for backward(). */
  private lastBatch = 0;
  private disposed = false;

  constructor(layers: Layer[] = [], options: SequentialOptions = {}) {
    this.rt = options.runtime ?? getRuntime();
    this.slab = new ParameterSet(this.rt);
    this.bufferSlab = new ParameterSet(this.rt);
    this.inShape = options.inputShape ? [...options.inputShape] : null;
    for (const layer of layers) this.add(layer);
  }

  /** Appends a layer, checking at once that it accepts the previous layer's output shape. */
  add(layer: Layer): this {
    this.assertLive();
    if (!(layer instanceof Layer)) throw new ConfigError(`Sequential.add expects a Layer, got ${String(layer)}`);
    if (this.layers.includes(layer)) throw new ConfigError(`${layer} is already in this model`);
    if ([...layer.params, ...layer.buffers].some((p) => p.bound)) throw new ConfigError(`${layer} already belongs to another model`);
    const inShape = this.inShape ?? (this.layers.length === 0 ? layer.inputShape() : null);
    if (inShape) {
      const shapes = [inShape];
      for (const l of [...this.layers, layer]) {
        try {
          shapes.push(l.outputShape(shapes[shapes.length - 1]));
        } catch (e) {
          if (l !== layer || !(e instanceof ShapeError)) throw e;
          throw new ShapeError(`cannot add ${layer} after ${this.layers[this.layers.length - 1] ?? 'the input'} ` +
            `(output shape ${formatShape(shapes[shapes.length - 1])}): ${e.message}`);
        }
      }
      this.inShape = inShape;
      this.shapes = shapes;
    }
    layer.training = this.isTraining;
    this.layers.push(layer);
    this.slab.rebuild(this.layers.flatMap((l) => l.params));
    if (layer.buffers.length) this.bufferSlab.rebuild(this.layers.flatMap((l) => l.buffers));
    this.releasePlan();
    return this;
  }

  /** The parameter slab, for optimizers: new SGD(model.parameters(), { lr }). */
  parameters(): ParameterSet {
    this.assertLive();
    return this.slab;
  }

  /** Per-sample input and output shapes, once known. */
  get inputShape(): Shape | null { return this.inShape; }
  get outputShape(): Shape | null { return this.shapes ? this.shapes[this.shapes.length - 1] : null; }

  train(mode = true): this {
    this.isTraining = mode;
    for (const l of this.layers) l.training = mode;
    return this;
  }

  eval(): this { return this.train(false); }

  get training(): boolean { return this.isTraining; }

  compile(options: CompileOptions): this {
    this.assertLive();
    const loss = options.loss === 'nll' ? new NLLLoss()
      : options.loss === 'cross_entropy' ? new CrossEntropyLoss()
      : options.loss;
    if (!(loss instanceof Loss)) throw new ConfigError(`compile: loss must be a Loss, 'nll' or 'cross_entropy', got ${String(options.loss)}`);
    const optimizer = options.optimizer === 'sgd' ? new SGD(this, { lr: 0.01 }) : options.optimizer;
    if (!(optimizer instanceof Optimizer)) throw new ConfigError(`compile: optimizer must be an Optimizer or 'sgd', got ${String(options.optimizer)}`);
    if (optimizer.params !== this.slab) throw new ConfigError('compile: the optimizer was made for another model\'s parameters');
    for (const m of options.metrics ?? []) {
      if (m !== 'accuracy') throw new ConfigError(`compile: unknown metric '${m}' (supported: 'accuracy')`);
    }
    this.compiled = { loss, optimizer, metrics: options.metrics ?? ['accuracy'] };
    return this;
  }

  /** Trains with the compiled loss and optimizer; returns the per-epoch history. */
  async fit(x: Tensor | Float32Array, y: Targets, options: FitOptions = {}): Promise<History> {
    this.assertLive();
    if (!this.compiled) throw new StateError('fit() called before compile(): call model.compile({ loss, optimizer }) first');
    const { loss, optimizer } = this.compiled;
    const epochs = options.epochs ?? 1;
    const batchSize = options.batchSize ?? 32;
    checkCount('epochs', epochs, 0);
    checkCount('batchSize', batchSize, 1);
    const all = this.samples(x, 'fit: x');
    let targets = this.targets(loss, y, all.count);
    let train: Samples = all;
    let validation: { x: Samples; y: TargetSet } | null = null;
    if (options.validationData) {
      const [vx, vy] = options.validationData;
      const vs = this.samples(vx, 'fit: validationData x');
      validation = { x: vs, y: this.targets(loss, vy, vs.count) };
    } else if (options.validationSplit !== undefined) {
      const split = options.validationSplit;
      if (!(split > 0 && split < 1)) throw new ConfigError(`fit: validationSplit must be in (0, 1), got ${split}`);
      const nVal = Math.floor(all.count * split);
      const nTrain = all.count - nVal;
      if (nVal < 1 || nTrain < 1) throw new InputError(`fit: validationSplit ${split} of ${all.count} samples leaves an empty part`);
      const d = sizeOf(this.inShape!);
      train = { data: all.data.subarray(0, nTrain * d), count: nTrain, what: null };
      const w = targets.width;
      validation = { x: { data: all.data.subarray(nTrain * d), count: nVal, what: null },
        y: { data: targets.data.subarray(nTrain * w), width: w } };
      targets = { data: targets.data.subarray(0, nTrain * w), width: w };
    }

    const plan = this.ensurePlan(batchSize);
    const gen = options.seed !== undefined ? new Generator(options.seed) : defaultGenerator;
    const order = new Int32Array(train.count);
    for (let i = 0; i < train.count; i++) order[i] = i;
    const callbacks = options.callbacks ?? [];
    const history = new History();
    const steps = Math.ceil(train.count / batchSize);
    for (const cb of callbacks) await cb.onTrainBegin?.({ epochs, steps, samples: train.count, model: this });
    this.train(true);
    for (let epoch = 0; epoch < epochs; epoch++) {
      if (options.shuffle ?? true) gen.permutation(train.count, order);
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch);
      const started = performance.now();
      let lossSum = 0, correct = 0, seen = 0;
      for (let step = 0; step < steps; step++) {
        const begin = step * batchSize;
        const batch = Math.min(batchSize, train.count - begin);
        this.gather(plan, train, targets, order, begin, batch);
        const value = this.trainStep(plan, batch, loss, optimizer, epoch, step);
        lossSum += value * (loss.reduction === 'mean' ? batch : 1);
        correct += this.countCorrect(plan, batch, loss, targets.width);
        seen += batch;
        if (callbacks.length) {
          const logs: BatchLogs = { batch: step, size: batch, loss: lossSum / seen, accuracy: correct / seen };
          for (const cb of callbacks) cb.onBatchEnd?.(step, logs);
        }
      }
      const logs: EpochLogs = { loss: lossSum / seen, accuracy: correct / seen, seconds: (performance.now() - started) / 1000 };
      if (validation) {
        const v = this.evaluateSamples(validation.x, validation.y, batchSize, loss);
        logs.val_loss = v.loss;
        logs.val_accuracy = v.accuracy;
      }
      history.record(epoch, logs);
      let stop = false;
      for (const cb of callbacks) if ((await cb.onEpochEnd?.(epoch, logs)) === false) stop = true;
      if (stop) break;
      await yieldToEventLoop();
    }
    for (const cb of callbacks) await cb.onTrainEnd?.(history);
    return history;
  }

  /** Mean loss (with the compiled loss) and accuracy over all samples. */
  evaluate(x: Tensor | Float32Array, y: Targets, options: { batchSize?: number } = {}): EvaluateResult {
    this.assertLive();
    if (!this.compiled) throw new StateError('evaluate() called before compile(): the model has no loss yet');
    const batchSize = options.batchSize ?? 256;
    checkCount('batchSize', batchSize, 1);
    const s = this.samples(x, 'evaluate: x', false);
    return this.evaluateSamples(s, this.targets(this.compiled.loss, y, s.count), batchSize, this.compiled.loss);
  }

  /** Outputs for all samples, in inference mode, as a tensor the caller owns. */
  predict(x: Tensor | Float32Array, options: { batchSize?: number } = {}): Tensor {
    this.assertLive();
    const batchSize = options.batchSize ?? 256;
    checkCount('batchSize', batchSize, 1);
    const s = this.samples(x, 'predict: x', false);
    const outShape = this.outputShape!;
    const outSize = sizeOf(outShape);
    const result = new Float32Array(s.count * outSize);
    const plan = this.ensurePlan(Math.min(batchSize, s.count));
    const L = this.layers.length;
    for (let begin = 0; begin < s.count; begin += plan.capacity) {
      const batch = Math.min(plan.capacity, s.count - begin);
      this.load(plan, s, begin, batch);
      this.runForward(plan, batch, false);
      const at = plan.act[L] >> 2;
      result.set(this.rt.heap.f32.subarray(at, at + batch * outSize), begin * outSize);
    }
    return new Tensor(result, [s.count, ...outShape]);
  }

  /** Explicit loop: runs the layers on x in the current mode (train() / eval()); returns a copy of the output. */
  forward(x: Tensor | Float32Array): Tensor {
    this.assertLive();
    const s = this.samples(x, 'forward: x', false);
    const plan = this.ensurePlan(s.count);
    this.load(plan, s, 0, s.count);
    this.runForward(plan, s.count, this.isTraining);
    this.lastBatch = s.count;
    const outShape = this.outputShape!;
    const at = plan.act[this.layers.length] >> 2;
    return new Tensor(this.rt.heap.f32.slice(at, at + s.count * sizeOf(outShape)), [s.count, ...outShape]);
  }

  /** Explicit loop: backpropagates dOut (the gradient of the last forward's output), accumulating into .grad. */
  backward(dOut: Tensor): void {
    this.assertLive();
    const plan = this.plan;
    if (!plan || this.lastBatch === 0) throw new StateError('backward() called before forward()');
    const want = [this.lastBatch, ...this.outputShape!];
    if (!sameShape(dOut.shape, want)) {
      throw new ShapeError(`backward: gradient of shape ${formatShape(dOut.shape)} does not match the last output ${formatShape(want)}`);
    }
    assertFinite(dOut.data, 'backward: gradient');
    this.rt.heap.f32.set(dOut.data, plan.grad[this.layers.length] >> 2);
    this.runBackward(plan, this.lastBatch);
  }

  zeroGrad(): void {
    this.assertLive();
    this.slab.zeroGrad();
  }

  /**
   * Copies of all parameters and persistent buffers (BatchNorm's running statistics), named as
   * PyTorch's state_dict of the same nn.Sequential ("0.weight", "1.running_mean", ...).
   */
  stateDict(): Record<string, Tensor> {
    this.assertLive();
    const dict: Record<string, Tensor> = {};
    for (const [name, p] of this.namedState()) dict[name] = new Tensor(p.data.slice(), p.shape);
    return dict;
  }

  /** Parameters and persistent buffers by state_dict name, in PyTorch's order (a layer's parameters, then its buffers). */
  private namedState(): Map<string, Parameter> {
    const named = new Map<string, Parameter>();
    this.layers.forEach((l, i) => {
      for (const p of l.params) named.set(`${i}.${p.name}`, p);
      for (const b of l.buffers) if (b.persistent) named.set(`${i}.${b.name}`, b);
    });
    return named;
  }

  /** Loads parameters by name; every name and shape is checked before anything is written. */
  loadStateDict(dict: Record<string, Tensor | { data: ArrayLike<number>; shape: Shape }>): void {
    this.assertLive();
    const expected = this.namedState();
    for (const [name, p] of expected) {
      const t = dict[name];
      if (!t) throw new ShapeError(`loadStateDict: missing parameter '${name}'`);
      if (!sameShape(t.shape, p.shape) || t.data.length !== p.size) {
        throw new ShapeError(`loadStateDict: '${name}' has shape ${formatShape(t.shape)}, the model needs ${formatShape(p.shape)}`);
      }
      for (let i = 0; i < t.data.length; i++) {
        if (!Number.isFinite(t.data[i])) throw new InputError(`loadStateDict: '${name}' contains ${t.data[i]} at index ${i}`);
      }
    }
    for (const name of Object.keys(dict)) {
      if (!expected.has(name)) throw new ShapeError(`loadStateDict: unexpected parameter '${name}'`);
    }
    for (const [name, p] of expected) p.set(dict[name].data);
  }

  /** Number of trainable values. */
  get parameterCount(): number { return this.slab.count; }

  /** A PyTorch-like description with shapes and parameter counts. */
  summary(): string {
    const lines = ['Sequential('];
    this.layers.forEach((l, i) => {
      const shape = this.shapes ? ` -> ${formatShape(this.shapes[i + 1])}` : '';
      const n = l.params.reduce((s, p) => s + p.size, 0);
      lines.push(`  (${i}): ${l}${shape}${n ? `  [${n} params]` : ''}`);
    });
    lines.push(`)  total parameters: ${this.parameterCount}`);
    return lines.join('\n');
  }

  /** Bytes of wasm memory this model holds (slabs and arena; optimizer state is the optimizer's). */
  get memoryBytes(): number {
    const arena = this.plan ? this.arenaBytes(this.plan.capacity) : 0;
    return this.slab.size * 8 + this.bufferSlab.size * 8 + arena;
  }

  /** Frees the model's wasm memory; the model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.releasePlan();
    this.slab.dispose();
    this.bufferSlab.dispose();
    this.disposed = true;
  }

  // ---- the training step ---------------------------------------------------------------

  private trainStep(plan: Plan, batch: number, loss: Loss, optimizer: Optimizer, epoch: number, step: number): number {
    const L = this.layers.length;
    this.runForward(plan, batch, true);
    const value = loss.compute(this.rt, plan.act[L], plan.targets, plan.grad[L], batch, sizeOf(this.outputShape!));
    if (!Number.isFinite(value)) {
      throw new NumericError(`loss is ${value} at epoch ${epoch + 1}, batch ${step + 1}; the step was not applied ` +
        '(lower the learning rate or check the inputs)');
    }
    this.slab.zeroGrad();
    this.runBackward(plan, batch);
    optimizer.step();
    return value;
  }

  private runForward(plan: Plan, batch: number, training: boolean): void {
    const shapes = this.shapes!;
    for (let i = 0; i < this.layers.length; i++) {
      this.layers[i].forward({
        rt: this.rt, batch, x: plan.act[i], y: plan.act[i + 1], ws: plan.ws[i], scratch: plan.scratch,
        inShape: shapes[i], outShape: shapes[i + 1], training,
      });
    }
  }

  private runBackward(plan: Plan, batch: number): void {
    const shapes = this.shapes!;
    const first = this.firstTrainable();
    for (let i = this.layers.length - 1; i >= first; i--) {
      this.layers[i].backward({
        rt: this.rt, batch, x: plan.act[i], y: plan.act[i + 1], ws: plan.ws[i], scratch: plan.scratch,
        inShape: shapes[i], outShape: shapes[i + 1],
        training: this.isTraining, dy: plan.grad[i + 1], dx: i > first ? plan.grad[i] : 0,
      });
    }
  }

  /** Layers below the first one with parameters need no backward pass at all (the input needs no gradient). */
  private firstTrainable(): number {
    const i = this.layers.findIndex((l) => l.params.length > 0);
    return i < 0 ? this.layers.length : i;
  }

  // ---- data movement ---------------------------------------------------------------------

  /** Copies samples order[begin .. begin+batch) and their targets into the arena. */
  private gather(plan: Plan, s: Samples, targets: TargetSet, order: Int32Array, begin: number, batch: number): void {
    const d = sizeOf(this.inShape!);
    const f32 = this.rt.heap.f32;
    const x0 = plan.act[0] >> 2;
    for (let r = 0; r < batch; r++) {
      const idx = order[begin + r];
      f32.set(s.data.subarray(idx * d, idx * d + d), x0 + r * d);
    }
    const view = targets.data instanceof Int32Array ? this.rt.heap.i32 : f32;
    const w = targets.width, t0 = plan.targets >> 2;
    if (w === 1) for (let r = 0; r < batch; r++) view[t0 + r] = targets.data[order[begin + r]];
    else for (let r = 0; r < batch; r++) view.set(targets.data.subarray(order[begin + r] * w, order[begin + r] * w + w), t0 + r * w);
  }

  /** Copies samples [begin, begin+batch) into the arena input, checking unchecked values for NaN / Infinity. */
  private load(plan: Plan, s: Samples, begin: number, batch: number): void {
    const d = sizeOf(this.inShape!);
    this.rt.heap.f32.set(s.data.subarray(begin * d, (begin + batch) * d), plan.act[0] >> 2);
    if (s.what !== null) {
      const at = this.rt.kernels.find_nonfinite_f32(plan.act[0], batch * d);
      if (at >= 0) throw new InputError(`${s.what} contains ${s.data[begin * d + at]} at index ${begin * d + at}: inputs must be finite`);
    }
  }

  /** Samples of the batch in the arena that the loss's accuracy rule counts as correct (NaN: no rule). */
  private countCorrect(plan: Plan, batch: number, loss: Loss, width: number): number {
    const cols = sizeOf(this.outputShape!);
    const rule = loss.accuracyRule(cols);
    if (!rule) return NaN;
    const out = plan.act[this.layers.length];
    let correct = 0;
    if (rule.kind === 'argmax') {
      this.rt.kernels.argmax_f32_rows(out, plan.predicted, batch, cols);
      const i32 = this.rt.heap.i32;
      const p = plan.predicted >> 2, y = plan.targets >> 2;
      for (let r = 0; r < batch; r++) if (i32[p + r] === i32[y + r]) correct++;
    } else {
      // one output per sample against a 0/1 target
      const f32 = this.rt.heap.f32;
      const o = out >> 2, y = plan.targets >> 2;
      for (let r = 0; r < batch; r++) if ((f32[o + r * cols] > rule.at) === (f32[y + r * width] > 0.5)) correct++;
    }
    return correct;
  }

  private evaluateSamples(s: Samples, targets: TargetSet, batchSize: number, loss: Loss): EvaluateResult {
    const plan = this.ensurePlan(Math.min(batchSize, s.count));
    const L = this.layers.length;
    const cols = sizeOf(this.outputShape!);
    const w = targets.width;
    const view = targets.data instanceof Int32Array ? this.rt.heap.i32 : this.rt.heap.f32;
    let lossSum = 0, correct = 0;
    for (let begin = 0; begin < s.count; begin += plan.capacity) {
      const batch = Math.min(plan.capacity, s.count - begin);
      this.load(plan, s, begin, batch);
      view.set(targets.data.subarray(begin * w, (begin + batch) * w), plan.targets >> 2);
      this.runForward(plan, batch, false);
      const value = loss.compute(this.rt, plan.act[L], plan.targets, 0, batch, cols);
      lossSum += value * (loss.reduction === 'mean' ? batch : 1);
      correct += this.countCorrect(plan, batch, loss, w);
    }
    return { loss: lossSum / s.count, accuracy: correct / s.count };
  }

  // ---- checks ------------------------------------------------------------------------------

  /**
   * Validates x against the model's input shape (fixing it on first use). With checkValues, also
   * scans for NaN / Infinity up front (fit must refuse before its first step); evaluate, predict
   * and forward change no state, so they check each batch with a SIMD kernel as it is copied in.
   */
  private samples(x: Tensor | Float32Array, what: string, checkValues = true): Samples {
    if (this.layers.length === 0) throw new StateError(`${what}: the model has no layers`);
    let data: Float32Array, count: number;
    if (x instanceof Tensor) {
      if (x.shape.length < 2) throw new ShapeError(`${what} must have a batch dimension: got shape ${formatShape(x.shape)}`);
      const sampleShape = x.shape.slice(1);
      if (!this.inShape) this.setInputShape(sampleShape);
      if (!sameShape(sampleShape, this.inShape!)) {
        throw new ShapeError(`${what} has per-sample shape ${formatShape(sampleShape)}, the model expects ${formatShape(this.inShape!)}`);
      }
      data = x.data;
      count = x.shape[0];
    } else if (x instanceof Float32Array) {
      if (!this.inShape) throw new ShapeError(`${what}: the model's input shape is unknown; pass a Tensor with a shape`);
      const d = sizeOf(this.inShape);
      if (x.length % d !== 0) {
        throw new ShapeError(`${what} has length ${x.length}, which is not a multiple of the per-sample size ${d} (shape ${formatShape(this.inShape)})`);
      }
      data = x;
      count = x.length / d;
    } else {
      throw new InputError(`${what} must be a Float32Array or a Tensor, got ${Object.prototype.toString.call(x)}`);
    }
    if (count === 0) throw new InputError(`${what} is empty (batch size 0)`);
    if (checkValues) assertFinite(data, what);
    return { data, count, what: checkValues ? null : what };
  }

  private setInputShape(shape: Shape): void {
    const shapes: Shape[] = [shape];
    for (const l of this.layers) shapes.push(l.outputShape(shapes[shapes.length - 1]));
    this.inShape = shape;
    this.shapes = shapes;
  }

  /** Validates targets with the loss's rules against the model's output width. */
  private targets(loss: Loss, y: Targets, count: number): TargetSet {
    const out = this.outputShape;
    if (!out || out.length !== 1) {
      throw new ShapeError(`${loss} needs an output of shape [${loss.targetKind === 'class' ? 'classes' : 'outputs'}] per sample, ` +
        `the model gives ${out ? formatShape(out) : 'an unknown shape'}`);
    }
    const data = loss.toTargets(y, count, out[0]);
    return { data, width: data instanceof Int32Array ? 1 : out[0] };
  }

  private assertLive(): void {
    if (this.disposed) throw new StateError('this model was disposed');
  }

  // ---- the arena plan ------------------------------------------------------------------------

  /** Makes sure the arena holds `batch` samples; replanning happens only when it must grow. */
  private ensurePlan(batch: number): Plan {
    if (this.plan && this.plan.capacity >= batch) return this.plan;
    this.releasePlan();
    const capacity = Math.max(batch, 1);
    const block = this.rt.heap.alloc(this.arenaBytes(capacity), `activation arena for batch ${capacity}`);
    this.plan = this.layout(block, capacity);
    return this.plan;
  }

  private arenaBytes(capacity: number): number {
    const p = this.layout(0, capacity);
    return p.predicted + capacity * 4;
  }

  /** Offsets of every buffer in an arena starting at `block`. Reshape layers share buffers. */
  private layout(block: number, capacity: number): Plan {
    const shapes = this.shapes!;
    const L = this.layers.length;
    let at = block;
    const take = (floats: number) => { const p = at; at += Math.ceil(floats / 16) * 64; return p; };
    const act: number[] = [take(capacity * sizeOf(shapes[0]))];
    for (let i = 0; i < L; i++) act.push(this.layers[i].aliasesInput ? act[i] : take(capacity * sizeOf(shapes[i + 1])));
    const grad = new Array<number>(L + 1).fill(0);
    grad[L] = take(capacity * sizeOf(shapes[L]));
    const first = this.firstTrainable();
    for (let i = L - 1; i > first; i--) grad[i] = this.layers[i].aliasesInput ? grad[i + 1] : take(capacity * sizeOf(shapes[i]));
    const ws = this.layers.map((l, i) => {
      const perSample = l.workspace(shapes[i]);
      return perSample > 0 ? take(capacity * perSample) : 0;
    });
    const scratchFloats = Math.max(0, ...this.layers.map((l, i) => l.scratch(shapes[i])));
    const scratch = scratchFloats > 0 ? take(scratchFloats) : 0;
    const targets = take(capacity * Math.max(1, sizeOf(shapes[L])));
    const predicted = take(capacity);
    return { capacity, block, act, grad, ws, scratch, targets, predicted };
  }

  private releasePlan(): void {
    if (this.plan) this.rt.heap.release(this.plan.block);
    this.plan = null;
  }
}

function checkCount(name: string, v: number, min: number): void {
  if (!Number.isInteger(v) || v < min) {
    throw new ConfigError(`${name} must be an integer >= ${min}, got ${v}`);
  }
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
