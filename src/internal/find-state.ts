import { isPlainObject, isTensor } from '../tree/walk.js';

/** A state found inside another, with its path from the outer state. */
export type FoundState = [state: Record<string, unknown>, path: (string | number)[]];

/**
 * The plain objects inside `state` (itself included) whose keys are exactly `fields` (sorted),
 * with their paths: how a reader such as `scheduleFreeEvalParams` or `asgdAverage` finds the
 * state of its transformation inside a chain or a wrapper. A match is not searched further.
 */
export function findStatesWithFields(state: unknown, fields: readonly string[]): FoundState[] {
  const found: FoundState[] = [];
  const visit = (node: unknown, path: (string | number)[]): void => {
    if (isTensor(node)) return;
    if (Array.isArray(node)) {
      node.forEach((child, i) => visit(child, [...path, i]));
    } else if (isPlainObject(node)) {
      const keys = Object.keys(node).sort();
      if (keys.length === fields.length && keys.every((k, i) => k === fields[i])) {
        found.push([node, path]);
        return;
      }
      for (const key of keys) visit(node[key], [...path, key]);
    }
  };
  visit(state, []);
  return found;
}
