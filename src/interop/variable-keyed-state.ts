import { isPlainObject, isTensor, sortedKeys } from '../tree/walk.js';

// OptaxOptimizer steps any subset of the variables it has seen: its state is kept for all of
// them, and each step takes the part for its variables out and puts the result back.

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function newLike(obj: object): Record<string, unknown> {
  return Object.getPrototypeOf(obj) === null ? Object.create(null) : {};
}

function sameKeys(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = sortedKeys(a);
  const kb = sortedKeys(b);
  return sameList(ka, kb);
}

/** A state's structure: containers kept, tensors replaced by `true`, other values by `null`. */
export function structureOf(value: unknown): unknown {
  if (isTensor(value)) return true;
  if (Array.isArray(value)) return value.map(structureOf);
  if (isPlainObject(value)) {
    const out = newLike(value);
    for (const k of Object.keys(value)) out[k] = structureOf(value[k]);
    return out;
  }
  return null;
}

/*
 * The three walks below compare a state with the state `tx.init` gives for another set of
 * variables. Where an object has the same keys in both, it is part of the transformation's own
 * structure (a chain's array, `{ count, mu, nu }`) and is walked into; where the keys differ, it
 * is keyed by variable name, and entries are taken per variable.
 */

/** The part of `state` for the variables of `shape` (a smaller set). */
export function restrict(state: unknown, shape: unknown): unknown {
  if (Array.isArray(shape)) return shape.map((s, i) => restrict((state as unknown[])[i], s));
  if (isPlainObject(shape)) {
    const from = state as Record<string, unknown>;
    const out = newLike(from);
    if (sameKeys(shape, from)) for (const k of Object.keys(shape)) out[k] = restrict(from[k], shape[k]);
    else for (const k of Object.keys(shape)) out[k] = from[k];
    return out;
  }
  return state;
}

/** `state` with the entries of the variables of `shape` replaced by those of `next`. */
export function merge(state: unknown, next: unknown, shape: unknown): unknown {
  if (Array.isArray(shape)) return shape.map((s, i) => merge((state as unknown[])[i], (next as unknown[])[i], s));
  if (isPlainObject(shape)) {
    const from = state as Record<string, unknown>;
    const to = next as Record<string, unknown>;
    const out = newLike(from);
    if (sameKeys(shape, from)) {
      for (const k of Object.keys(shape)) out[k] = merge(from[k], to[k], shape[k]);
    } else {
      for (const k of Object.keys(from)) out[k] = from[k];
      for (const k of Object.keys(shape)) out[k] = to[k];
    }
    return out;
  }
  return next;
}

/**
 * The kept `old` state carried over into `fresh` (`tx.init` for a larger or changed set of
 * variables): old entries where they exist, fresh ones for new variables. Changes and frees
 * nothing: the old entries of variables that are gone are pushed to `dropped`, and the caller
 * frees what is not used of `fresh`.
 */
export function graft(owner: string, old: unknown, fresh: unknown, dropped: unknown[]): unknown {
  if (isTensor(fresh)) {
    if (!isTensor(old) || old.shape.length !== fresh.shape.length || old.shape.some((d, i) => d !== fresh.shape[i])) {
      throw new Error(
        `${owner}: this transformation's state does not split by variable (a tensor at the same place has another shape), ` +
          `so the set of variables cannot change between steps; use one optimizer per set of variables`,
      );
    }
    return old;
  }
  if (Array.isArray(fresh)) return fresh.map((f, i) => graft(owner, (old as unknown[])[i], f, dropped));
  if (isPlainObject(fresh)) {
    const from = old as Record<string, unknown>;
    const out = newLike(fresh);
    if (sameKeys(fresh, from)) {
      for (const k of Object.keys(fresh)) out[k] = graft(owner, from[k], fresh[k], dropped);
    } else {
      for (const k of Object.keys(fresh)) out[k] = k in from ? from[k] : fresh[k];
      for (const k of Object.keys(from)) if (!(k in fresh)) dropped.push(from[k]);
    }
    return out;
  }
  return old;
}
