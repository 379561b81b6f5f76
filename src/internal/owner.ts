/**
 * Who error messages are about. A message names what the user called: `adam(0.1, { b1: 2 })`
 * throws "adam: option 'b1' must be ...", not "scaleByAdam: ...", although `scaleByAdam` is the
 * transformation that checks `b1`. So an optimizer builds its chain inside {@link asOwner}, and
 * the factories it is built from (`chain`, `scaleByAdam`, `scaleByLearningRate`, ...) name
 * themselves by {@link ownerOr}: the optimizer's name while one is being built, their own name
 * otherwise. One factory per transformation serves both callers, with no `...For(owner, ...)`
 * twin. (A factory that does not read it, such as `identity`, keeps its own name everywhere.)
 *
 * Only construction reads the owner, and construction is synchronous: a factory reads it once,
 * before it returns, and keeps the name in what it builds (its checks, its state layout, its
 * element step). Errors thrown later, by `init` or `update` (a state of the wrong shape, a
 * disposed tensor, a schedule that returns NaN), therefore still name the optimizer, long after
 * {@link asOwner} has returned.
 *
 * An optimizer may call one of its options by another name than the transformation does (`sgd`'s
 * `momentum` is `trace`'s `decay`); {@link AsOwnerOptions.rename} says so, and the few factories
 * whose options an optimizer renames report them through {@link optionName}.
 */

/**
 * Options of {@link asOwner}.
 */
export interface AsOwnerOptions {
  /**
   * Options of the transformations built that the owner calls by another name, as
   * `{ theirs: ours }`: `{ decay: 'momentum' }`. Honoured where a factory reads the name through
   * {@link optionName} (`trace`'s and `ema`'s `decay`, `scaleByLearningRate`'s `learningRate`).
   * Give it around the one transformation it is about when another part of the chain has an
   * option of the same name (`rmsprop`: its own `decay` is `scaleByRms`'s).
   */
  rename?: Readonly<Record<string, string>>;
}

interface OwnerContext {
  readonly owner: string;
  readonly rename: Readonly<Record<string, string>>;
}

/** The innermost owner being built, if any. */
let current: OwnerContext | undefined;

/**
 * Calls `build` with `owner` as the owner of every transformation it makes, and returns its
 * result. Nests: an optimizer built inside another (`muon`'s AdamW is `adamw(...)`) names itself
 * while it is built, and the outer owner is back when it returns (or throws). The renames of an
 * outer call do not reach an inner one. `build` must make everything synchronously: what it
 * defers (a callback run later, the rest of an async function) runs without the owner.
 */
export function asOwner<T>(owner: string, build: () => T, options: AsOwnerOptions = {}): T {
  const previous = current;
  current = { owner, rename: options.rename ?? {} };
  try {
    return build();
  } finally {
    current = previous;
  }
}

/** The owner for a transformation being made: the caller's, within {@link asOwner}, else `own`. */
export function ownerOr(own: string): string {
  return current?.owner ?? own;
}

/** The name by which the owner calls the option `option` of the transformation being made. */
export function optionName(option: string): string {
  const rename = current?.rename;
  return rename !== undefined && Object.prototype.hasOwnProperty.call(rename, option) ? rename[option] : option;
}
