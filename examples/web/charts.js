// The demo's charts, with Chart.js (bundled by esbuild; only the pieces used are registered, so
// the rest of the library is tree-shaken away): training loss and accuracy against epochs (train
// per batch, test per epoch), and the class probabilities of the drawing as bars.
import {
  Chart, LineController, LineElement, PointElement, BarController, BarElement,
  LinearScale, CategoryScale, Legend, Tooltip,
} from 'chart.js';

Chart.register(LineController, LineElement, PointElement, BarController, BarElement, LinearScale, CategoryScale, Legend, Tooltip);

const TRAIN = '#2563eb', TEST = '#ea580c';

function lineChart(canvas, yTitle, yOptions) {
  return new Chart(canvas, {
    type: 'line',
    data: {
      datasets: [
        { label: 'train (recent batches)', data: [], borderColor: TRAIN, backgroundColor: TRAIN, pointRadius: 0, borderWidth: 1.5 },
        { label: 'test (end of epoch)', data: [], borderColor: TEST, backgroundColor: TEST, pointRadius: 3, borderWidth: 2 },
      ],
    },
    options: {
      animation: false,          // redrawn many times a second while training
      responsive: true,
      maintainAspectRatio: false,
      parsing: false,            // points are {x, y} already
      normalized: true,
      scales: {
        x: { type: 'linear', min: 0, title: { display: true, text: 'epoch' } },
        y: { ...yOptions, title: { display: true, text: yTitle } },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

/** Loss and accuracy charts; points are added as progress arrives and drawn once per frame. */
export function createTrainingCharts(lossCanvas, accuracyCanvas) {
  const loss = lineChart(lossCanvas, 'NLL loss', { type: 'linear', beginAtZero: true });
  const accuracy = lineChart(accuracyCanvas, 'accuracy', { type: 'linear', suggestedMin: 0.5, max: 1 });
  const charts = [loss, accuracy];
  let scheduled = false;
  const redraw = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => { scheduled = false; for (const c of charts) c.update('none'); });
  };
  return {
    loss, accuracy,
    reset(epochs) {
      for (const c of charts) {
        for (const d of c.data.datasets) d.data = [];
        c.options.scales.x.max = epochs;
      }
      redraw();
    },
    /** @param {number} x fractional epoch */
    addBatch(x, lossValue, accuracyValue) {
      loss.data.datasets[0].data.push({ x, y: lossValue });
      accuracy.data.datasets[0].data.push({ x, y: accuracyValue });
      redraw();
    },
    addEpoch(x, testLoss, testAccuracy) {
      loss.data.datasets[1].data.push({ x, y: testLoss });
      accuracy.data.datasets[1].data.push({ x, y: testAccuracy });
      redraw();
    },
  };
}

/** Bars of the ten class probabilities; the most likely class is highlighted. */
export function createProbabilityBars(canvas) {
  const chart = new Chart(canvas, {
    type: 'bar',
    data: { labels: Array.from({ length: 10 }, (_, i) => String(i)), datasets: [{ label: 'probability', data: new Array(10).fill(0), backgroundColor: [] }] },
    options: {
      animation: { duration: 120 },
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { title: { display: true, text: 'digit' } },
        y: { min: 0, max: 1, title: { display: true, text: 'probability' } },
      },
      plugins: { legend: { display: false } },
    },
  });
  return {
    chart,
    /** @param {number[] | null} probs */
    show(probs) {
      const values = probs ?? new Array(10).fill(0);
      const best = probs ? values.indexOf(Math.max(...values)) : -1;
      chart.data.datasets[0].data = values;
      chart.data.datasets[0].backgroundColor = values.map((_, i) => (i === best ? TEST : '#94a3b8'));
      chart.update();
    },
  };
}
