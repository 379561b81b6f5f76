// What both pages share: the read-only hook that tests (and curious users) can read as
// `window.__playground`, animation pacing, and the query parameters that belong to the browser
// session rather than to a race (`?backend=`).
import { showBackend, startBackend } from './backend.js';
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
  /** Per epoch after the first, the gradients' norm at the epoch's last step. */
  gradNorm?: number[];
  /** Per step, the learning rate the next step uses (from the state). */
  learningRate?: number[];
  /** Bytes of the optimizer's state after init (`stateBytes`), null where init failed. */
  stateBytes?: number | null;
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

/** Shows a message in the page's notice box (links that could not be read, a failed start). */
export function showNotice(text: string): void {
  const notice = document.querySelector<HTMLElement>('#notice');
  if (!notice) return;
  notice.hidden = false;
  notice.textContent = text;
}

/** Says which parts of the link were replaced by defaults, if any. */
export function reportLinkErrors(errors: readonly string[]): void {
  if (errors.length > 0) showNotice(`Parts of the link could not be read and were replaced by defaults: ${errors.join('; ')}`);
}

/** The header's "Copy link" button: copies the page's URL, which holds its whole state. */
export function wireShareButton(): void {
  const button = document.querySelector<HTMLButtonElement>('#share');
  button?.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(location.href);
      button.textContent = 'Link copied';
    } catch {
      button.textContent = 'Copy the address bar';
    }
    setTimeout(() => (button.textContent = 'Copy link'), 1600);
  });
}

/** Runs a page's start-up, showing why it failed on the page as well as in the console. */
export function runPage(main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    showNotice(`The playground could not start: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  });
}

/**
 * What both pages do before their first run: report the parts of the link that could not be
 * read, start the best backend (or ?backend=), show it, and record both in the hook.
 */
export async function startSession(hook: RaceHook | MlpHook, linkErrors: string[]): Promise<void> {
  hook.errors = linkErrors;
  reportLinkErrors(linkErrors);
  const backend = await startBackend();
  showBackend(backend);
  hook.backend = backend.name;
  hook.skippedBackends = backend.skipped;
}
