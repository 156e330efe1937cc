// sgd_f32_step against a scalar f64 reference of torch.optim.SGD (torch/optim/sgd.py):
//   g = grad + weight_decay * param
//   if momentum != 0:
//     buf = g                                          on the first step
//     buf = momentum * buf + (1 - dampening) * g       afterwards
//     g = g + momentum * buf if nesterov else buf
//   param -= lr * g
// Several steps with a fresh gradient each step; first=1 on the first step only. Param and buf
// are stored as f32 between steps (as torch does with f32 tensors), so the reference and the
// kernel may drift by a few ulps per step: the tolerance grows with the step count.
import { sgd_f32_step } from "../../assembly/optim";
import {
  seed, allocF32, fillUniform, getF32, snapshot, snapshotBits, expectClose, expectBits,
  checkGuardsAndFree, ODD_SIZES,
} from "./util";

const EPS: f64 = 1.1920928955078125e-7;
const STEPS = 5;
/** Error allowance per f32 rounding step, relative to the magnitudes involved (2 ulps). */
const ROUND: f64 = 2 * EPS;

class Config {
  constructor(
    public name: string,
    public lr: f32,
    public momentum: f32,
    public dampening: f32,
    public weightDecay: f32,
    public nesterov: i32,
  ) {}
}

const CONFIGS: Config[] = [
  new Config("plain", 0.1, 0, 0, 0, 0),
  new Config("momentum 0.9", 0.1, 0.9, 0, 0, 0),
  new Config("momentum 0.9 dampening 0.1", 0.1, 0.9, 0.1, 0, 0),
  new Config("nesterov momentum 0.9", 0.05, 0.9, 0, 0, 1),
  new Config("weight decay 1e-2", 0.1, 0, 0, 0.01, 0),
  new Config("momentum 0.9 weight decay 1e-2", 0.1, 0.9, 0, 0.01, 0),
  new Config("nesterov momentum 0.9 weight decay 1e-2", 0.1, 0.9, 0, 0.01, 1),
  new Config("momentum 0.5 dampening 0.5 weight decay 1e-2", 0.3, 0.5, 0.5, 0.01, 0),
];

function runConfig(cfg: Config, n: i32, misalign: usize): void {
  const base = "sgd_f32_step " + cfg.name + " n=" + n.toString()
    + (misalign ? " (misaligned by " + misalign.toString() + ")" : "");
  seed(<u32>(n * 31 + cfg.name.length * 7 + <i32>misalign));
  const param = allocF32(n, misalign);
  const grad = allocF32(n);
  const buf = allocF32(n, misalign);
  fillUniform(param, n, -2, 2);
  // buf starts as garbage: the first step must not read it
  fillUniform(buf, n, -100, 100);
  const bufInit = snapshotBits(buf, n);

  const lr = <f64>cfg.lr, mom = <f64>cfg.momentum, damp = <f64>cfg.dampening, wd = <f64>cfg.weightDecay;
  const useMomentum = cfg.momentum != 0;
  const refP = snapshot(param, n);
  const refB = new StaticArray<f64>(n);
  const tolP = new StaticArray<f64>(n);
  const tolB = new StaticArray<f64>(n);

  for (let step = 0; step < STEPS; step++) {
    const name = base + " step " + (step + 1).toString();
    const first = step == 0 ? 1 : 0;
    fillUniform(grad, n, -1, 1);
    const gradBits = snapshotBits(grad, n);
    // tolP / tolB carry a running bound of the f32 rounding error of param / buf: each rounding
    // costs at most ROUND * (sum of the magnitudes involved), and older errors propagate through
    // the update formulas (scaled by weight_decay, momentum, lr).
    for (let i = 0; i < n; i++) {
      const p = refP[i];
      const gr = <f64>getF32(grad, i);
      let g = gr + wd * p;
      let eg = wd * tolP[i] + ROUND * (Math.abs(gr) + Math.abs(wd * p));
      if (useMomentum) {
        let b: f64, eb: f64;
        if (first) {
          b = g;
          eb = eg;
        } else {
          b = mom * refB[i] + (1 - damp) * g;
          eb = mom * tolB[i] + (1 - damp) * eg + ROUND * (mom * Math.abs(refB[i]) + (1 - damp) * Math.abs(g) + Math.abs(b));
        }
        refB[i] = <f64><f32>b; // stored as f32
        tolB[i] = eb + EPS * Math.abs(b);
        if (cfg.nesterov) {
          const gn = g + mom * b;
          eg = eg + mom * eb + ROUND * (Math.abs(g) + mom * Math.abs(b) + Math.abs(gn));
          g = gn;
        } else {
          g = b;
          eg = eb;
        }
      }
      const np = p - lr * g;
      tolP[i] = tolP[i] + lr * eg + ROUND * (Math.abs(p) + lr * Math.abs(g) + Math.abs(np)) + 1e-30;
      refP[i] = <f64><f32>np; // stored as f32
    }
    sgd_f32_step(param, grad, buf, n, cfg.lr, cfg.momentum, cfg.dampening, cfg.weightDecay, cfg.nesterov, first);
    expectClose(name + ": param", param, refP, tolP);
    expectBits(name + ": grad unchanged", grad, gradBits);
    if (useMomentum) {
      expectClose(name + ": momentum buffer", buf, refB, tolB);
      if (first && cfg.weightDecay == 0) {
        // torch: buf = clone(grad) on the first step, no dampening applied
        expectBits(name + ": first step sets buf = grad exactly", buf, gradBits);
      }
    } else {
      expectBits(name + ": buf untouched without momentum", buf, bufInit);
    }
  }
  checkGuardsAndFree(base);
}

