// The demo page: controls, charts and the drawing pad; all the computing happens in worker.js,
// so this thread only draws. `window.simdnetDemo` exposes the page's state for the end-to-end
// test (tests/demo.test.ts) and for poking at in the console.
import { createTrainingCharts, createProbabilityBars } from './charts.js';
import { renderConfusion } from './confusion.js';
import { createDrawPad, showPreview } from './draw.js';

const $ = (id) => document.getElementById(id);
const worker = new Worker('worker.js');
const charts = createTrainingCharts($('loss-chart'), $('accuracy-chart'));
const bars = createProbabilityBars($('probability-chart'));
const state = {
  ready: false, training: false, epochs: 0, steps: 0, predictions: 0, predictionsWhileTraining: 0, lastPrediction: null,
  // page responsiveness: animation frames seen, and the longest gap between two while training
  frames: 0, framesAtTrainStart: 0, framesAtTrainEnd: 0, maxFrameGapMs: 0,
};
window.simdnetDemo = { state, charts, bars };

// --- responsiveness meter: a requestAnimationFrame loop; a blocked page would stall it ---------
let lastFrame = performance.now(), fpsFrames = 0, fpsSince = lastFrame;
function frame(now) {
  state.frames++;
  if (state.training) state.maxFrameGapMs = Math.max(state.maxFrameGapMs, now - lastFrame);
  lastFrame = now;
  fpsFrames++;
  if (now - fpsSince > 500) {
    $('fps').textContent = `page: ${Math.round((fpsFrames * 1000) / (now - fpsSince))} fps`;
    fpsFrames = 0;
    fpsSince = now;
  }
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);

// --- training controls -------------------------------------------------------------------------
const setStatus = (text) => { $('status').textContent = text; };
const setTraining = (on) => {
  state.training = on;
  $('start').disabled = on || !state.ready;
  $('stop').disabled = !on;
  for (const el of document.querySelectorAll('#controls input, #controls select')) el.disabled = on;
};

$('controls').addEventListener('submit', (e) => e.preventDefault());   // Enter in a field must not reload the page
$('start').addEventListener('click', () => {
  const settings = {
    trainCount: Number($('train-count').value), epochs: Number($('epochs').value),
    lr: Number($('lr').value), momentum: Number($('momentum').value), batchSize: Number($('batch-size').value),
  };
  const bad = Object.entries(settings).find(([k, v]) => !Number.isFinite(v) || v < 0 || (k !== 'momentum' && v === 0));
  if (bad) { setStatus(`${bad[0]} must be a positive number`); return; }
  charts.reset(settings.epochs);
  $('confusion').replaceChildren();
  $('confusion-section').hidden = true;
  state.epochs = settings.epochs;
  state.maxFrameGapMs = 0;
  state.framesAtTrainStart = state.frames;
  setTraining(true);
  setStatus('training…');
  worker.postMessage({ type: 'train', ...settings });
});
$('stop').addEventListener('click', () => {
  worker.postMessage({ type: 'stop' });
  $('stop').disabled = true;
  setStatus('stopping after this epoch…');
});

// --- drawing and live predictions: at most one request in flight, the latest drawing wins ------
let pending = false, inFlight = false, requestId = 0;
const pad = createDrawPad($('pad'), () => { pending = true; pump(); });
$('clear').addEventListener('click', () => pad.clear());

function pump() {
  if (!pending || inFlight) return;
  pending = false;
  const pixels = pad.toMnist();
  showPreview($('preview'), pixels);
  if (!pixels) { requestId++; showPrediction(null); return; }   // drop a reply to an older drawing
  inFlight = true;
  worker.postMessage({ type: 'predict', id: ++requestId, pixels }, [pixels.buffer]);
}

function showPrediction(message) {
  bars.show(message?.probs ?? null);
  const out = $('prediction');
  if (!message) { out.textContent = 'draw a digit'; delete out.dataset.digit; return; }
  const best = message.probs.indexOf(Math.max(...message.probs));
  out.textContent = `prediction: ${best} (${(message.probs[best] * 100).toFixed(1)}%)${message.trained ? '' : ' (untrained model)'}`;
  out.dataset.digit = String(best);
  state.predictions++;
  if (state.training) state.predictionsWhileTraining++;
  state.lastPrediction = { digit: best, probs: message.probs, trained: message.trained };
}

// --- the worker's messages -----------------------------------------------------------------------
const handlers = {
  ready({ info }) {
    state.ready = true;
    state.info = info;
    $('isolation').textContent = `cross-origin isolated: ${info.isolated ? 'yes' : 'no'}`;
    $('threads').textContent = `threads: ${info.threads} (${info.note})`;
    $('tier').textContent = `wasm: ${info.tier}`;
    $('data-info').textContent = `data: ${info.trainCount.toLocaleString('en')} training / ${info.testCount.toLocaleString('en')} test images`;
    const select = $('train-count');
    for (const option of select.options) option.disabled = Number(option.value) > info.trainCount;
    setTraining(false);
    setStatus('ready: press Train');
  },
  begin({ steps, samples }) {
    state.steps = steps;
    setStatus(`training on ${samples.toLocaleString('en')} images, ${steps} batches per epoch…`);
  },
  batch({ epoch, batch, steps, loss, accuracy, epochLoss, epochAccuracy }) {
    charts.addBatch(epoch + (batch + 1) / steps, loss, accuracy);
    $('progress').textContent = `epoch ${epoch + 1}/${state.epochs}, batch ${batch + 1}/${steps}: ` +
      `epoch's loss so far ${epochLoss.toFixed(4)}, accuracy ${(epochAccuracy * 100).toFixed(1)}%`;
  },
  epoch({ epoch, testLoss, testAccuracy, seconds }) {
    charts.addEpoch(epoch + 1, testLoss, testAccuracy);
    $('epoch-info').textContent = `after epoch ${epoch + 1}: test accuracy ${(testAccuracy * 100).toFixed(2)}% (epoch took ${seconds.toFixed(2)} s)`;
    pending = true;   // the model changed: classify the drawing again
    pump();
  },
  done({ confusion, testAccuracy, stopped, seconds }) {
    state.framesAtTrainEnd = state.frames;
    setTraining(false);
    setStatus(`${stopped ? 'stopped' : 'done'} in ${seconds.toFixed(1)} s: test accuracy ${(testAccuracy * 100).toFixed(2)}%; draw a digit`);
    renderConfusion($('confusion'), confusion);
    $('confusion-section').hidden = false;
    pending = true;
    pump();
  },
  prediction(message) {
    inFlight = false;
    if (message.id === requestId) showPrediction(message);
    pump();
  },
  error({ message }) {
    inFlight = false;
    setTraining(false);
    setStatus(`error: ${message}`);
  },
};
worker.onmessage = ({ data }) => handlers[data.type]?.(data);
worker.onerror = (e) => setStatus(`worker failed: ${e.message}`);
$('isolation').textContent = `cross-origin isolated: ${self.crossOriginIsolated ? 'yes' : 'no'}`;
