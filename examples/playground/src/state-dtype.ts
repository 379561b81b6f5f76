// The dtype an optimizer keeps its moments in (the library's `stateDtype` option): float32, or
// packed as bfloat16 or blockwise int8 to halve or quarter the state's memory. The MLP page
// offers it on each racer whose optimizer takes the option.
import type { StateDtype } from 'tfjs-optax';
import type { RacerConfig } from './racer.js';
import type { OptimizerName } from './registry.js';

export const STATE_DTYPES: readonly StateDtype[] = ['float32', 'bfloat16', 'int8'];

/** The playground's optimizers that take `stateDtype` (sgd only with momentum). */
export const STATE_DTYPE_TAKERS: ReadonlySet<OptimizerName> = new Set<OptimizerName>([
  'sgd',
  'adam',
  'adamw',
  'nadam',
  'nadamw',
  'amsgrad',
  'adabelief',
  'ademamix',
  'lion',
  'lamb',
]);

export function isStateDtype(text: string): text is StateDtype {
  return (STATE_DTYPES as readonly string[]).includes(text);
}

/** Why the racer's optimizer cannot keep a packed state, or null when it can. */
export function stateDtypeRefusal(config: Pick<RacerConfig, 'optimizer' | 'hyper'>): string | null {
  if (!STATE_DTYPE_TAKERS.has(config.optimizer)) return `${config.optimizer} takes no stateDtype`;
  if (config.optimizer === 'sgd' && (config.hyper.momentum ?? null) === null) return 'sgd takes stateDtype with momentum only';
  return null;
}

/** The dtype the racer's moments are kept in: its choice where its optimizer takes one, else float32. */
export function effectiveStateDtype(config: RacerConfig): StateDtype {
  return config.stateDtype !== undefined && stateDtypeRefusal(config) === null ? config.stateDtype : 'float32';
}

/** Bytes as people read them: 6,168 B, 12.3 KB. */
export function formatBytes(bytes: number): string {
  return bytes < 10_000 ? `${bytes.toLocaleString('en-US')} B` : `${(bytes / 1000).toFixed(1)} KB`;
}