describe("sgd_f32_step", () => {
  it("plain SGD (no momentum): buf never touched", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) runConfig(CONFIGS[0], ODD_SIZES[s], 0);
  });
  it("momentum 0.9", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) runConfig(CONFIGS[1], ODD_SIZES[s], 0);
  });
  it("momentum 0.9, dampening 0.1 (no dampening on the first step)", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) runConfig(CONFIGS[2], ODD_SIZES[s], 0);
  });
  it("nesterov, momentum 0.9", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) runConfig(CONFIGS[3], ODD_SIZES[s], 0);
  });
  it("weight decay 1e-2", () => {
    for (let s = 0; s < ODD_SIZES.length; s++) runConfig(CONFIGS[4], ODD_SIZES[s], 0);
  });
  it("combinations: momentum + weight decay, nesterov + weight decay, dampening + weight decay", () => {
    for (let c = 5; c < CONFIGS.length; c++) {
      for (let s = 0; s < ODD_SIZES.length; s++) runConfig(CONFIGS[c], ODD_SIZES[s], 0);
    }
  });
  it("works on param / buf pointers that are not 16-byte aligned", () => {
    for (let c = 0; c < CONFIGS.length; c++) {
      runConfig(CONFIGS[c], 17, 4);
      runConfig(CONFIGS[c], 33, 12);
    }
  });
  it("hand-checked: one element, two steps of momentum 0.9 dampening 0.1", () => {
    // step 1: buf = g = 1, p = 1 - 0.1 * 1 = 0.9
    // step 2: g = 2, buf = 0.9 * 1 + 0.9 * 2 = 2.7, p = 0.9 - 0.1 * 2.7 = 0.63
    const p = allocF32(1), g = allocF32(1), b = allocF32(1);
    store<f32>(p, 1); store<f32>(g, 1); store<f32>(b, 12345);
    sgd_f32_step(p, g, b, 1, 0.1, 0.9, 0.1, 0, 0, 1);
    expect<f32>(load<f32>(b)).toBe(1, "buf after step 1");
    expect<f32>(load<f32>(p)).toBeCloseTo(0.9, 6, "param after step 1");
    store<f32>(g, 2);
    sgd_f32_step(p, g, b, 1, 0.1, 0.9, 0.1, 0, 0, 0);
    expect<f32>(load<f32>(b)).toBeCloseTo(2.7, 6, "buf after step 2");
    expect<f32>(load<f32>(p)).toBeCloseTo(0.63, 6, "param after step 2");
    checkGuardsAndFree("sgd hand-checked");
  });
});

