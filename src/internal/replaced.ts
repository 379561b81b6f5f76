/**
 * States that `trainStep` has replaced. A step may write the new values into the old state's
 * tensors (an in-place fused step) or dispose them (the composite path), so the old state
 * object is stale either way: its counts are a step behind its tensors, or its tensors are gone.
 * Handing it to a step again must fail, not compute with the wrong numbers.
 */
const replaced = new WeakSet<object>();

/** Marks `old` as replaced by `next` (nothing when they are one object, or not objects). */
export function markReplaced(old: unknown, next: unknown): void {
  if (old !== next && old !== null && typeof old === 'object') replaced.add(old);
}

/** Throws when `state` is a state that `trainStep` has replaced. */
export function checkNotReplaced(owner: string, state: unknown): void {
  if (state !== null && typeof state === 'object' && replaced.has(state)) {
    throw new Error(
      `${owner}: this state was already given to trainStep, which replaced it (its tensors were ` +
        'written in place or disposed); pass the state that trainStep returned: ' +
        '({ params, state } = trainStep(tx, params, state, grads))',
    );
  }
}
