// The drawing pad (a 280x280 canvas, pointer events so mouse, pen and touch all work) and the
// preprocessing that turns a drawing into what the model was trained on. MNIST digits were
// size-normalized to fit a 20x20 box (keeping the aspect ratio, anti-aliased) and then placed in
// the 28x28 field so that their center of mass is at the center; a drawing treated the same way
// is classified far more reliably than a plain 10x downscale of the canvas.

const SIZE = 28, BOX = 20;
/** Stroke width on the 280 px canvas: about MNIST's 2-3 px pen once a digit is scaled into the 20 px box. */
const PEN = 22;

/**
 * Makes `canvas` a drawing pad; `onChange` runs after every stroke segment and after clear().
 * @param {HTMLCanvasElement} canvas @param {() => void} onChange
 */
export function createDrawPad(canvas, onChange) {
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  let last = null;

  const blank = () => {
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
  };
  const clear = () => { blank(); onChange(); };
  // the canvas may be displayed smaller than its 280 px (narrow screens): map to its own pixels
  const point = (e) => {
    const r = canvas.getBoundingClientRect();
    return { x: (e.clientX - r.left) * (canvas.width / r.width), y: (e.clientY - r.top) * (canvas.height / r.height) };
  };
  const segment = (from, to) => {
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = PEN;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
    onChange();
  };

  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);   // keep the stroke when the pointer leaves the canvas
    last = point(e);
    segment(last, last);                     // a dot for a tap
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = point(e);
    segment(last, p);
    last = p;
  });
  const end = () => { last = null; };
  canvas.addEventListener('pointerup', end);
  canvas.addEventListener('pointercancel', end);

  blank();
  return { clear, toMnist: () => toMnist(ctx.getImageData(0, 0, canvas.width, canvas.height)) };
}

/**
 * The drawing as a 28x28 MNIST-style image in [0, 1] (row-major Float32Array of 784), or null
 * when nothing is drawn. @param {ImageData} image (white ink on black)
 */
export function toMnist(image) {
  const { width, height, data } = image;
  const ink = new Float32Array(width * height);
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = data[4 * (y * width + x)] / 255;
      ink[y * width + x] = v;
      if (v > 0.1) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
    }
  }
  if (x1 < 0) return null;

  // 1. the bounding box scaled into the 20x20 box by area averaging (the anti-aliasing MNIST has)
  const bw = x1 - x0 + 1, bh = y1 - y0 + 1;
  const scale = BOX / Math.max(bw, bh);
  const w = Math.max(1, Math.round(bw * scale)), h = Math.max(1, Math.round(bh * scale));
  const box = new Float32Array(w * h);
  for (let j = 0; j < h; j++) {
    const sy0 = y0 + Math.floor(j / scale), sy1 = Math.max(sy0 + 1, y0 + Math.floor((j + 1) / scale));
    for (let i = 0; i < w; i++) {
      const sx0 = x0 + Math.floor(i / scale), sx1 = Math.max(sx0 + 1, x0 + Math.floor((i + 1) / scale));
      let sum = 0, n = 0;
      for (let sy = sy0; sy < Math.min(sy1, y1 + 1); sy++) {
        for (let sx = sx0; sx < Math.min(sx1, x1 + 1); sx++) { sum += ink[sy * width + sx]; n++; }
      }
      box[j * w + i] = n ? sum / n : 0;
    }
  }

  // 2. placed so that its center of mass falls on the field's center, kept inside the field
  let mass = 0, mx = 0, my = 0;
  for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) { const v = box[j * w + i]; mass += v; mx += v * i; my += v * j; }
  const clamp = (v, hi) => Math.min(Math.max(v, 0), hi);
  const ox = clamp(Math.round(SIZE / 2 - mx / mass), SIZE - w), oy = clamp(Math.round(SIZE / 2 - my / mass), SIZE - h);
  const out = new Float32Array(SIZE * SIZE);
  for (let j = 0; j < h; j++) out.set(box.subarray(j * w, (j + 1) * w), (oy + j) * SIZE + ox);
  return out;
}

/** Draws a 28x28 image into a (28x28) preview canvas: what the model sees. */
export function showPreview(canvas, pixels) {
  const ctx = canvas.getContext('2d');
  const img = ctx.createImageData(SIZE, SIZE);
  for (let i = 0; i < SIZE * SIZE; i++) {
    const v = pixels ? Math.round(pixels[i] * 255) : 0;
    img.data.set([v, v, v, 255], 4 * i);
  }
  ctx.putImageData(img, 0, 0);
}
