// N training steps from a checkpoint, on the training subset bundled with the worker.
//
// The position in the data is the checkpoint's own state, so any split of a run into requests
// trains exactly as the run in one piece (and as model.fit on the same subset):
//   - epoch:     passes over the subset completed (save's `epoch`);
//   - generator: the shuffling generator as it stands at the start of that pass, before it
//                draws the pass's order (what fit leaves after `epoch` epochs);
//   - the optimizer's step count: steps taken, so the next batch of the pass is
//                stepCount - epoch * stepsPerEpoch.
// Each pass visits the subset in the order generator.permutation(count) (fit's shuffle), in
// batches of BATCH_SIZE; the request ends after N steps, wherever it is in the pass, and saves
// the checkpoint with the epoch and generator of the pass it is in. A checkpoint of the worker's
// own (GET /checkpoint) or one fit wrote after whole epochs on this subset and batch size
// continues; a checkpoint from another run (its step count outside the pass) is refused.
import {
  ConfigError, FormatError, Generator, InputError, LogSoftmax, NLLLoss, CrossEntropyLoss, Tensor, loadCheckpoint,
} from 'simdnet';

export const BATCH_SIZE = 50;

/** The training subset: the IDX images and labels, pixels scaled as scalePixels scales them. */
export function trainingSet(images, labels) {
  const count = images.dims[0], size = images.dims.slice(1).reduce((a, b) => a * b, 1);
  if (labels.dims[0] !== count) throw new FormatError(`train: ${count} images but ${labels.dims[0]} labels`);
  const table = new Float32Array(256);
  for (let v = 0; v < 256; v++) table[v] = v * (1 / 255);
  const x = new Float32Array(images.data.length);
  for (let i = 0; i < x.length; i++) x[i] = table[images.data[i]];
  return { x, y: Int32Array.from(labels.data), count, size, stepsPerEpoch: Math.floor(count / BATCH_SIZE) };
}

/**
 * Loads the checkpoint, takes `steps` steps, and returns the new checkpoint's bytes with where it
 * stands. Throws the library's typed errors (FormatError for a file that is not a checkpoint,
 * ShapeError for a model that does not take 784 pixels, NumericError when a step diverges).
 */
export function train(bytes, steps, data) {
  const { model, optimizer, epoch: savedEpoch, generator } = loadCheckpoint(bytes);
  try {
    if (!optimizer) {
      throw new FormatError('train: the file holds no optimizer state: send a checkpoint, model.save({ optimizer, epoch, generator }) (GET /checkpoint has one)');
    }
    let epoch = savedEpoch ?? 0;
    let batch = optimizer.stepCount - epoch * data.stepsPerEpoch;
    if (batch < 0 || batch >= data.stepsPerEpoch) {
      throw new InputError(`train: the checkpoint's optimizer has taken ${optimizer.stepCount} steps, which is not within epoch ${epoch} ` +
        `of this subset (${data.stepsPerEpoch} steps of ${BATCH_SIZE} images per epoch): continue a checkpoint /train returned or GET /checkpoint`);
    }
    const last = model.layers.at(-1);
    const lossFn = last instanceof LogSoftmax ? new NLLLoss() : new CrossEntropyLoss();
    // the generator at the start of the current pass, and the pass's order
    const shuffle = new Generator().setState((generator ?? new Generator(0)).getState());
    let passStart = shuffle.getState();
    let order = shuffle.permutation(data.count);
    const x = new Float32Array(BATCH_SIZE * data.size), y = new Int32Array(BATCH_SIZE);
    let lossSum = 0;
    model.train();
    for (let s = 0; s < steps; s++) {
      for (let k = 0; k < BATCH_SIZE; k++) {
        const i = order[batch * BATCH_SIZE + k];
        x.set(data.x.subarray(i * data.size, (i + 1) * data.size), k * data.size);
        y[k] = data.y[i];
      }
      // PyTorch's explicit loop
      const out = model.forward(new Tensor(x, [BATCH_SIZE, data.size]));
      lossSum += lossFn.forward(out, y);
      model.zeroGrad();
      model.backward(lossFn.backward());
      optimizer.step();
      if (++batch === data.stepsPerEpoch) {
        batch = 0;
        epoch++;
        passStart = shuffle.getState();
        order = shuffle.permutation(data.count);
      }
    }
    const checkpoint = model.save({ optimizer, epoch, generator: new Generator().setState(passStart) });
    return { checkpoint, epoch, step: optimizer.stepCount, loss: lossSum / steps };
  } finally {
    model.dispose();   // the optimizer's state goes with it
  }
}

/** The `steps` query parameter: an integer in 1..max, else a ConfigError. */
export function stepsOf(url, max) {
  const raw = url.searchParams.get('steps');
  if (raw === null) throw new ConfigError(`train: give the number of steps, ?steps=N with N in 1..${max}`);
  const n = Number(raw);
  if (!(/^\d+$/.test(raw) && Number.isSafeInteger(n) && n >= 1 && n <= max)) {
    throw new ConfigError(`train: steps must be an integer in 1..${max} (the request's CPU budget), got '${raw}'`);
  }
  return n;
}
