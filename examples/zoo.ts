// Every optimizer of the library (but muon, which orthogonalises matrices) on the notebooks' test functions: Rosenbrock's valley, an
// ill-conditioned quadratic and Ackley's many local minima, from the same start each. Prints, per
// function, a table of the steps each optimizer needs to bring the loss below a tolerance and
// its final loss, with a progress line while it runs.
//
//   npm run example:zoo
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import {
  adabelief,
  adafactor,
  adan,
  optimisticAdam,
  optimisticGradientDescent,
  polyakSgd,
  rprop,
  sm3,
  adabound,
  ademamix,
  adopt,
  asgd,
  prodigy,
  soap,
  psgdKron,
  madgrad,
  acprop,
  cocob,
  dog,
  dowg,
  dadaptAdamw,
  sophia,
  sam,
  mechanize,
  chain,
  normalizeByUpdateNorm,
  momo,
  momoAdam,
  galore,
  adadelta,
  adagrad,
  adam,
  adamax,
  adamaxw,
  adamw,
  amsgrad,
  fromage,
  lamb,
  lars,
  lbfgs,
  lion,
  nadam,
  nadamw,
  noisySgd,
  novograd,
  radam,
  rmsprop,
  sgd,
  signSgd,
  signum,
  trainStep,
  treeDispose,
  valueAndGrad,
  valueAndGradFromState,
  yogi,
  type GradientTransformation,
  type Params,
} from 'tfjs-optax';

await tf.setBackend('wasm');

type P = { xy: tf.Tensor1D };

interface TestFunction {
  name: string;
  start: [number, number];
  /** The loss at the minimum, and how close to it counts as reached. */
  min: number;
  tol: number;
  loss(p: P): tf.Scalar;
}

const FUNCTIONS: TestFunction[] = [
  {
    // (1 - x)^2 + 100 (y - x^2)^2: a curved, narrow valley; minimum 0 at (1, 1).
    name: 'Rosenbrock from (-1.2, 1)',
    start: [-1.2, 1],
    min: 0,
    tol: 1e-3,
    loss: ({ xy }) =>
      tf.tidy(() => {
        const [x, y] = tf.unstack(xy);
        return tf.add(tf.square(tf.sub(1, x)), tf.mul(100, tf.square(tf.sub(y, tf.square(x))))) as tf.Scalar;
      }),
  },
  {
    // x^2 / 2 + 50 y^2: condition number 100; minimum 0 at the origin.
    name: 'quadratic, condition 100, from (10, 1)',
    start: [10, 1],
    min: 0,
    tol: 1e-4,
    loss: ({ xy }) => tf.tidy(() => tf.sum(tf.mul(tf.tensor1d([0.5, 50]), tf.square(xy))) as tf.Scalar),
  },
  {
    // Ackley: a bowl covered in local minima; global minimum 0 at the origin.
    name: 'Ackley from (1.5, 1.2)',
    start: [1.5, 1.2],
    min: 0,
    tol: 1e-2,
    loss: ({ xy }) =>
      tf.tidy(() => {
        const r = tf.sqrt(tf.mul(0.5, tf.sum(tf.square(xy))));
        const c = tf.mul(0.5, tf.sum(tf.cos(tf.mul(2 * Math.PI, xy))));
        return tf.add(tf.add(tf.mul(-20, tf.exp(tf.mul(-0.2, r))), tf.neg(tf.exp(c))), Math.E + 20) as tf.Scalar;
      }),
  },
];