// ---------------------------------------------------------------------------------------------
// adam_f32_step and rmsprop_f32_step against scalar f64 references of PyTorch 1.13's
// _single_tensor_adam / _single_tensor_adamw / _single_tensor_rmsprop.
//
// Each step starts the reference from the kernel's own f32 state (parameters and every buffer,
// read back as f64), so the check is of one step at a time, over 5 consecutive steps with a fresh
// gradient each (the bias corrections change with t). The tolerance of each output is a bound on
// the f32 rounding of that one step: U per rounding, times the magnitudes involved, with older
// errors carried through the formulas (sqrt and division included), and a factor 2 to spare.
// State buffers start from random values (v, square_avg >= grad_avg^2 as a real history gives),
// so AMSGrad's max takes either side and every term of every formula is exercised.
import { adam_f32_step, rmsprop_f32_step } from "../../assembly/optim";
import { allocBytes, saveLowMemory, lowMemoryChanges, setF32, uniform, fillValue } from "./util";

const U: f64 = EPS;
const STATE_SIZES: StaticArray<i32> = [1, 3, 4, 5, 17, 1023];

/** Half-width of the range sqrt can take over [x - e, x + e] (x >= 0): the error sqrt adds to e. */
function sqrtSpread(x: f64, e: f64): f64 {
  return Math.sqrt(x + e) - Math.sqrt(Math.max(x - e, 0));
}

/** A bound on the error of a / b given errors ea, eb (b > eb), plus the rounding of the quotient. */
function divErr(a: f64, ea: f64, b: f64, eb: f64): f64 {
  const q = Math.abs(a / b);
  if (!(b > eb)) return Infinity;
  return (ea + q * eb) / (b - eb) + U * q;
}

class AdamConfig {
  constructor(
    public name: string,
    public lr: f64,
    public beta1: f64,
    public beta2: f64,
    public eps: f64,
    public weightDecay: f64,
    public amsgrad: bool,
    public decoupled: i32,
  ) {}
}

const ADAM_CONFIGS: AdamConfig[] = [
  new AdamConfig("adam", 1e-3, 0.9, 0.999, 1e-8, 0, false, 0),
  new AdamConfig("adam weight decay 0.1", 1e-2, 0.9, 0.999, 1e-8, 0.1, false, 0),
  new AdamConfig("adam amsgrad", 1e-2, 0.9, 0.999, 1e-8, 0, true, 0),
  new AdamConfig("adam amsgrad weight decay 0.1", 1e-2, 0.9, 0.999, 1e-8, 0.1, true, 0),
  new AdamConfig("adamw weight decay 0", 1e-2, 0.9, 0.999, 1e-8, 0, false, 1),
  new AdamConfig("adamw weight decay 0.1", 1e-2, 0.9, 0.999, 1e-8, 0.1, false, 1),
  new AdamConfig("adamw amsgrad weight decay 0", 1e-2, 0.9, 0.999, 1e-8, 0, true, 1),
  new AdamConfig("adamw amsgrad weight decay 0.1", 1e-2, 0.9, 0.999, 1e-8, 0.1, true, 1),
  new AdamConfig("adam betas (0.5, 0.6) eps 0.1 weight decay 0.3", 0.05, 0.5, 0.6, 0.1, 0.3, false, 0),
  new AdamConfig("adamw amsgrad betas (0.5, 0.6) eps 0.1 weight decay 0.3", 0.05, 0.5, 0.6, 0.1, 0.3, true, 1),
];

