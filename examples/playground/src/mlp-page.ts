// The MLP page (mlp.html): trains examples/mlp.ts's network with the optimizers the user picks
// and plots train loss, test accuracy, the gradient norm and the learning rate per optimizer as
// the epochs go by (the last two read from the optimizer's state: telemetry). Each optimizer that
// takes `stateDtype` can keep its moments in bfloat16 or int8; its card shows the state's size.
// Where a backend cannot hold a packed state, init throws and the racer fails with that message.
import * as tf from '@tensorflow/tfjs-core';
import { LineChart, rateScale } from './charts.js';
import { racerColor } from './colors.js';
import { $, h, onWholeNumber } from './dom.js';
import { STEPS_PER_EPOCH, makeDataset, parameterCount, type Dataset } from './mlp-model.js';
import { MAX_EPOCHS, MAX_MLP_RACERS, MLP_LEARNING_RATES, decodeMlpState, encodeMlpState, type MlpState } from './mlp-state.js';
import { MlpTraining } from './mlp-train.js';
import { exposeHook, keepQueryInLinks, nextFrame, preservedPairs, runPage, startSession, wireShareButton, type MlpHook } from './page.js';
import { defaultRacer } from './racer.js';
import { optimizerSelect, racerCard, setRacerStateBytes, setRacerStatus } from './racer-card.js';
import { formatBytes } from './state-dtype.js';

const hook: MlpHook = exposeHook<MlpHook>({
  page: 'mlp',
  backend: '',
  skippedBackends: [],
  query: '',
  finished: false,
  done: Promise.resolve(),
  epochs: 0,
  curves: [],
  errors: [],
  numTensors: () => tf.memory().numTensors,
});

const lossChart = new LineChart($<SVGSVGElement>('#loss-chart'), { xLabel: 'epoch', yLabel: 'train loss', logY: true });
const accuracyChart = new LineChart($<SVGSVGElement>('#accuracy-chart'), {
  xLabel: 'epoch',
  yLabel: 'test accuracy',
  formatY: (y) => `${Math.round(100 * y)}%`,
});
const gradNormChart = new LineChart($<SVGSVGElement>('#grad-norm-chart'), { xLabel: 'epoch', yLabel: 'gradient norm', logY: true });
const lrChart = new LineChart($<SVGSVGElement>('#lr-chart'), { xLabel: 'step', yLabel: 'learning rate' });

let state: MlpState;
let data: Dataset;
let runToken = 0;

function syncUrl(): void {
  const query = encodeMlpState(state, preservedPairs());
  history.replaceState(null, '', `${location.pathname}${query}${location.hash}`);
  hook.query = query;
  keepQueryInLinks();
}

function update(next: MlpState, rebuild: boolean): void {
  state = next;
  syncUrl();
  if (rebuild) renderControls();
  void train();
}

function renderControls(): void {
  $<HTMLInputElement>('#epochs').value = String(state.epochs);
  $('#racers').replaceChildren(
    ...state.racers.map((config, i) =>
      racerCard(config, {
        color: racerColor(i),
        hint: MLP_LEARNING_RATES,
        stateDtype: true,
        onChange: (next) => {
          const racers = [...state.racers];
          racers[i] = next;
          update({ ...state, racers }, false);
        },
        onRemove: () => update({ ...state, racers: state.racers.filter((_, j) => j !== i) }, true),
      }),
    ),
  );
  $('#add-racer').replaceChildren(
    state.racers.length >= MAX_MLP_RACERS
      ? h('span', { class: 'muted', textContent: `at most ${MAX_MLP_RACERS} optimizers` })
      : optimizerSelect(null, (name) => update({ ...state, racers: [...state.racers, defaultRacer(name, MLP_LEARNING_RATES)] }, true), '+ add an optimizer…'),
  );
}

function wireForm(): void {
  onWholeNumber($<HTMLInputElement>('#epochs'), () => state.epochs, MAX_EPOCHS, (epochs) => update({ ...state, epochs }, false));
  $('#train').addEventListener('click', () => void train());
  wireShareButton();
}

