import type { FusedAttrs } from './layout.js';
import { ProgramBuilder, type Program } from './program.js';

/**
 * The programs of the whole-tree operations around the optimizer step (tree-ops.ts): `p + rate * g`
 * and a fill, each made once.
 */

let axpyProgram: Program | undefined;
let fillProgram: Program | undefined;

/** The kernel attributes of one call of `program` over `leaves` leaves, with `scalars`. */
function attrsOf(program: Program, leaves: number, scalars: number[], hasParams: boolean): FusedAttrs {
  return { programs: [program], variants: [], scalars, clipNorm: 0, leaves, hasParams, slotCount: 0 };
}

/**
 * `p + g * rate` over `leaves` aligned pairs (inputs g, then p): the float32 operations of
 * `tf.add(p, tf.mul(g, rate))`, in that order (with rate 1, exactly `tf.add(p, g)`).
 */
export function axpyAttrs(leaves: number, rate: number): FusedAttrs {
  if (axpyProgram === undefined) {
    const b = new ProgramBuilder();
    const g = b.input();
    const p = b.input();
    axpyProgram = b.build([b.add(p, b.mul(g, b.scalar()))]);
  }
  return attrsOf(axpyProgram, leaves, [rate], true);
}

/** Every element set to `value` (the one input is the buffer written over). */
export function fillAttrs(leaves: number, value: number): FusedAttrs {
  if (fillProgram === undefined) {
    const b = new ProgramBuilder();
    b.input();
    fillProgram = b.build([b.scalar()]);
  }
  return attrsOf(fillProgram, leaves, [value], false);
}
