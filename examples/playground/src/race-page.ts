// The race page (index.html): the form, the contour plot with the racing trajectories, the
// loss and learning-rate charts, the leaderboard, and the URL that holds it all.
import * as tf from '@tensorflow/tfjs-core';
import { LineChart, rateScale } from './charts.js';
import { racerColor } from './colors.js';
import { drawContours, evaluateGrid, type Grid } from './contour.js';
import { $, h, onWholeNumber } from './dom.js';
import { FUNCTIONS, functionById, type FunctionId, type TestFunction } from './functions.js';
import { exposeHook, keepQueryInLinks, nextFrame, preservedPairs, runPage, startSession, wireShareButton, type RaceHook } from './page.js';
import { PlotFrame } from './plot-frame.js';
import { MAX_RACERS, MAX_STEPS, PRESETS, decodeState, encodeState, type RaceState } from './race-state.js';
import { Race, type RacerRun } from './race.js';
import { formatNumber, defaultRacer, entryOf, type RacerConfig } from './racer.js';
import { optimizerSelect, racerCard, setRacerStatus } from './racer-card.js';
import { roundSignificant, suggestedLearningRate } from './registry.js';
import { drawMarkers, drawPaths } from './trajectories.js';

/** Frames a race's animation is spread over (steps per frame = steps / this). */
const ANIMATION_FRAMES = 150;
const GRID_SIZE = 200;
/** The loss gap a racer must reach to count as arrived, for the leaderboard. */
const ARRIVED = 1e-3;

const hook: RaceHook = exposeHook<RaceHook>({
  page: 'race',
  backend: '',
  skippedBackends: [],
  state: null,
  query: '',
  finished: false,
  done: Promise.resolve(),
  runs: [],
  errors: [],
  numTensors: () => tf.memory().numTensors,
});

const plot = $<HTMLDivElement>('#plot');
const contourCanvas = $<HTMLCanvasElement>('#contour');
const pathCanvas = $<HTMLCanvasElement>('#paths');
const lossChart = new LineChart($<SVGSVGElement>('#loss-chart'), { xLabel: 'step', yLabel: 'f − f*', logY: true, logFloor: 1e-8 });
const lrChart = new LineChart($<SVGSVGElement>('#lr-chart'), { xLabel: 'step', yLabel: 'learning rate' });

let state: RaceState;
let frame: PlotFrame;
const grids = new Map<FunctionId, Grid>();
/** Bumped for every new race: an older race's loop sees the change and stops. */
let raceToken = 0;

function fnOf(id: FunctionId): TestFunction {
  return functionById(id) as TestFunction;
}

/** Writes the state into the URL (keeping ?backend=) and the test hook. */
function syncUrl(): void {
  const query = encodeState(state, preservedPairs());
  history.replaceState(null, '', `${location.pathname}${query}${location.hash}`);
  hook.state = structuredClone(state);
  hook.query = query;
  keepQueryInLinks();
}

/** Applies a change of state: URL, form (when `rebuild`), and a new race. */
function update(next: RaceState, rebuild: boolean): void {
  state = next;
  syncUrl();
  if (rebuild) renderControls();
  else syncPreset();
  void startRace();
}

// --- the form -------------------------------------------------------------------------------

function renderControls(): void {
  const fn = fnOf(state.fn);
  const presetSelect = $<HTMLSelectElement>('#preset');
  presetSelect.replaceChildren(
    h('option', { value: '', textContent: 'custom race' }),
    ...PRESETS.map((p) => h('option', { value: p.id, textContent: p.label })),
  );
  syncPreset();
  const fnSelect = $<HTMLSelectElement>('#function');
  fnSelect.replaceChildren(...FUNCTIONS.map((f) => h('option', { value: f.id, textContent: f.label, selected: f.id === state.fn })));
  $('#formula').textContent = `f(x, y) = ${fn.formula}`;
  $('#about').textContent = fn.about;
  $<HTMLInputElement>('#start-x').value = String(state.start[0]);
  $<HTMLInputElement>('#start-y').value = String(state.start[1]);
  $<HTMLInputElement>('#steps').value = String(state.steps);

  const list = $('#racers');
  list.replaceChildren(
    ...state.racers.map((config, i) =>
      racerCard(config, {
        color: racerColor(i),
        hint: fn.learningRates,
        onChange: (next) => {
          const racers = [...state.racers];
          racers[i] = next;
          update({ ...state, racers }, false);
        },
        onRemove: () => update({ ...state, racers: state.racers.filter((_, j) => j !== i) }, true),
      }),
    ),
  );
  const add = $('#add-racer');
  add.replaceChildren(
    state.racers.length >= MAX_RACERS
      ? h('span', { class: 'muted', textContent: `at most ${MAX_RACERS} racers` })
      : optimizerSelect(null, (name) => update({ ...state, racers: [...state.racers, defaultRacer(name, fn.learningRates)] }, true), '+ add an optimizer…'),
  );
}

