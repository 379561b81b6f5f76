import type { ScalarOrSchedule } from '../types.js';
import { checkScalarOrSchedule, evaluateSchedule } from './options.js';
import type { HyperField } from './state.js';

/**
 * A number-or-schedule hyperparameter (a learning rate, a weight-decay rate) as the
 * transformations keep it: in the state, under the option's name, as the value the **next**
 * update will use. `init` stores `at(0)`; an update uses the stored value, whatever set it, and
 * stores `next(...)`: the schedule at the following count, or, for a constant, the value just
 * used (so a value set with `setHyperparam` stays until set again).
 */
export class HyperRate implements HyperField {
  readonly kind = 'hyper';
  readonly rate: ScalarOrSchedule;

  /** Checks the option (a number >= `min`, or a schedule) at construction. */
  constructor(
    readonly owner: string,
    readonly option: string,
    rate: unknown,
    readonly min = 0,
  ) {
    this.rate = checkScalarOrSchedule(owner, option, rate, { min });
  }

  /** The option's value after `count` updates: the number, or the schedule checked at `count`. */
  at(count: number): number {
    const value = typeof this.rate === 'number' ? this.rate : evaluateSchedule(this.owner, this.option, this.rate, count);
    if (value < this.min) {
      throw new RangeError(`${this.owner}: the '${this.option}' schedule returned ${value} at count ${count}; a number >= ${this.min} is required`);
    }
    return value;
  }

  /** The value to store after an update at `count` that used `used`. */
  next(used: number, count: number): number {
    return typeof this.rate === 'number' ? used : this.at(count + 1);
  }
}
