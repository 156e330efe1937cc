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
