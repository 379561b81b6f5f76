// The MLP page's state (epochs and optimizers) and its query string:
// ?epochs=30&o=sgd(lr=0.05,momentum=0.9)&o=adamw(lr=0.01,weightDecay=0.01)~clipnorm(1)~warmup-cosine
import type { LearningRateHint } from './functions.js';
import { defaultRacer, type RacerConfig } from './racer.js';
import { decodeRacers, encodeRacer, formatQuery } from './url-state.js';

export interface MlpState {
  epochs: number;
  racers: RacerConfig[];
}

export const MAX_EPOCHS = 200;
export const MAX_MLP_RACERS = 8;

/** Learning rates for the MLP, as examples/mlp.ts uses them (SGD 0.1, Adam 3e-3). */
export const MLP_LEARNING_RATES: LearningRateHint = { gradient: 0.1, step: 3e-3 };

/** Five of examples/mlp.ts's optimizers, the last its clip + AdamW + warmup-cosine chain. */
export function defaultMlpState(): MlpState {
  const hint = MLP_LEARNING_RATES;
  return {
    epochs: 30,
    racers: [
      defaultRacer('sgd', hint, { learningRate: 0.1 }),
      defaultRacer('sgd', hint, { learningRate: 0.05, hyper: { momentum: 0.9 } }),
      defaultRacer('rmsprop', hint, { learningRate: 3e-3 }),
      defaultRacer('adam', hint, { learningRate: 3e-3 }),
      defaultRacer('adamw', hint, {
        learningRate: 1e-2,
        hyper: { weightDecay: 1e-2 },
        clip: { kind: 'norm', threshold: 1 },
        // 10% of 300 steps: the example's 30 warmup steps.
        schedule: { id: 'warmup-cosine', values: {} },
      }),
    ],
  };
}

export function encodeMlpState(state: MlpState, extra: Array<[string, string]> = []): string {
  return formatQuery([...extra, ['epochs', String(state.epochs)], ...state.racers.map((r): [string, string] => ['o', encodeRacer(r)])]);
}

export function decodeMlpState(search: string): { state: MlpState; errors: string[] } {
  const query = new URLSearchParams(search);
  const state = defaultMlpState();
  const errors: string[] = [];
  const epochs = query.get('epochs');
  if (epochs !== null) {
    const n = Number(epochs);
    if (Number.isInteger(n) && n >= 1 && n <= MAX_EPOCHS) state.epochs = n;
    else errors.push(`epochs=${epochs}: a whole number from 1 to ${MAX_EPOCHS}`);
  }
  if (query.has('o')) {
    const decoded = decodeRacers(query);
    state.racers = decoded.racers.slice(0, MAX_MLP_RACERS);
    errors.push(...decoded.errors);
  }
  return { state, errors };
}
