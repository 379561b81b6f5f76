// The 2-D test functions of the race page. Each is written once, element-wise in tf ops: the
// race takes its gradient at one point, the contour plot evaluates it on a whole grid.
import * as tf from '@tensorflow/tfjs-core';

export type FunctionId = 'rosenbrock' | 'ackley' | 'saddle' | 'quartic' | 'quadratic';

/** Learning rates that suit a problem, by how an optimizer's step depends on the gradient. */
export interface LearningRateHint {
  /** For steps proportional to the gradient (SGD and its momentum variants). */
  gradient: number;
  /** For steps whose size is about the learning rate whatever the gradient (Adam, sign methods). */
  step: number;
}

export interface TestFunction {
  id: FunctionId;
  label: string;
  /** The formula, as shown on the page. */
  formula: string;
  /** What the function shows about optimizers. */
  about: string;
  /** The plotted region. */
  domain: { x: [number, number]; y: [number, number] };
  /** The default start of a race. */
  start: [number, number];
  /** Global minima (marked on the plot) and the loss there. */
  minima: Array<[number, number]>;
  minValue: number;
  /** Other points worth marking: local minima and saddle points. */
  landmarks: Array<{ at: [number, number]; label: string }>;
  learningRates: LearningRateHint;
  /** f(x, y), element-wise on two tensors of one shape. */
  evaluate(x: tf.Tensor, y: tf.Tensor): tf.Tensor;
}

/** The lecture's quartic (examples/local-minimum.ts): global minimum near 3.27, local near -3.25. */
function quartic1d(x: tf.Tensor): tf.Tensor {
  return tf.addN([
    tf.mul(319 / 8400, tf.pow(x, 4)),
    tf.mul(43 / 4200, tf.pow(x, 3)),
    tf.mul(-6799 / 8400, tf.square(x)),
    tf.mul(-299 / 840, x),
    tf.fill(x.shape, 6),
  ]);
}

export const FUNCTIONS: readonly TestFunction[] = [
  {
    id: 'rosenbrock',
    label: 'Rosenbrock',
    formula: '(1 − x)² + 100 (y − x²)²',
    about: 'A curved, narrow valley: finding it is easy, following it to (1, 1) is not.',
    domain: { x: [-2, 2], y: [-1, 3] },
    start: [-1.2, 1],
    minima: [[1, 1]],
    minValue: 0,
    landmarks: [],
    learningRates: { gradient: 1.5e-3, step: 0.05 },
    evaluate: (x, y) => tf.add(tf.square(tf.sub(1, x)), tf.mul(100, tf.square(tf.sub(y, tf.square(x))))),
  },
  {
    id: 'ackley',
    label: 'Ackley',
    formula: '−20 exp(−0.2 √((x² + y²)/2)) − exp((cos 2πx + cos 2πy)/2) + e + 20',
    about: 'A bowl covered in local minima at the integer points; the global one is at the origin.',
    domain: { x: [-4, 4], y: [-4, 4] },
    start: [2.7, -2.2],
    minima: [[0, 0]],
    minValue: 0,
    landmarks: [],
    learningRates: { gradient: 0.02, step: 0.1 },
    evaluate: (x, y) => {
      const r = tf.sqrt(tf.mul(0.5, tf.add(tf.square(x), tf.square(y))));
      const waves = tf.mul(0.5, tf.add(tf.cos(tf.mul(2 * Math.PI, x)), tf.cos(tf.mul(2 * Math.PI, y))));
      return tf.add(tf.add(tf.mul(-20, tf.exp(tf.mul(-0.2, r))), tf.neg(tf.exp(waves))), Math.E + 20);
    },
  },
  {
    id: 'saddle',
    label: 'Saddle',
    formula: 'x² − y² + y⁴/4 + 1',
    about:
      'Like x² − y² around the saddle point at the origin, with two minima at (0, ±√2). ' +
      'Started almost on the x-axis, gradient descent crawls to the saddle before it escapes.',
    domain: { x: [-2.2, 2.2], y: [-2.2, 2.2] },
    start: [1.8, 0.005],
    minima: [
      [0, Math.SQRT2],
      [0, -Math.SQRT2],
    ],
    minValue: 0,
    landmarks: [{ at: [0, 0], label: 'saddle' }],
    learningRates: { gradient: 0.05, step: 0.05 },
    evaluate: (x, y) => tf.add(tf.add(tf.sub(tf.square(x), tf.square(y)), tf.mul(0.25, tf.pow(y, 4))), 1),
  },
  {
    id: 'quartic',
    label: 'Quartic with a local minimum',
    formula: '319/8400 x⁴ + 43/4200 x³ − 6799/8400 x² − 299/840 x + 6 + y²/2',
    about:
      "The lecture's quartic in x (examples/local-minimum.ts) plus a bowl in y: a local minimum " +
      'near x = −3.25 and the global one near x = 3.27. Momentum carries an iterate over the hump.',
    domain: { x: [-5.5, 5.5], y: [-3, 3] },
    start: [-5, 2],
    minima: [[3.2727653540495, 0]],
    minValue: 0.8812471800601571,
    landmarks: [{ at: [-3.2549937570459, 0], label: 'local minimum' }],
    learningRates: { gradient: 0.1, step: 0.1 },
    evaluate: (x, y) => tf.add(quartic1d(x), tf.mul(0.5, tf.square(y))),
  },
  {
    id: 'quadratic',
    label: 'Ill-conditioned quadratic',
    formula: 'x²/2 + 50 y²',
    about: 'Condition number 100 (as in examples/zoo.ts): gradient descent zig-zags across y and crawls along x.',
    domain: { x: [-11, 11], y: [-2.2, 2.2] },
    start: [10, 1],
    minima: [[0, 0]],
    minValue: 0,
    landmarks: [],
    learningRates: { gradient: 0.019, step: 0.1 },
    evaluate: (x, y) => tf.add(tf.mul(0.5, tf.square(x)), tf.mul(50, tf.square(y))),
  },
];

export function functionById(id: string): TestFunction | undefined {
  return FUNCTIONS.find((f) => f.id === id);
}

/** The race's parameters: one tensor holding the point (shape [2], or [1, 2] as a matrix). */
export type PointParams = { xy: tf.Tensor };

/** The loss of a race: `fn` at the point held in `params.xy`, a scalar. */
export function lossOf(fn: TestFunction): (params: PointParams) => tf.Scalar {
  return (params) =>
    tf.tidy(() => {
      const [x, y] = tf.unstack(tf.reshape(params.xy, [2]));
      return tf.reshape(fn.evaluate(x, y), []) as tf.Scalar;
    });
}