function syncPreset(): void {
  const same = PRESETS.find((p) => encodeState(p.state) === encodeState(state));
  $<HTMLSelectElement>('#preset').value = same ? same.id : '';
}

/**
 * Moves every racer to another function, scaling its learning rate by the ratio of the two
 * functions' suggested rates, so a rate tuned on one problem stays sensible on the next.
 */
function switchFunction(id: FunctionId): RaceState {
  const [from, to] = [fnOf(state.fn), fnOf(id)];
  const racers = state.racers.map((config): RacerConfig => {
    const entry = entryOf(config);
    const before = suggestedLearningRate(entry, from.learningRates);
    const after = suggestedLearningRate(entry, to.learningRates);
    if (config.learningRate === null || before === null || after === null) return config;
    return { ...config, learningRate: roundSignificant((config.learningRate * after) / before, 3) };
  });
  return { ...state, fn: id, start: [...to.start], racers };
}

function wireForm(): void {
  $<HTMLSelectElement>('#preset').addEventListener('change', (e) => {
    const preset = PRESETS.find((p) => p.id === (e.target as HTMLSelectElement).value);
    if (preset) update(structuredClone(preset.state), true);
  });
  $<HTMLSelectElement>('#function').addEventListener('change', (e) => update(switchFunction((e.target as HTMLSelectElement).value as FunctionId), true));
  for (const [id, axis] of [['#start-x', 0], ['#start-y', 1]] as const) {
    $<HTMLInputElement>(id).addEventListener('change', (e) => {
      const input = e.target as HTMLInputElement;
      const value = Number(input.value);
      if (input.value.trim() === '' || !Number.isFinite(value)) {
        input.value = String(state.start[axis]);
        return;
      }
      const start: [number, number] = [...state.start];
      start[axis] = value;
      update({ ...state, start }, false);
    });
  }
  onWholeNumber($<HTMLInputElement>('#steps'), () => state.steps, MAX_STEPS, (steps) => update({ ...state, steps }, false));
  $('#replay').addEventListener('click', () => void startRace());
  wireShareButton();
  pathCanvas.addEventListener('click', (e) => {
    const rect = pathCanvas.getBoundingClientRect();
    const [px, py] = [e.clientX - rect.left, e.clientY - rect.top];
    if (!frame || !frame.contains(px, py)) return;
    const [x, y] = frame.toDomain(px, py);
    update({ ...state, start: [roundSignificant(x, 3), roundSignificant(y, 3)] }, true);
  });
}

// --- drawing --------------------------------------------------------------------------------

