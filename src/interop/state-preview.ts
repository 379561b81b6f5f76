import type { StateLayout } from '../internal/state.js';
import { isPlainObject } from '../tree/walk.js';

// Before its first step an OptaxOptimizer has no state, yet getHyperparam and setHyperparam
// work: they read a preview of the state's numbers, made from the layout the transformation
// declares or from the state setWeights loaded.

/**
 * A state's numbers as `init` makes them, from the layout its transformation declares: each
 * hyperparameter at count 0 (`HyperField.at(0)`), step counts 0; `null` for tensor trees and
 * undeclared parts, `undefined` for other numbers (not known before a step).
 */
export function initialNumbers(layout: StateLayout | null): unknown {
  if (layout === null) return null;
  if (Array.isArray(layout)) return (layout as readonly (StateLayout | null)[]).map(initialNumbers);
  const fields = layout as Exclude<StateLayout, readonly unknown[]>;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    const kind = fields[key];
    if (kind === 'count') out[key] = 0;
    else if (typeof kind === 'string') out[key] = kind === 'tree' ? null : undefined;
    else out[key] = kind.kind === 'hyper' ? kind.at(0) : initialNumbers(kind.layout);
  }
  return out;
}

/** Whether a layout leaves a part of the state undeclared (a transformation that declares none). */
export function hasUndeclared(layout: StateLayout | null): boolean {
  if (layout === null) return true;
  if (Array.isArray(layout)) return (layout as readonly (StateLayout | null)[]).some(hasUndeclared);
  const fields = layout as Exclude<StateLayout, readonly unknown[]>;
  return Object.keys(fields).some((k) => {
    const kind = fields[k];
    return typeof kind !== 'string' && kind.kind === 'sub' && hasUndeclared(kind.layout);
  });
}

/**
 * A saved state's numbers (a manifest's `state`, see state-manifest.ts): tensor references become
 * `null`, tagged numbers numbers, the rest as it is.
 */
export function savedNumbers(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(savedNumbers);
  if (!isPlainObject(node)) return node;
  const keys = Object.keys(node);
  if (keys.length === 1 && keys[0] === '$tensor') return null;
  if (keys.length === 1 && keys[0] === '$number') return Number(node.$number);
  if (keys.length === 1 && keys[0] === '$undefined') return undefined;
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = savedNumbers(node[k]);
  return out;
}