/** The optimizers, each with one learning rate per function (Rosenbrock, quadratic, Ackley). */
const OPTIMIZERS: Array<[string, (lr: number) => GradientTransformation<any>, [number, number, number]]> = [
  ['sgd', (lr) => sgd(lr), [1e-3, 1e-2, 1e-2]],
  ['sgd momentum', (lr) => sgd(lr, { momentum: 0.9 }), [1e-3, 1e-2, 1e-2]],
  ['sgd nesterov', (lr) => sgd(lr, { momentum: 0.9, nesterov: true }), [1e-3, 1e-2, 1e-2]],
  ['adagrad', (lr) => adagrad(lr), [0.5, 1, 0.5]],
  ['rmsprop', (lr) => rmsprop(lr), [1e-2, 1e-2, 1e-2]],
  ['adam', (lr) => adam(lr), [0.05, 0.1, 0.05]],
  ['adamw', (lr) => adamw(lr, { weightDecay: 1e-4 }), [0.05, 0.1, 0.05]],
  ['nadam', (lr) => nadam(lr), [0.05, 0.1, 0.05]],
  ['adamax', (lr) => adamax(lr), [0.05, 0.1, 0.05]],
  ['amsgrad', (lr) => amsgrad(lr), [0.05, 0.1, 0.05]],
  ['radam', (lr) => radam(lr), [3e-3, 0.1, 0.05]],
  ['adadelta', (lr) => adadelta(lr), [10, 10, 10]],
  ['lion', (lr) => lion(lr, { weightDecay: 0 }), [3e-3, 3e-2, 3e-3]],
  ['adabelief', (lr) => adabelief(lr), [0.05, 0.1, 0.05]],
  ['yogi', (lr) => yogi(lr), [0.05, 0.1, 0.05]],
  ['adamaxw', (lr) => adamaxw(lr), [0.05, 0.1, 0.05]],
  ['nadamw', (lr) => nadamw(lr), [0.05, 0.1, 0.05]],
  ['signSgd', (lr) => signSgd(lr), [1e-3, 1e-2, 1e-2]],
  ['signum', (lr) => signum(lr), [1e-3, 1e-2, 1e-2]],
  ['noisySgd', (lr) => noisySgd(lr, { seed: 1 }), [1e-3, 1e-2, 1e-2]],
  ['lamb', (lr) => lamb(lr), [0.05, 0.1, 0.05]],
  ['lars', (lr) => lars(lr), [1, 10, 1]],
  ['fromage', (lr) => fromage(lr), [0.01, 0.05, 0.01]],
  ['novograd', (lr) => novograd(lr), [0.05, 0.1, 0.05]],
  ['adabound', (lr) => adabound(lr, { finalLr: 1e-3 }), [0.05, 0.1, 0.05]],
  ['asgd', (lr) => asgd(lr), [1e-3, 1e-2, 1e-2]],
  ['adopt', (lr) => adopt(lr), [0.05, 0.1, 0.05]],
  ['ademamix', (lr) => ademamix(lr), [0.01, 0.05, 0.01]],
  ['prodigy', (lr) => prodigy(lr), [1, 1, 1]],
  // Preconditioned: the 2-vector gets a full 2x2 preconditioner (SOAP's precondition1d, a
  // triangular Kron factor from rank 1); SOAP's first step only sets its eigenbasis.
  ['soap', (lr) => soap(lr, { precondition1d: true, weightDecay: 0 }), [0.05, 0.1, 0.05]],
  ['psgdKron', (lr) => psgdKron(lr, { minNdimTriangular: 1 }), [0.05, 0.1, 0.05]],
  ['madgrad', (lr) => madgrad(lr), [0.01, 0.05, 0.01]],
  // Its first step is the gradient times the rate (no second moment yet), so the rate stays small.
  ['acprop', (lr) => acprop(lr), [1e-2, 1e-2, 1e-2]],
  ['cocob', (lr) => cocob(lr), [1, 1, 1]],
  ['dog', (lr) => dog(lr), [1, 1, 1]],
  ['dowg', (lr) => dowg(lr), [1, 1, 1]],
  ['dadaptAdamw', (lr) => dadaptAdamw(lr), [1, 1, 1]],
  // Sophia estimates the Hessian's diagonal from the loss function (read from `extra.valueFn`).
  ['sophia', (lr) => sophia(lr), [0.05, 0.1, 0.05]],
  // SAM around Adam: Adam's step from the point a normalized step of 1e-3 uphill finds (a fixed
  // radius keeps it that far from an exact minimum: a larger one misses the tolerances).
  ['sam', (lr) => sam(adam(lr), chain(normalizeByUpdateNorm({ eps: 0 }), sgd(1e-3))), [0.05, 0.1, 0.05]],
  // Mechanic learns the scale of Adam's steps: the rate stays 1.
  ['mechanize', (lr) => mechanize(adam(lr)), [1, 1, 1]],
  // MoMo's step is Polyak-type, from the loss (read from `extra.value`), capped by the rate.
  ['momo', (lr) => momo(lr), [1, 1, 1]],
  ['momoAdam', (lr) => momoAdam(lr), [1, 1, 1]],
  // GaLore projects matrices; the zoo's parameter is a vector, so these are its base Adam's numbers.
  // (dpsgd is not here: it takes per-example gradients, and these functions have no examples.)
  ['galore', (lr) => galore(lr), [0.05, 0.1, 0.05]],
  ['rprop', (lr) => rprop(lr), [1e-3, 1e-2, 1e-2]],
  ['adan', (lr) => adan(lr), [0.05, 0.1, 0.05]],
  ['optimisticGradientDescent', (lr) => optimisticGradientDescent(lr), [1e-3, 1e-2, 1e-2]],
  ['optimisticAdam', (lr) => optimisticAdam(lr), [0.01, 0.05, 0.01]],
  ['adafactor', (lr) => adafactor(lr), [0.05, 0.1, 0.05]],
  ['sm3', (lr) => sm3(lr), [0.05, 0.1, 0.05]],
  // Polyak's step size from the loss (read from `extra.value`).
  ['polyakSgd', (lr) => polyakSgd(lr), [1, 1, 1]],
  // L-BFGS sets its own step with a line search (and reads the loss and gradient from `extra`).
  ['lbfgs', () => lbfgs(), [NaN, NaN, NaN]],
];