function runAdam(cfg: AdamConfig, n: i32, misalign: usize): void {
  const base = "adam_f32_step " + cfg.name + " n=" + n.toString()
    + (misalign ? " (misaligned by " + misalign.toString() + ")" : "");
  seed(<u32>(n * 131 + cfg.name.length * 17 + <i32>misalign));
  const param = allocF32(n, misalign), grad = allocF32(n), m = allocF32(n, misalign), v = allocF32(n);
  const vmax = cfg.amsgrad ? allocF32(n, misalign) : 0;
  fillUniform(param, n, -2, 2);
  fillUniform(m, n, -0.5, 0.5);
  fillUniform(v, n, 0, 1);
  if (cfg.amsgrad) fillUniform(vmax, n, 0, 1);
  const lowBytes = <usize>n << 2;
  const lowCopy = allocBytes(lowBytes);

  const b1 = cfg.beta1, b2 = cfg.beta2, c1 = 1 - b1, c2 = 1 - b2, wd = cfg.weightDecay, eps = cfg.eps;
  const l2 = !cfg.decoupled && wd != 0, shrink = cfg.decoupled && wd != 0;
  const wantP = new StaticArray<f64>(n), tolP = new StaticArray<f64>(n);
  const wantM = new StaticArray<f64>(n), tolM = new StaticArray<f64>(n);
  const wantV = new StaticArray<f64>(n), tolV = new StaticArray<f64>(n);
  const wantVmax = new StaticArray<f64>(n);

  for (let t = 1; t <= STEPS; t++) {
    const name = base + " step " + t.toString();
    fillUniform(grad, n, -1, 1);
    const gradBits = snapshotBits(grad, n);
    const stepSize = cfg.lr / (1 - Math.pow(b1, <f64>t));
    const bc2Sqrt = Math.sqrt(1 - Math.pow(b2, <f64>t));
    for (let i = 0; i < n; i++) {
      const p = <f64>getF32(param, i), gr = <f64>getF32(grad, i);
      const m0 = <f64>getF32(m, i), v0 = <f64>getF32(v, i);
      let g = gr, eg: f64 = 0;
      if (l2) { g = gr + wd * p; eg = U * (Math.abs(gr) + 2 * Math.abs(wd * p)); }
      let pp = p, ep: f64 = 0;
      if (shrink) { pp = p * (1 - cfg.lr * wd); ep = 2 * U * Math.abs(pp); }
      const m1 = b1 * m0 + c1 * g;
      const em = c1 * eg + 3 * U * (b1 * Math.abs(m0) + c1 * Math.abs(g));
      const v1 = b2 * v0 + c2 * g * g;
      const ev = c2 * (2 * Math.abs(g) * eg + eg * eg) + 4 * U * (b2 * v0 + c2 * g * g);
      let vh = v1;
      if (cfg.amsgrad) {
        vh = Math.max(<f64>getF32(vmax, i), v1);
        wantVmax[i] = vh;
      }
      const sq = Math.sqrt(vh);
      const esq = sqrtSpread(vh, ev) + U * sq;
      const den = sq / bc2Sqrt + eps;
      const eden = esq / bc2Sqrt + 3 * U * (sq / bc2Sqrt) + U * eps;
      const q = m1 / den;
      const eq = divErr(m1, em, den, eden);
      wantP[i] = pp - stepSize * q;
      tolP[i] = 2 * (ep + stepSize * eq + 3 * U * (Math.abs(pp) + stepSize * Math.abs(q))) + 1e-30;
      wantM[i] = m1;
      tolM[i] = 2 * em + 1e-30;
      wantV[i] = v1;
      tolV[i] = 2 * ev + 1e-30;
    }
    saveLowMemory(lowCopy, lowBytes);
    adam_f32_step(param, grad, m, v, vmax, n, cfg.lr, b1, b2, eps, wd, stepSize, bc2Sqrt, cfg.decoupled);
    const lowChanged = lowMemoryChanges(lowCopy, lowBytes);
    expectClose(name + ": param", param, wantP, tolP);
    expectClose(name + ": exp_avg", m, wantM, tolM);
    expectClose(name + ": exp_avg_sq", v, wantV, tolV);
    if (cfg.amsgrad) {
      expectClose(name + ": max_exp_avg_sq", vmax, wantVmax, tolV);
    } else {
      expect<i32>(lowChanged).toBe(0, name + ": words written near address 0 (vmax = 0 without amsgrad)");
    }
    expectBits(name + ": grad unchanged", grad, gradBits);
  }
  checkGuardsAndFree(base);
}

