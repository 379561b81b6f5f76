// The playground in headless Chromium: builds the static site, races five optimizers over
// Rosenbrock, checks the trajectories, the losses, the contour plot and the link, trains the
// MLP page, and saves a screenshot of each page (test/browser/screenshots/, not committed;
// `npm run screenshots` refreshes the README's in docs/images/).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MlpHook, RaceHook } from '../../examples/playground/src/page.js';
import { launchChromium, serveStatic, watchErrors, type StaticServer } from './chromium.js';
import { PLAYGROUND_DIST, RACE_QUERY, ROOT, buildPlayground, finished } from './playground-pages.js';

const SCREENSHOTS = join(ROOT, 'test', 'browser', 'screenshots');
/** The race of the README, shortened; wasm is the quickest backend for 2-element tensors. */
const STEPS = 150;
const RACE = RACE_QUERY.replace('steps=500', `steps=${STEPS}`);

let server: StaticServer;
let browser: Browser;

beforeAll(async () => {
  await buildPlayground();
  server = await serveStatic(PLAYGROUND_DIST);
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

async function open(path: string): Promise<{ page: Page; errors: ReturnType<typeof watchErrors> }> {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  const errors = watchErrors(page);
  await page.goto(`${server.url}${path}`);
  return { page, errors };
}

/** Distinct colours (quantised to 4 bits a channel) and the share of pixels that are not the background. */
async function canvasStats(page: Page, selector: string): Promise<{ colours: number; painted: number }> {
  return page.evaluate((sel) => {
    const canvas = document.querySelector(sel) as HTMLCanvasElement;
    const { data } = (canvas.getContext('2d') as CanvasRenderingContext2D).getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set<number>();
    let painted = 0;
    for (let i = 0; i < data.length; i += 4) {
      colours.add(((data[i] >> 4) << 8) | ((data[i + 1] >> 4) << 4) | (data[i + 2] >> 4));
      // The page background is #0b1020; anything else was drawn.
      if (data[i + 3] > 0 && !(data[i] === 11 && data[i + 1] === 16 && data[i + 2] === 32)) painted++;
    }
    return { colours: colours.size, painted: painted / (data.length / 4) };
  }, selector);
}

describe('playground in Chromium', () => {
  it('races five optimizers over Rosenbrock: every trajectory moves, losses are finite, the plot is drawn', async () => {
    const { page, errors } = await open(`/index.html?backend=wasm&${RACE.slice(1)}`);
    const hook = await finished<RaceHook>(page);
    errors.check();
    expect(hook.backend).toBe('wasm');
    expect(hook.errors).toEqual([]);
    expect(hook.runs.map((r) => r.status)).toEqual(['finished', 'finished', 'finished', 'finished', 'finished']);
    const start = hook.state?.start as [number, number];
    expect(start).toEqual([-1.2, 1]);
    for (const run of hook.runs) {
      expect(run.trajectory, run.label).toHaveLength(STEPS + 1);
      expect(run.losses, run.label).toHaveLength(STEPS + 1);
      expect(run.trajectory[0]).toEqual(start);
      const [x, y] = run.trajectory[STEPS];
      expect(Math.hypot(x - start[0], y - start[1]), `${run.label} moved`).toBeGreaterThan(0.1);
      expect(run.losses.every(Number.isFinite), `${run.label} losses finite`).toBe(true);
    }
    // Rosenbrock at (-1.2, 1) is 24.2; the best racer (L-BFGS) ends at its minimum, 0.
    const first = hook.runs[0].losses[0];
    expect(first).toBeCloseTo(24.2, 4);
    const best = Math.min(...hook.runs.map((r) => r.losses[STEPS]));
    expect(best).toBeLessThan(1e-3 * first);
    expect(hook.tensors).toBe(0);

    const contour = await canvasStats(page, '#contour');
    expect(contour.painted).toBeGreaterThan(0.7);
    expect(contour.colours).toBeGreaterThan(40);
    const paths = await canvasStats(page, '#paths');
    // Five coloured paths, markers and halos on a transparent layer.
    expect(paths.painted).toBeGreaterThan(0.005);
    expect(paths.colours).toBeGreaterThan(5);
    await page.screenshot({ path: join(SCREENSHOTS, 'playground-race.png') });
    await page.close();
  });

  it('keeps the race in the URL: a link restores it, a changed control rewrites it', async () => {
    const link = `?backend=wasm&${RACE.slice(1)}`;
    const { page, errors } = await open(`/index.html${link}`);
    const first = await finished<RaceHook>(page);
    // The page writes the same (canonical) query it was opened with.
    expect(first.query).toBe(link);
    expect(await page.evaluate(() => location.search)).toBe(link);

    // A new page on the same link rebuilds the same race, down to the numbers.
    const again = await open(`/index.html${first.query}`);
    const second = await finished<RaceHook>(again.page);
    expect(second.state).toEqual(first.state);
    expect(second.runs).toEqual(first.runs);
    again.errors.check();
    await again.page.close();

    // Changing a control updates the URL and reruns the race.
    await page.fill('#steps', '60');
    await page.dispatchEvent('#steps', 'change');
    await page.waitForFunction(() => location.search.includes('steps=60'));
    const changed = await finished<RaceHook>(page);
    expect(changed.state?.steps).toBe(60);
    expect(changed.query).toBe(link.replace(`steps=${STEPS}`, 'steps=60'));
    expect(changed.runs[0].trajectory).toHaveLength(61);

    // Clicking the plot moves the start there, into the URL and the race.
    await page.click('#paths', { position: { x: 300, y: 300 } });
    await page.waitForFunction(() => !location.search.includes('start=-1.2,1'));
    const moved = await finished<RaceHook>(page);
    const [x, y] = moved.state?.start as [number, number];
    expect(x).toBeGreaterThan(-2);
    expect(x).toBeLessThan(2);
    expect(y).toBeGreaterThan(-1);
    expect(y).toBeLessThan(3);
    expect(moved.query).toContain(`start=${x},${y}&`);
    for (const run of moved.runs) expect(run.trajectory[0]).toEqual([x, y]);
    errors.check();
    await page.close();
  });

  it("shows the library's error for a bad hyperparameter and races the others", async () => {
    const { page, errors } = await open('/index.html?backend=wasm&steps=10&o=adam(lr=0.05,b1=1.5)&o=sgd(lr=0.001)');
    const hook = await finished<RaceHook>(page);
    errors.check();
    expect(hook.runs[0].status).toBe('failed');
    expect(hook.runs[0].message).toMatch(/adam.*b1.*1\.5/);
    expect(await page.textContent('.racer-card .status')).toContain('b1');
    expect(hook.runs[1].status).toBe('finished');
    expect(hook.runs[1].losses[10]).toBeLessThan(hook.runs[1].losses[0]);
    await page.close();
  });

  it("runs on the page's best backend when none is asked for", async () => {
    const { page, errors } = await open('/index.html?fn=quadratic&steps=20&o=adam(lr=0.3)&o=sgd(lr=0.019)');
    const hook = await finished<RaceHook>(page);
    errors.check();
    expect(['webgpu', 'webgl', 'wasm', 'cpu']).toContain(hook.backend);
    // The badge shows it.
    expect(await page.textContent('[data-backend]')).toBe(`backend: ${hook.backend}`);
    for (const run of hook.runs) {
      expect(run.status).toBe('finished');
      expect(run.losses[20]).toBeLessThan(run.losses[0]);
    }
    console.log(`best backend here: ${hook.backend}; passed over: ${hook.skippedBackends.join('; ') || 'none'}`);
    await page.close();
  });

  it('trains the MLP: every optimizer lowers the train loss and raises the test accuracy', async () => {
    const epochs = 12;
    const { page, errors } = await open(`/mlp.html?backend=wasm&epochs=${epochs}`);
    const hook = await finished<MlpHook>(page);
    errors.check();
    expect(hook.curves.length).toBeGreaterThanOrEqual(4);
    for (const c of hook.curves) {
      expect(c.status, c.label).toBe('finished');
      expect(c.trainLoss, c.label).toHaveLength(epochs + 1);
      expect(c.testAccuracy, c.label).toHaveLength(epochs + 1);
      expect(c.trainLoss.every(Number.isFinite)).toBe(true);
      // Cross-entropy of 3 classes starts near ln 3; accuracy near a third.
      expect(c.trainLoss[epochs], c.label).toBeLessThan(0.6 * c.trainLoss[0]);
      expect(c.testAccuracy[epochs], c.label).toBeGreaterThan(c.testAccuracy[0] + 0.2);
      // Telemetry from the optimizer's state: the monitored gradient norm after each epoch, and
      // the learning rate after each step (every default racer keeps one).
      expect(c.gradNorm, c.label).toHaveLength(epochs);
      expect(c.gradNorm!.every((n) => Number.isFinite(n) && n > 0), c.label).toBe(true);
      expect(c.learningRate, c.label).toHaveLength(epochs * 10);
      expect(c.learningRate!.every((r) => Number.isFinite(r) && r >= 0), c.label).toBe(true);
    }
    // Only the dataset's four tensors stay alive.
    expect(hook.tensors).toBe(4);
    await page.screenshot({ path: join(SCREENSHOTS, 'playground-mlp.png') });
    await page.close();
  });

  it('offers the state dtype on the MLP page: packed Adam trains with a smaller state, on wasm and on webgl', async () => {
    const epochs = 3;
    const query = `epochs=${epochs}&o=sgd(lr=0.1)&o=adam(lr=0.003)&o=adam(lr=0.003)~state(bfloat16)&o=adam(lr=0.003)~state(int8)`;
    const { page, errors } = await open(`/mlp.html?backend=wasm&${query}`);
    let hook = await finished<MlpHook>(page);
    errors.check();
    expect(hook.errors).toEqual([]);
    expect(hook.curves.map((c) => [c.status, c.stateBytes])).toEqual([
      ['finished', 0],
      ['finished', 6168],
      ['finished', 3120],
      ['finished', 1624],
    ]);
    for (const c of hook.curves) expect(c.trainLoss[epochs], c.label).toBeLessThan(c.trainLoss[0]);
    // sgd without momentum keeps float32 moments only: its menu is disabled.
    const menus = await page.$$eval('.racer-card .state-dtype', (els) => els.map((e) => [(e as HTMLSelectElement).value, (e as HTMLSelectElement).disabled]));
    expect(menus).toEqual([['float32', true], ['float32', false], ['bfloat16', false], ['int8', false]]);
    expect(await page.$$eval('.racer-card .state-bytes', (els) => els.map((e) => e.textContent))).toEqual([
      'no tensors',
      '6,168 B (8.00 B/param)',
      '3,120 B (4.05 B/param)',
      '1,624 B (2.11 B/param)',
    ]);
    // Picking int8 for the float32 Adam retrains it and goes into the link.
    await page.selectOption('.racer-card:nth-child(2) .state-dtype', 'int8');
    hook = await finished<MlpHook>(page);
    expect(hook.curves[1]).toMatchObject({ label: 'adam 0.003 · int8 state', status: 'finished', stateBytes: 1624 });
    expect(hook.query).toContain('&o=adam(lr=0.003)~state(int8)&o=adam(lr=0.003)~state(bfloat16)&o=adam(lr=0.003)~state(int8)');
    expect(hook.tensors).toBe(4);
    await page.close();

    // webgl keeps int32 in float textures, exact to 2^24: packed states train there in the 24-bit
    // layout (three bytes per element: bfloat16 5.39 B/param here, int8 2.84).
    const gl = await open(`/mlp.html?backend=webgl&${query}`);
    const glHook = await finished<MlpHook>(gl.page);
    if (glHook.backend !== 'webgl') {
      console.log(`webgl did not start here (${glHook.skippedBackends.join('; ')}): its packed states are not checked`);
    } else {
      expect(glHook.curves.map((c) => [c.status, c.stateBytes])).toEqual([
        ['finished', 0],
        ['finished', 6168],
        ['finished', 4152],
        ['finished', 2192],
      ]);
      for (const c of glHook.curves) expect(c.trainLoss[epochs], c.label).toBeLessThan(c.trainLoss[0]);
      expect(glHook.tensors).toBe(4);
    }
    gl.errors.check();
    await gl.page.close();
  });
});
