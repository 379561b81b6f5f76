import type { FusedAttrs } from './layout.js';
import { ProgramBuilder, type Program } from './program.js';

/**
 * The programs of the whole-tree operations around the optimizer step (tree-ops.ts): `p + rate * g`,
 * a moving average and a fill, each made once.
 */

let axpyProgram: Program | undefined;
let axpbyProgram: Program | undefined;
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

/**
 * `acc * alpha + x * beta` over `leaves` aligned pairs (inputs x, then acc): the float32
 * operations of `tf.add(tf.mul(acc, alpha), tf.mul(x, beta))`, in that order (a moving average).
 */
export function axpbyAttrs(leaves: number, alpha: number, beta: number): FusedAttrs {
  if (axpbyProgram === undefined) {
    const b = new ProgramBuilder();
    const x = b.input();
    const acc = b.input();
    axpbyProgram = b.build([b.add(b.mul(acc, b.scalar()), b.mul(x, b.scalar()))]);
  }
  return attrsOf(axpbyProgram, leaves, [alpha, beta], true);
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
