import type { GradientTransformation } from '../types.js';
import { describeNode, formatPath, isPlainObject } from '../tree/walk.js';
import { checkNotReplaced } from './replaced.js';
import { recordOf, withRecord } from './record.js';

/**
 * The layout of a transformation's state, checked at the start of every update, so that a state
 * passed in the wrong argument position, or made by another transformation, fails at once with
 * its path instead of deep inside the math.
 *
 * A plain-object state lists its fields (see {@link FieldKind}). A chain's state is the array of
 * its transformations' layouts, `null` for one that declares none (a user's own transformation:
 * not checked here).
 */
export type StateLayout = { readonly [field: string]: FieldKind } | readonly (StateLayout | null)[];

/**
 * What a state field holds:
 * - `'count'`: a step count, a whole number >= 0;
 * - `'tree'`: a tensor tree (whose leaves the transformation checks against the updates, as it
 *   does the updates themselves);
 * - `'nonNegativeTree'`: a tensor tree whose values the transformation's math keeps >= 0 (a
 *   second moment, a sum or maximum of squares), and finite while the gradients are; an update
 *   checks it as a `'tree'`, loading a checkpoint checks every float32 value (finite, >= 0);
 * - `'packedTree'`: a tree of packed moments (`stateDtype` bfloat16 or int8: one int32 tensor
 *   per leaf, see internal/state-dtype.ts), checked by the transformation as a `'tree'`;
 *   `'packedNonNegativeTree'` the same for a moment kept >= 0, whose decoded values loading a
 *   checkpoint checks as it checks a `'nonNegativeTree'`'s;
 * - `'number'`: any JS number (NaN and infinities included), `'flag'`: a boolean, `'any'`:
 *   not checked here;
 * - a {@link HyperField}: a hyperparameter, the value the next update will use;
 * - `{ kind: 'sub', layout }`: the state of an inner transformation (a wrapper's `inner`).
 */
export type FieldKind = 'count' | 'tree' | 'nonNegativeTree' | 'packedTree' | 'packedNonNegativeTree' | 'number' | 'flag' | 'any' | HyperField | SubState;

/**
 * A number-or-schedule hyperparameter kept in the state under its option's name: the value the
 * next update will use, a finite number `>= min`. `at(count)` is the value the transformation
 * itself would give it after `count` updates (what `init` stores, what an old checkpoint without
 * the field is given, and what `injectHyperparams` resets an inner state to).
 */
export interface HyperField {
  readonly kind: 'hyper';
  readonly min: number;
  at(count: number): number;
}

/** The state of an inner transformation, held in a field of a wrapper's state. */
export interface SubState {
  readonly kind: 'sub';
  readonly layout: StateLayout | null;
}

/** A field holding the state of `inner` (checked against the layout `inner` declares). */
export function subState(inner: GradientTransformation<any>): SubState {
  return { kind: 'sub', layout: layoutOf(inner) };
}

/** A field holding an object of inner states, one per key (a `partition`'s labels). */
export function subStates(inners: Readonly<Record<string, GradientTransformation<any>>>): SubState {
  const layout: Record<string, FieldKind> = {};
  for (const key of Object.keys(inners)) layout[key] = subState(inners[key]);
  return { kind: 'sub', layout };
}

interface Declared {
  /** Who checks (the name the user called), for messages. */
  owner: string;
  layout: StateLayout;
}

/** The owner and layout `tx` declares, if any (see internal/record.ts). */
function declaredOf(tx: GradientTransformation<any>): Declared | undefined {
  const { owner, layout } = recordOf(tx);
  return owner === undefined || layout === undefined ? undefined : { owner, layout };
}

/**
 * `tx` with its state layout declared: its `update` checks the state against `layout` before
 * anything else, and `chain` composes the layout into its own.
 */
export function declareState<S>(owner: string, layout: StateLayout, tx: GradientTransformation<S>): GradientTransformation<S> {
  const declared: Declared = { owner, layout };
  const out: GradientTransformation<S> = {
    ...tx,
    update: (updates, state, params, extra) => {
      checkLayout(declared, state);
      return tx.update(updates, state, params, extra);
    },
  };
  return withRecord(out, { owner, layout });
}

/** The state layout `tx` declares, or `null` (a user's own transformation). */
export function layoutOf(tx: GradientTransformation<any>): StateLayout | null {
  return recordOf(tx).layout ?? null;
}

/** A chain's layout: its transformations' layouts, `null` where one declares none. */
export function chainLayout(transforms: readonly GradientTransformation<any>[]): StateLayout {
  return transforms.map(layoutOf);
}

/** The name `tx` gives in its errors, if it declares a state layout. */
export function declaredOwner(tx: GradientTransformation<any>): string | undefined {
  return declaredOf(tx)?.owner;
}

