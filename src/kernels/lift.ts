import type { FusedSpec } from './spec.js';

/**
 * The fused description of a transformation whose state holds an inner fused transformation's
 * state: reads it with `get`, writes it back with `set`. Used by `chain` to fuse
 * `chain(clipByGlobalNorm(m), adam(lr))` into one kernel.
 */
export function liftSpec<Inner, Outer>(
  spec: FusedSpec<Inner>,
  get: (outer: Outer) => Inner,
  set: (outer: Outer, inner: Inner) => Outer,
  clipNorm?: number,
): FusedSpec<Outer> {
  return {
    owner: spec.owner,
    family: spec.family,
    flags: spec.flags,
    clipNorm: clipNorm ?? spec.clipNorm,
    flatSlots: spec.flatSlots,
    slotNames: spec.slotNames,
    slots: (s) => spec.slots(get(s)),
    scalars: (s) => spec.scalars(get(s)),
    decaying: spec.decaying && ((s) => spec.decaying!(get(s))),
    decayMask: spec.decayMask,
    ...(spec.programs ? { programs: (s: Outer, params, how) => spec.programs!(get(s), params, how) } : {}),
    next: (s) => {
      const build = spec.next(get(s));
      return (slots) => set(s, build(slots));
    },
  };
}