function draw(training: MlpTraining): void {
  const xDomain: [number, number] = [0, training.epochs];
  const series = (pick: 'trainLoss' | 'testAccuracy') =>
    training.curves.map((c, i) => ({ label: c.label, color: racerColor(i), ys: c[pick] }));
  lossChart.update(series('trainLoss'), { xDomain });
  accuracyChart.update(series('testAccuracy'), { xDomain, yDomain: [0, 1] });
  // The norm after epoch e is the first point's neighbour: the curve starts at epoch 1.
  gradNormChart.update(
    training.curves.map((c, i) => ({ label: c.label, color: racerColor(i), ys: [NaN, ...c.gradNorm] })),
    { xDomain },
  );
  const steps = training.epochs * STEPS_PER_EPOCH;
  const rates = training.curves.flatMap((c, i) => (c.learningRate.length === 0 ? [] : [{ label: c.label, color: racerColor(i), ys: c.learningRate }]));
  lrChart.update(rates, { xDomain: [0, steps], ...rateScale(rates.map((r) => r.ys)) });
  $('#legend').replaceChildren(
    ...training.curves.map((c, i) => h('span', {}, h('span', { class: 'dot', attrs: { style: `background:${racerColor(i)}` } }), c.label)),
  );
  $('#progress').textContent = `epoch ${training.epoch} / ${training.epochs}`;
}

function renderTable(training: MlpTraining): void {
  const rows = training.curves
    .map((c, i) => ({ c, i, loss: c.trainLoss[c.trainLoss.length - 1] ?? NaN, acc: c.testAccuracy[c.testAccuracy.length - 1] ?? NaN }))
    .sort((a, b) => (Number.isFinite(a.loss) ? a.loss : Infinity) - (Number.isFinite(b.loss) ? b.loss : Infinity));
  $('#leaderboard tbody').replaceChildren(
    ...rows.map(({ c, i, loss, acc }) =>
      h(
        'tr',
        { class: c.status, title: c.message ?? '' },
        h('td', {}, h('span', { class: 'dot', attrs: { style: `background:${racerColor(i)}` } })),
        h('td', { class: 'label', textContent: c.label }),
        h('td', { class: 'value', textContent: c.status === 'failed' ? 'failed' : Number.isFinite(loss) ? loss.toFixed(4) : c.status }),
        h('td', { class: 'value', textContent: Number.isFinite(acc) ? `${(100 * acc).toFixed(1)}%` : '–' }),
      ),
    ),
  );
}

async function train(): Promise<void> {
  const token = ++runToken;
  hook.finished = false;
  let finish: () => void = () => {};
  hook.done = new Promise<void>((resolve) => (finish = resolve));
  const training = new MlpTraining(data, state.epochs, state.racers);
  const cards = Array.from($('#racers').children) as HTMLElement[];
  training.curves.forEach((c, i) => {
    if (!cards[i]) return;
    const bytes = c.stateBytes;
    setRacerStateBytes(cards[i], bytes === null ? '' : bytes === 0 ? 'no tensors' : `${formatBytes(bytes)} (${(bytes / parameterCount()).toFixed(2)} B/param)`);
    setRacerStatus(cards[i], c.message ? `✗ ${c.message}` : '');
  });
  const started = performance.now();
  try {
    await training.evaluate();
    while (!training.finished) {
      draw(training);
      await nextFrame();
      if (token !== runToken) return;
      training.trainEpoch();
      await training.evaluate();
      if (token !== runToken) return;
    }
  } finally {
    training.dispose();
  }
  draw(training);
  renderTable(training);
  training.curves.forEach((c, i) => cards[i] && setRacerStatus(cards[i], c.message ? `✗ ${c.message}` : ''));
  $('#progress').textContent = `${training.epochs} epochs in ${((performance.now() - started) / 1000).toFixed(1)} s on ${hook.backend}`;
  hook.epochs = training.epochs;
  hook.curves = training.curves.map((c) => ({
    label: c.label,
    status: c.status,
    message: c.message ?? null,
    trainLoss: [...c.trainLoss],
    testAccuracy: [...c.testAccuracy],
    gradNorm: [...c.gradNorm],
    learningRate: [...c.learningRate],
    stateBytes: c.stateBytes,
  }));
  hook.finished = true;
  finish();
}

async function main(): Promise<void> {
  const decoded = decodeMlpState(location.search);
  state = decoded.state;
  await startSession(hook, decoded.errors);
  // The dataset lives as long as the page: four tensors.
  data = makeDataset();
  syncUrl();
  renderControls();
  wireForm();
  await train();
}

runPage(main);