/** Optimizers that read the loss (and the gradient and loss function) from `extra`. */
const WITH_EXTRA = new Set(['lbfgs', 'polyakSgd', 'sophia', 'momo', 'momoAdam']);
/** Optimizers with a line search, whose state holds the loss and gradient at the point it accepted. */
const LINE_SEARCH = new Set(['lbfgs']);

// ZOO_MAX_STEPS shortens the race (the test suite runs the example with 400 steps to keep CI short).
const MAX_STEPS = Number(process.env.ZOO_MAX_STEPS ?? 2000);

/** Runs `tx` on `f` until the loss is within `tol` of the minimum or MAX_STEPS: steps taken (or null) and the final loss. */
function race(f: TestFunction, tx: GradientTransformation<any>, withExtra: boolean, lineSearch: boolean): { steps: number | null; loss: number } {
  let params: P = { xy: tf.tensor1d(f.start) };
  let state = tx.init(params);
  const lossAndGrad = valueAndGrad(f.loss);
  // A line search keeps the loss and gradient of the point it accepted: reuse them.
  const fromState = valueAndGradFromState(f.loss);
  let loss = Infinity;
  let reached: number | null = null;
  for (let k = 0; k < MAX_STEPS; k++) {
    let grads: P;
    if (lineSearch) {
      const vg = fromState(params, state);
      loss = vg.value;
      grads = vg.grad as unknown as P;
    } else {
      const vg = lossAndGrad(params);
      loss = vg.value.dataSync()[0];
      vg.value.dispose();
      grads = vg.grads as unknown as P;
    }
    if (loss - f.min <= f.tol) {
      treeDispose(grads);
      reached = k;
      break;
    }
    const extra = withExtra ? { value: loss, grad: grads, valueFn: f.loss as (p: Params) => tf.Scalar } : undefined;
    ({ params, state } = trainStep(tx, params, state, grads, { extra }));
  }
  treeDispose([params, state]);
  return { steps: reached, loss };
}

const before = tf.memory().numTensors;
for (const [fi, f] of FUNCTIONS.entries()) {
  console.log(`\n${f.name}: steps to a loss within ${f.tol} of the minimum (at most ${MAX_STEPS}), and the loss there`);
  console.log('| optimizer | learning rate | steps | loss |\n|---|---:|---:|---:|');
  for (const [i, [name, make, lrs]] of OPTIMIZERS.entries()) {
    process.stderr.write(`\r  ${f.name}: ${name} (${i + 1}/${OPTIMIZERS.length})`.padEnd(70));
    const { steps, loss } = race(f, make(lrs[fi]), WITH_EXTRA.has(name), LINE_SEARCH.has(name));
    const lr = Number.isNaN(lrs[fi]) ? 'line search' : lrs[fi];
    console.log(`| ${name} | ${lr} | ${steps === null ? `> ${MAX_STEPS}` : steps} | ${loss.toExponential(2)} |`);
  }
  process.stderr.write('\r'.padEnd(72) + '\r');
}
if (tf.memory().numTensors !== before) throw new Error(`leaked ${tf.memory().numTensors - before} tensors`);
console.log(`\n${tf.memory().numTensors - before} tensors leaked over all runs.`);