class RmspropConfig {
  constructor(
    public name: string,
    public lr: f64,
    public alpha: f64,
    public eps: f64,
    public weightDecay: f64,
    public momentum: f64,
    public centered: bool,
  ) {}
}

const RMSPROP_CONFIGS: RmspropConfig[] = [
  new RmspropConfig("rmsprop", 1e-2, 0.99, 1e-8, 0, 0, false),
  new RmspropConfig("rmsprop weight decay 0.1", 1e-2, 0.99, 1e-8, 0.1, 0, false),
  new RmspropConfig("rmsprop momentum 0.9", 1e-2, 0.99, 1e-8, 0, 0.9, false),
  new RmspropConfig("rmsprop momentum 0.9 weight decay 0.1", 1e-2, 0.99, 1e-8, 0.1, 0.9, false),
  new RmspropConfig("rmsprop centered", 1e-2, 0.99, 1e-8, 0, 0, true),
  new RmspropConfig("rmsprop centered weight decay 0.1", 1e-2, 0.99, 1e-8, 0.1, 0, true),
  new RmspropConfig("rmsprop centered momentum 0.9", 1e-2, 0.99, 1e-8, 0, 0.9, true),
  new RmspropConfig("rmsprop centered momentum 0.9 weight decay 0.1", 1e-2, 0.99, 1e-8, 0.1, 0.9, true),
  new RmspropConfig("rmsprop alpha 0.5 eps 0.1 momentum 0.5 weight decay 0.3", 0.05, 0.5, 0.1, 0.3, 0.5, false),
  new RmspropConfig("rmsprop centered alpha 0.5 eps 0.1 momentum 0.5 weight decay 0.3", 0.05, 0.5, 0.1, 0.3, 0.5, true),
];

