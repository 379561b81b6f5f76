// What both pages share: the read-only hook that tests (and curious users) can read as
// `window.__playground`, animation pacing, and the query parameters that belong to the browser
// session rather than to a race (`?backend=`).
import type { RaceState } from './race-state.js';

/** One racer's result as the hook shows it. */
export interface HookRun {
  label: string;
  status: string;
  message: string | null;
  trajectory: Array<[number, number]>;
  losses: number[];
}

interface HookBase {
  backend: string;
  /** Better backends that were passed over, and why. */
  skippedBackends: string[];
  /** The query string that restores the page. */
  query: string;
  /** Whether the current run (race or training) has finished; `done` resolves then. */
  finished: boolean;
  done: Promise<void>;
  /** Links or inputs that could not be read. */
  errors: string[];
  numTensors(): number;
}

export interface RaceHook extends HookBase {
  page: 'race';
  state: RaceState | null;
  runs: HookRun[];
}

/** One optimizer's training curves on the MLP page. */
export interface HookCurves {
  label: string;
  status: string;
  message: string | null;
  /** Per epoch, the first entry before any training. */
  trainLoss: number[];
  testAccuracy: number[];
}

export interface MlpHook extends HookBase {
  page: 'mlp';
  epochs: number;
  curves: HookCurves[];
}

declare global {
  interface Window {
    __playground?: RaceHook | MlpHook;
  }
}

/** Publishes the hook object on `window.__playground` and returns it (the page updates it). */
export function exposeHook<T extends RaceHook | MlpHook>(hook: T): T {
  window.__playground = hook;
  return hook;
}

/** Resolves at the next animation frame (or after 50 ms where frames are throttled). */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 50);
    requestAnimationFrame(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Query parameters that describe the session, not the page's state, and survive every update. */
const SESSION_PARAMS = ['backend'];

export function preservedPairs(): Array<[string, string]> {
  const query = new URLSearchParams(location.search);
  return SESSION_PARAMS.flatMap((k) => {
    const v = query.get(k);
    return v === null ? [] : [[k, v] as [string, string]];
  });
}

/** Carries ?backend= over to the links between the pages. */
export function keepQueryInLinks(): void {
  const pairs = preservedPairs();
  for (const link of Array.from(document.querySelectorAll<HTMLAnchorElement>('a[data-keep-query]'))) {
    const base = link.getAttribute('href')?.split('?')[0] ?? '';
    link.setAttribute('href', pairs.length === 0 ? base : `${base}?${new URLSearchParams(pairs).toString()}`);
  }
}