/** Checks `state` against the layout `tx` declares (nothing if it declares none). */
export function checkStateOf(tx: GradientTransformation<any>, state: unknown): void {
  const declared = declaredOf(tx);
  if (declared !== undefined) checkLayout(declared, state);
}

/**
 * Checks `state` against a layout: one property lookup per field, so it costs nothing next to the
 * update itself. Builds a path only to throw.
 */
function checkLayout({ owner, layout }: Declared, state: unknown): void {
  checkNotReplaced(owner, state);
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
      const kind = expected[key];
      if (kind === 'tree' || kind === 'nonNegativeTree' || kind === 'packedTree' || kind === 'packedNonNegativeTree' || kind === 'any') continue;
      path.push(key);
      checkField(owner, path, kind, value[key], visit);
      path.pop();
    }
    if (Object.keys(value).length !== fields) throw mismatch(owner, path, expected, value);
  };
  visit(layout, state);
}

/** Checks one non-tree field; `visit` descends into an inner state. */
function checkField(
  owner: string,
  path: (string | number)[],
  kind: Exclude<FieldKind, 'tree' | 'nonNegativeTree' | 'packedTree' | 'packedNonNegativeTree' | 'any'>,
  value: unknown,
  visit: (expected: StateLayout | null, value: unknown) => void,
): void {
  const fail = (what: string, error: typeof TypeError = TypeError) =>
    new error(`${owner}: ${formatPath(path, 'state')} must be ${what}, got ${describeNode(value)}`);
  if (kind === 'count') {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw fail('a whole number >= 0 (the step count)');
  } else if (kind === 'number') {
    if (typeof value !== 'number') throw fail('a number');
  } else if (kind === 'flag') {
    if (typeof value !== 'boolean') throw fail('true or false');
  } else if (kind.kind === 'hyper') {
    if (typeof value !== 'number') throw fail(`a number (the value the next update uses)`);
    if (!Number.isFinite(value) || value < kind.min) throw fail(`a finite number >= ${kind.min} (the value the next update uses)`, RangeError);
  } else {
    visit(kind.layout, value);
  }
}

/**
 * `state` with every hyperparameter field its layout declares set to the value the
 * transformation itself gives it at that state's count ({@link HyperField.at}): all of them
 * (`'reset'`, for a freshly rebuilt transformation), or only those missing (`'fill'`, for a
 * state saved before the field existed). Copies only the objects it changes.
 */
export function refreshHyperparams<S>(layout: StateLayout | null, state: S, mode: 'reset' | 'fill'): S {
  const visit = (expected: StateLayout | null, value: unknown): unknown => {
    if (expected === null) return value;
    if (isLayoutArray(expected)) {
      if (!Array.isArray(value)) return value;
      let changed = false;
      const out = value.map((v, i) => {
        const r = visit(expected[i] ?? null, v);
        changed ||= r !== v;
        return r;
      });
      return changed ? out : value;
    }
    if (!isPlainObject(value)) return value;
    let out: Record<string, unknown> | undefined;
    const count = typeof value.count === 'number' ? value.count : 0;
    for (const key of Object.keys(expected)) {
      const kind = expected[key];
      if (typeof kind === 'string') continue;
      let next: unknown = value[key];
      if (kind.kind === 'hyper') {
        if (mode === 'reset' || !(key in value)) next = kind.at(count);
      } else if (key in value) {
        next = visit(kind.layout, value[key]);
      }
      if (next !== value[key] || !(key in value)) (out ??= { ...value })[key] = next;
    }
    return out ?? value;
  };
  return visit(layout, state) as S;
}

/** A field of a state layout that holds a value, not an inner state. */
export type ValueField = Exclude<FieldKind, SubState>;

/**
 * Calls `visit` with every field that `layout` declares and `state` has, descending into chains
 * and inner states, with the field's kind, its value and its path. Values of another structure
 * than the layout's are skipped: this walk reads what is there, the structure is checked
 * elsewhere. `state` may be a state or its saved manifest (the same keys and arrays).
 */
export function forEachField(
  layout: StateLayout | null,
  state: unknown,
  visit: (kind: ValueField, value: unknown, path: readonly (string | number)[]) => void,
): void {
  const path: (string | number)[] = [];
  const walk = (expected: StateLayout | null, value: unknown): void => {
    if (expected === null) return;
    if (isLayoutArray(expected)) {
      if (!Array.isArray(value)) return;
      for (let i = 0; i < expected.length && i < value.length; i++) {
        path.push(i);
        walk(expected[i], value[i]);
        path.pop();
      }
      return;
    }
    if (!isPlainObject(value)) return;
    for (const key of Object.keys(expected)) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) continue;
      const kind = expected[key];
      path.push(key);
      if (typeof kind !== 'string' && kind.kind === 'sub') walk(kind.layout, value[key]);
      else visit(kind, value[key], path);
      path.pop();
    }
  };
  walk(layout, state);
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