function runRmsprop(cfg: RmspropConfig, n: i32, misalign: usize): void {
  const base = "rmsprop_f32_step " + cfg.name + " n=" + n.toString()
    + (misalign ? " (misaligned by " + misalign.toString() + ")" : "");
  seed(<u32>(n * 137 + cfg.name.length * 19 + <i32>misalign));
  const useMomentum = cfg.momentum > 0;
  const param = allocF32(n, misalign), grad = allocF32(n), sq = allocF32(n, misalign);
  const ga = cfg.centered ? allocF32(n) : 0;
  const buf = useMomentum ? allocF32(n, misalign) : 0;
  fillUniform(param, n, -2, 2);
  for (let i = 0; i < n; i++) {
    // square_avg >= grad_avg^2, as any real history of the two averages gives
    const gav = uniform(-0.5, 0.5);
    if (cfg.centered) setF32(ga, i, gav);
    setF32(sq, i, gav * gav + uniform(0.01, 1));
  }
  if (useMomentum) fillUniform(buf, n, -1, 1);
  const lowBytes = <usize>n << 2;
  const lowCopy = allocBytes(lowBytes);

  const a = cfg.alpha, c = 1 - cfg.alpha, wd = cfg.weightDecay, eps = cfg.eps, mom = cfg.momentum, lr = cfg.lr;
  const wantP = new StaticArray<f64>(n), tolP = new StaticArray<f64>(n);
  const wantS = new StaticArray<f64>(n), tolS = new StaticArray<f64>(n);
  const wantG = new StaticArray<f64>(n), tolG = new StaticArray<f64>(n);
  const wantB = new StaticArray<f64>(n), tolB = new StaticArray<f64>(n);

  for (let t = 1; t <= STEPS; t++) {
    const name = base + " step " + t.toString();
    fillUniform(grad, n, -1, 1);
    const gradBits = snapshotBits(grad, n);
    for (let i = 0; i < n; i++) {
      const p = <f64>getF32(param, i), gr = <f64>getF32(grad, i), s0 = <f64>getF32(sq, i);
      let g = gr, eg: f64 = 0;
      if (wd != 0) { g = gr + wd * p; eg = U * (Math.abs(gr) + 2 * Math.abs(wd * p)); }
      const s1 = a * s0 + c * g * g;
      const es = c * (2 * Math.abs(g) * eg + eg * eg) + 4 * U * (a * s0 + c * g * g);
      wantS[i] = s1;
      tolS[i] = 2 * es + 1e-30;
      let d = s1, ed = es;
      if (cfg.centered) {
        const ga0 = <f64>getF32(ga, i);
        const ga1 = a * ga0 + c * g;
        const ega = c * eg + 3 * U * (a * Math.abs(ga0) + c * Math.abs(g));
        wantG[i] = ga1;
        tolG[i] = 2 * ega + 1e-30;
        d = s1 - ga1 * ga1;
        ed = es + 2 * Math.abs(ga1) * ega + ega * ega + 3 * U * (s1 + ga1 * ga1);
      }
      const root = Math.sqrt(d);
      const avg = root + eps;
      const eavg = sqrtSpread(d, ed) + U * root + 2 * U * avg;
      const r = g / avg;
      let step = r, estep = divErr(g, eg, avg, eavg);
      if (useMomentum) {
        const b0 = <f64>getF32(buf, i);
        step = mom * b0 + r;
        estep = estep + 3 * U * (mom * Math.abs(b0) + Math.abs(r));
        wantB[i] = step;
        tolB[i] = 2 * estep + 1e-30;
      }
      wantP[i] = p - lr * step;
      tolP[i] = 2 * (lr * estep + 3 * U * (Math.abs(p) + lr * Math.abs(step))) + 1e-30;
    }
    saveLowMemory(lowCopy, lowBytes);
    rmsprop_f32_step(param, grad, sq, ga, buf, n, lr, a, eps, wd, mom);
    const lowChanged = lowMemoryChanges(lowCopy, lowBytes);
    expectClose(name + ": param", param, wantP, tolP);
    expectClose(name + ": square_avg", sq, wantS, tolS);
    if (cfg.centered) expectClose(name + ": grad_avg", ga, wantG, tolG);
    if (useMomentum) expectClose(name + ": momentum_buffer", buf, wantB, tolB);
    if (!cfg.centered || !useMomentum) {
      expect<i32>(lowChanged).toBe(0, name + ": words written near address 0 (ga / buf = 0 when unused)");
    }
    expectBits(name + ": grad unchanged", grad, gradBits);
  }
  checkGuardsAndFree(base);
}

describe("adam_f32_step", () => {
  it("Adam and AdamW, with and without AMSGrad and weight decay, on odd sizes", () => {
    for (let c = 0; c < ADAM_CONFIGS.length; c++) {
      for (let s = 0; s < STATE_SIZES.length; s++) runAdam(ADAM_CONFIGS[c], STATE_SIZES[s], 0);
    }
  });
  it("works on pointers that are not 16-byte aligned", () => {
    for (let c = 0; c < ADAM_CONFIGS.length; c++) {
      runAdam(ADAM_CONFIGS[c], 17, 4);
      runAdam(ADAM_CONFIGS[c], 33, 12);
    }
  });
  it("hand-checked: the first step from zero state moves each weight by lr * g / (|g| + eps)", () => {
    // t = 1: m = 0.1 g, v = 0.001 g^2, step_size = lr / 0.1, bc2_sqrt = sqrt(0.001):
    // denom = |g| + eps, so param = 1 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.9 (to 2e-8)
    const p = allocF32(5), g = allocF32(5), m = allocF32(5), v = allocF32(5);
    fillValue(p, 5, 1); fillValue(g, 5, 0.5); fillValue(m, 5, 0); fillValue(v, 5, 0);
    setF32(g, 4, -0.5); // the scalar tail too
    adam_f32_step(p, g, m, v, 0, 5, 0.1, 0.9, 0.999, 1e-8, 0, 0.1 / (1 - 0.9), Math.sqrt(1 - 0.999), 0);
    for (let i = 0; i < 4; i++) expect<f32>(getF32(p, i)).toBeCloseTo(0.9, 6, "param after step 1");
    expect<f32>(getF32(p, 4)).toBeCloseTo(1.1, 6, "param after step 1 (tail, g < 0)");
    // AdamW, lr 0.1, weight decay 0.5: param is first scaled by 1 - 0.05, then the same step
    fillValue(p, 5, 1); fillValue(m, 5, 0); fillValue(v, 5, 0);
    adam_f32_step(p, g, m, v, 0, 5, 0.1, 0.9, 0.999, 1e-8, 0.5, 0.1 / (1 - 0.9), Math.sqrt(1 - 0.999), 1);
    for (let i = 0; i < 4; i++) expect<f32>(getF32(p, i)).toBeCloseTo(0.85, 6, "AdamW param after step 1");
    expect<f32>(getF32(p, 4)).toBeCloseTo(1.05, 6, "AdamW param after step 1 (tail)");
    checkGuardsAndFree("adam hand-checked");
  });
});