/** Sizes a canvas for the device's pixel ratio; returns its context, scaled to CSS pixels. */
function fitCanvas(canvas: HTMLCanvasElement, width: number, height: number): CanvasRenderingContext2D {
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

async function drawBase(fn: TestFunction): Promise<void> {
  let grid = grids.get(fn.id);
  if (!grid) {
    grid = await evaluateGrid(fn, GRID_SIZE);
    grids.set(fn.id, grid);
  }
  const size = Math.max(320, Math.floor(plot.clientWidth));
  frame = new PlotFrame(size, size, fn.domain);
  const ctx = fitCanvas(contourCanvas, size, size);
  ctx.fillStyle = '#0b1020';
  ctx.fillRect(0, 0, size, size);
  drawContours(ctx, frame, grid);
  frame.drawAxes(ctx);
  fitCanvas(pathCanvas, size, size);
}

function drawRace(race: Race): void {
  const ctx = pathCanvas.getContext('2d') as CanvasRenderingContext2D;
  ctx.clearRect(0, 0, frame.width, frame.height);
  drawPaths(
    ctx,
    frame,
    // The first racers on top: the later ones are drawn first.
    race.runs
      .map((run, i) => ({ color: racerColor(i), points: run.trajectory, faded: run.status === 'failed' || run.status === 'diverged' }))
      .reverse(),
  );
  // The start and the minima on top of the paths, which all begin at the one and aim at the other.
  drawMarkers(ctx, frame, race.fn, race.start);
  const minValue = race.fn.minValue;
  const xDomain: [number, number] = [0, race.steps];
  lossChart.update(
    race.runs.map((run, i) => ({ label: run.label, color: racerColor(i), ys: run.losses.map((l) => l - minValue) })),
    { xDomain },
  );
  const rates = race.runs.flatMap((run, i) => (run.learningRates ? [{ label: run.label, color: racerColor(i), ys: run.learningRates }] : []));
  lrChart.update(rates, { xDomain, ...rateScale(rates.map((r) => r.ys)) });
  $('#progress').textContent = `step ${race.step} / ${race.steps}`;
}

function stepsToArrive(run: RacerRun, minValue: number): number | null {
  const k = run.losses.findIndex((l) => l - minValue <= ARRIVED);
  return k < 0 ? null : k;
}

function renderLeaderboard(race: Race): void {
  const minValue = race.fn.minValue;
  const rows = race.runs
    .map((run, i) => ({ run, i, gap: run.losses.length > 0 ? run.losses[run.losses.length - 1] - minValue : NaN }))
    .sort((a, b) => rank(a.run, a.gap) - rank(b.run, b.gap));
  $('#leaderboard tbody').replaceChildren(
    ...rows.map(({ run, i, gap }) => {
      const arrived = stepsToArrive(run, minValue);
      const result =
        run.status === 'failed' ? 'failed' : run.status === 'diverged' ? 'diverged' : Number.isFinite(gap) ? formatGap(gap) : '–';
      return h(
        'tr',
        { class: run.status, title: run.message ?? '' },
        h('td', {}, h('span', { class: 'dot', attrs: { style: `background:${racerColor(i)}` } })),
        h('td', { class: 'label', textContent: run.label }),
        h('td', { class: 'value', textContent: result }),
        h('td', { class: 'value', textContent: arrived === null ? '–' : String(arrived) }),
      );
    }),
  );
}

function rank(run: RacerRun, gap: number): number {
  if (run.status === 'failed') return Infinity;
  if (run.status === 'diverged') return Number.MAX_VALUE;
  return Number.isFinite(gap) ? gap : Number.MAX_VALUE;
}

function formatGap(gap: number): string {
  return gap <= 0 ? '0' : gap < 1e-3 || gap >= 1e4 ? gap.toExponential(1) : formatNumber(roundSignificant(gap, 3));
}

// --- the race -------------------------------------------------------------------------------

async function startRace(): Promise<void> {
  const token = ++raceToken;
  const fn = fnOf(state.fn);
  hook.finished = false;
  let finish: () => void = () => {};
  hook.done = new Promise<void>((resolve) => (finish = resolve));
  await drawBase(fn);
  if (token !== raceToken) return;
  const race = new Race(fn, state.start, state.steps, state.racers);
  const cards = Array.from($('#racers').children) as HTMLElement[];
  race.runs.forEach((run, i) => cards[i] && setRacerStatus(cards[i], run.status === 'failed' ? `✗ ${run.message}` : ''));
  drawRace(race);
  const perFrame = Math.max(1, Math.ceil(state.steps / ANIMATION_FRAMES));
  const started = performance.now();
  try {
    while (!race.finished) {
      await race.advance(perFrame);
      if (token !== raceToken) return;
      drawRace(race);
      await nextFrame();
      if (token !== raceToken) return;
    }
  } finally {
    // A newer race took over, or this one ended: either way its tensors go.
    race.dispose();
  }
  drawRace(race);
  renderLeaderboard(race);
  race.runs.forEach((run, i) => {
    if (cards[i] && run.message) setRacerStatus(cards[i], `${run.status === 'failed' ? '✗' : '↗'} ${run.message}`);
  });
  $('#progress').textContent = `${race.steps} steps in ${((performance.now() - started) / 1000).toFixed(1)} s on ${hook.backend}`;
  hook.runs = race.runs.map((run) => ({
    label: run.label,
    status: run.status,
    message: run.message ?? null,
    trajectory: run.trajectory.map(([x, y]) => [x, y]),
    losses: [...run.losses],
  }));
  hook.finished = true;
  finish();
}

// --- start ----------------------------------------------------------------------------------

async function main(): Promise<void> {
  const decoded = decodeState(location.search);
  state = decoded.state;
  await startSession(hook, decoded.errors);
  syncUrl();
  renderControls();
  wireForm();
  let resized = 0;
  new ResizeObserver(() => {
    // Redraw at the new size once the layout settles (not on the first observation).
    if (resized++ > 0 && hook.finished) void startRace();
  }).observe(plot);
  await startRace();
}

runPage(main);
