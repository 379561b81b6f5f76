// A small helper to build DOM trees without a framework.

type Child = Node | string | null | undefined | false;

export interface Props {
  class?: string;
  title?: string;
  dataset?: Record<string, string>;
  attrs?: Record<string, string>;
  on?: Partial<{ [K in keyof HTMLElementEventMap]: (event: HTMLElementEventMap[K]) => void }>;
  [property: string]: unknown;
}

/** `h('label', { class: 'field' }, 'lr', input)`: an element with properties, listeners and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  const { class: className, dataset, attrs, on, ...rest } = props;
  if (className) node.className = className;
  if (dataset) Object.assign(node.dataset, dataset);
  if (attrs) for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (on) for (const [type, listener] of Object.entries(on)) node.addEventListener(type, listener as EventListener);
  Object.assign(node, rest);
  for (const child of children) if (child !== null && child !== undefined && child !== false) node.append(child);
  return node;
}

/** The element matching `selector`, or an error naming it (the page's HTML and the code disagree). */
export function $<T extends Element = HTMLElement>(selector: string, root: ParentNode = document): T {
  const found = root.querySelector<T>(selector);
  if (!found) throw new Error(`the page has no ${selector}`);
  return found;
}

/** A number input that reports a finite number on change (and reverts anything else). */
export function numberInput(value: number, onCommit: (x: number) => void, props: Props = {}): HTMLInputElement {
  const input = h('input', { type: 'text', inputMode: 'decimal', value: String(value), spellcheck: false, ...props });
  input.addEventListener('change', () => {
    const x = Number(input.value.trim());
    if (input.value.trim() === '' || !Number.isFinite(x)) {
      input.value = String(value);
      return;
    }
    value = x;
    onCommit(x);
  });
  return input;
}

/**
 * Makes a text input take a whole number from 1 to `max` on change: anything else reverts to
 * `current()`, a larger number is capped at `max`.
 */
export function onWholeNumber(input: HTMLInputElement, current: () => number, max: number, commit: (n: number) => void): void {
  input.addEventListener('change', () => {
    const n = Math.round(Number(input.value));
    if (input.value.trim() === '' || !Number.isFinite(n) || n < 1) {
      input.value = String(current());
      return;
    }
    input.value = String(Math.min(n, max));
    commit(Math.min(n, max));
  });
}