describe("rmsprop_f32_step", () => {
  it("plain, centered, momentum, weight decay and their combinations, on odd sizes", () => {
    for (let c = 0; c < RMSPROP_CONFIGS.length; c++) {
      for (let s = 0; s < STATE_SIZES.length; s++) runRmsprop(RMSPROP_CONFIGS[c], STATE_SIZES[s], 0);
    }
  });
  it("works on pointers that are not 16-byte aligned", () => {
    for (let c = 0; c < RMSPROP_CONFIGS.length; c++) {
      runRmsprop(RMSPROP_CONFIGS[c], 17, 4);
      runRmsprop(RMSPROP_CONFIGS[c], 33, 12);
    }
  });
  it("hand-checked: the first step from zero state", () => {
    // alpha 0.99: square_avg = 0.01 * 0.25 = 0.0025, avg = 0.05 (+1e-8); lr 0.01: param = 1 - 0.01 * 0.5 / 0.05 = 0.9
    // centered: grad_avg = 0.005, avg = sqrt(0.0025 - 0.000025) = 0.04975, param = 1 - 0.1005 = 0.8995
    // momentum 0.9 (zero-initialised buffer): buf = 10, param = 0.9
    const p = allocF32(5), g = allocF32(5), s = allocF32(5), ga = allocF32(5), b = allocF32(5);
    fillValue(p, 5, 1); fillValue(g, 5, 0.5); fillValue(s, 5, 0);
    rmsprop_f32_step(p, g, s, 0, 0, 5, 0.01, 0.99, 1e-8, 0, 0);
    for (let i = 0; i < 5; i++) expect<f32>(getF32(p, i)).toBeCloseTo(0.9, 6, "param after step 1");
    fillValue(p, 5, 1); fillValue(s, 5, 0); fillValue(ga, 5, 0);
    rmsprop_f32_step(p, g, s, ga, 0, 5, 0.01, 0.99, 1e-8, 0, 0);
    for (let i = 0; i < 5; i++) expect<f32>(getF32(p, i)).toBeCloseTo(<f32>(1 - 0.005 / Math.sqrt(0.002475)), 6, "centered param");
    fillValue(p, 5, 1); fillValue(s, 5, 0); fillValue(b, 5, 0);
    rmsprop_f32_step(p, g, s, 0, b, 5, 0.01, 0.99, 1e-8, 0, 0.9);
    for (let i = 0; i < 5; i++) {
      expect<f32>(getF32(b, i)).toBeCloseTo(10, 5, "momentum buffer after step 1");
      expect<f32>(getF32(p, i)).toBeCloseTo(0.9, 6, "param after step 1 with momentum");
    }
    checkGuardsAndFree("rmsprop hand-checked");
  });
});
