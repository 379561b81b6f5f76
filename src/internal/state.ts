import type { GradientTransformation } from '../types.js';
import { describeNode, formatPath, isPlainObject } from '../tree/walk.js';

/**
 * The layout of a transformation's state, checked at the start of every update, so that a state
 * passed in the wrong argument position, or made by another transformation, fails at once with
 * its path instead of deep inside the math.
 *
 * A plain-object state lists its fields: `'count'` for a step count (a whole number >= 0),
 * `'tree'` for a tensor tree (whose leaves the transformation checks against the updates, as it
 * does the updates themselves). A chain's state is the array of its transformations' layouts,
 * `null` for one that declares none (a user's own transformation: not checked here).
 */
export type StateLayout = { readonly [field: string]: 'count' | 'tree' } | readonly (StateLayout | null)[];

/** Where a transformation keeps its owner and state layout. */
const LAYOUT: unique symbol = Symbol.for('tfjs-optax.stateLayout');

interface Declared {
  /** Who checks (the name the user called), for messages. */
  owner: string;
  layout: StateLayout;
}

type WithLayout<S> = GradientTransformation<S> & { [LAYOUT]?: Declared };

/**
 * `tx` with its state layout declared: its `update` checks the state against `layout` before
 * anything else, and `chain` composes the layout into its own.
 */
export function declareState<S>(owner: string, layout: StateLayout, tx: GradientTransformation<S>): GradientTransformation<S> {
  const declared: Declared = { owner, layout };
  const out: WithLayout<S> = {
    ...tx,
    update: (updates, state, params) => {
      checkLayout(declared, state);
      return tx.update(updates, state, params);
    },
    [LAYOUT]: declared,
  };
  return out;
}

/**
 * Declares on `target` the owner and layout that `source` has (if any), without wrapping its
 * update: for a transformation that checks the state itself with {@link checkStateOf}.
 */
export function copyStateLayout<S>(source: GradientTransformation<unknown>, target: GradientTransformation<S>): GradientTransformation<S> {
  const declared = (source as WithLayout<unknown>)[LAYOUT];
  if (declared !== undefined) (target as WithLayout<S>)[LAYOUT] = declared;
  return target;
}

/** A chain's layout: its transformations' layouts, `null` where one declares none. */
export function chainLayout(transforms: readonly GradientTransformation<any>[]): StateLayout {
  return transforms.map((t) => (t as WithLayout<unknown>)[LAYOUT]?.layout ?? null);
}

/** The name `tx` gives in its errors, if it declares a state layout. */
export function declaredOwner(tx: GradientTransformation<any>): string | undefined {
  return (tx as WithLayout<unknown>)[LAYOUT]?.owner;
}

/** Checks `state` against the layout `tx` declares (nothing if it declares none). */
export function checkStateOf(tx: GradientTransformation<any>, state: unknown): void {
  const declared = (tx as WithLayout<unknown>)[LAYOUT];
  if (declared !== undefined) checkLayout(declared, state);
}

/**
 * Checks `state` against a layout: one property lookup per field, so it costs nothing next to the
 * update itself. Builds a path only to throw.
 */
function checkLayout({ owner, layout }: Declared, state: unknown): void {
  const path: (string | number)[] = [];
  const visit = (expected: StateLayout | null, value: unknown): void => {
    if (expected === null) return;
    if (isLayoutArray(expected)) {
      if (!Array.isArray(value) || value.length !== expected.length) throw mismatch(owner, path, expected, value);
      for (let i = 0; i < expected.length; i++) {
        path.push(i);
        visit(expected[i], value[i]);
        path.pop();
      }
      return;
    }
    if (!isPlainObject(value)) throw mismatch(owner, path, expected, value);
    let fields = 0;
    for (const key in expected) {
      fields++;
      if (!Object.prototype.hasOwnProperty.call(value, key)) throw mismatch(owner, path, expected, value);
      if (expected[key] === 'count') {
        const count = value[key];
        if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) {
          path.push(key);
          const where = formatPath(path, 'state');
          throw new TypeError(`${owner}: ${where} must be a whole number >= 0 (the step count), got ${describeNode(count)}`);
        }
      }
    }
    if (Object.keys(value).length !== fields) throw mismatch(owner, path, expected, value);
  };
  visit(layout, state);
}

function isLayoutArray(layout: StateLayout): layout is readonly (StateLayout | null)[] {
  return Array.isArray(layout);
}

/** A layout as text: `[{count, mu, nu}, {count}]`; `?` for an unchecked position. */
function layoutText(layout: StateLayout | null): string {
  if (layout === null) return '?';
  if (isLayoutArray(layout)) return `[${layout.map(layoutText).join(', ')}]`;
  return `{${Object.keys(layout).sort().join(', ')}}`;
}

function mismatch(owner: string, path: readonly (string | number)[], expected: StateLayout, value: unknown): TypeError {
  return new TypeError(
    `${owner}: ${formatPath(path, 'state')} must be ${layoutText(expected)}, got ${describeNode(value)}; ` +
      `pass the state that ${owner}'s init or last update returned, as update(updates, state, params)`,
  );
}
