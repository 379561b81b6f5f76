// The form for one racer: optimizer, learning rate, hyperparameters (the library's defaults
// until changed), and the chain around it (clipping, added weight decay, schedule). Shared by
// the race page and the MLP page (which also offers the state dtype: float32, bfloat16, int8).
import { h, numberInput } from './dom.js';
import type { StateDtype } from 'tfjs-optax';
import type { LearningRateHint } from './functions.js';
import { defaultRacer, entryOf, scheduleApplies, type ClipKind, type RacerConfig } from './racer.js';
import { OPTIMIZERS, families, type Hyperparameter, type HyperValue, type OptimizerName } from './registry.js';
import { SCHEDULES, defaultScheduleValues, scheduleById, type ScheduleId } from './schedules.js';
import { STATE_DTYPES, STATE_DTYPE_TAKERS, effectiveStateDtype, isStateDtype, stateDtypeRefusal } from './state-dtype.js';

export interface RacerCardOptions {
  color: string;
  hint: LearningRateHint;
  onChange(config: RacerConfig): void;
  onRemove?: () => void;
  /** Offer the state dtype (the optimizer's `stateDtype`), with the state's size next to it (setRacerStateBytes). */
  stateDtype?: boolean;
}

/** The optimizer menu, grouped by family. */
export function optimizerSelect(selected: OptimizerName | null, onPick: (name: OptimizerName) => void, placeholder?: string): HTMLSelectElement {
  const select = h('select', { class: 'optimizer-select', title: 'optimizer' });
  if (placeholder) select.append(h('option', { value: '', textContent: placeholder, selected: selected === null }));
  for (const family of families()) {
    const group = h('optgroup', { label: family });
    for (const o of OPTIMIZERS.filter((e) => e.family === family)) {
      group.append(h('option', { value: o.name, textContent: o.name, selected: o.name === selected, title: o.about }));
    }
    select.append(group);
  }
  select.addEventListener('change', () => {
    if (select.value) onPick(select.value as OptimizerName);
  });
  return select;
}

export function racerCard(initial: RacerConfig, options: RacerCardOptions): HTMLElement {
  let config: RacerConfig = structuredClone(initial);
  const card = h('div', { class: 'racer-card' });
  card.style.setProperty('--racer', options.color);

  const commit = (next: RacerConfig, rebuild = false) => {
    config = next;
    options.onChange(structuredClone(config));
    if (rebuild) render();
  };

  const render = () => {
    const entry = entryOf(config);
    const head = h(
      'div',
      { class: 'racer-head' },
      h('span', { class: 'swatch' }),
      optimizerSelect(config.optimizer, (name) =>
        // A new optimizer starts from its defaults; the chain around it stays, and the state dtype where it takes one.
        commit(
          {
            ...defaultRacer(name, options.hint),
            clip: config.clip,
            weightDecay: config.weightDecay,
            schedule: config.schedule,
            ...(config.stateDtype !== undefined && STATE_DTYPE_TAKERS.has(name) ? { stateDtype: config.stateDtype } : {}),
          },
          true,
        ),
      ),
      config.learningRate === null
        ? h('span', { class: 'lr-note', textContent: 'step from a line search' })
        : h(
            'label',
            { class: 'lr', title: 'learning rate' },
            'lr',
            numberInput(config.learningRate, (lr) => commit({ ...config, learningRate: lr }), { class: 'num' }),
          ),
      options.onRemove ? h('button', { class: 'remove', type: 'button', title: 'remove this racer', textContent: '×', on: { click: options.onRemove } }) : null,
    );
    const about = h('div', { class: 'about', textContent: entry.about });

    const changed = Object.keys(config.hyper).length;
    const hyper = h(
      'details',
      { class: 'hyper' },
      h('summary', {}, `hyperparameters${changed > 0 ? ` (${changed} changed)` : ''}`),
      entry.hyperparameters.length === 0
        ? h('p', { class: 'muted', textContent: 'none besides the learning rate' })
        : h('div', { class: 'fields' }, ...entry.hyperparameters.map((p) => hyperField(p, config, (v) => commit(withHyper(config, p, v), true)))),
    );

    const clip = h(
      'select',
      { title: 'gradient clipping before the optimizer' },
      ...(
        [
          ['none', 'no clipping'],
          ['norm', 'clip global norm'],
          ['value', 'clip each value'],
        ] as const
      ).map(([value, text]) => h('option', { value, textContent: text, selected: config.clip.kind === value })),
    );
    clip.addEventListener('change', () => commit({ ...config, clip: { ...config.clip, kind: clip.value as ClipKind } }, true));
    const chainRow = h(
      'div',
      { class: 'chain' },
      clip,
      config.clip.kind === 'none'
        ? null
        : numberInput(config.clip.threshold, (t) => commit({ ...config, clip: { ...config.clip, threshold: t } }), { class: 'num', title: 'clipping threshold' }),
      h(
        'label',
        { title: 'addDecayedWeights before the optimizer (L2 regularisation); 0 for none' },
        'wd',
        numberInput(config.weightDecay, (wd) => commit({ ...config, weightDecay: wd }), { class: 'num' }),
      ),
    );

    const scheduleRow = scheduleControls(() => config, (schedule, rebuild) => commit({ ...config, schedule }, rebuild));
    const stateRow = options.stateDtype ? stateDtypeControls(config, card, (stateDtype) => {
      const next = { ...config };
      if (stateDtype === 'float32') delete next.stateDtype;
      else next.stateDtype = stateDtype;
      commit(next);
    }) : null;
    card.replaceChildren(head, about, hyper, chainRow, scheduleRow, ...(stateRow ? [stateRow] : []), h('div', { class: 'status', textContent: card.dataset.status ?? '' }));
    // Keep the hyperparameters open while editing them.
    if (hyperOpen) hyper.open = true;
    hyper.addEventListener('toggle', () => (hyperOpen = hyper.open));
  };
  let hyperOpen = false;
  render();
  return card;
}

/** Shows a line under the card, such as why the racer failed; '' clears it. */
export function setRacerStatus(card: HTMLElement, text: string): void {
  card.dataset.status = text;
  const line = card.querySelector<HTMLElement>('.status');
  if (line) line.textContent = text;
}

/** Shows the size of the racer's optimizer state (`stateBytes`) next to its state dtype; '' clears it. */
export function setRacerStateBytes(card: HTMLElement, text: string): void {
  card.dataset.stateBytes = text;
  const span = card.querySelector<HTMLElement>('.state-bytes');
  if (span) span.textContent = text;
}

/** The state dtype menu, disabled (saying why) where the optimizer keeps float32 moments only. */
function stateDtypeControls(config: RacerConfig, card: HTMLElement, set: (dtype: StateDtype) => void): HTMLElement {
  const refusal = stateDtypeRefusal(config);
  const current = effectiveStateDtype(config);
  const select = h(
    'select',
    {
      class: 'state-dtype',
      title: refusal ?? 'the dtype the optimizer keeps its moments in (stateDtype): bfloat16 halves the state, int8 quarters it',
      disabled: refusal !== null,
    },
    ...STATE_DTYPES.map((d) => h('option', { value: d, textContent: d, selected: d === current })),
  );
  select.addEventListener('change', () => {
    if (isStateDtype(select.value)) set(select.value);
  });
  return h(
    'div',
    { class: 'state-row' },
    h('span', { class: 'muted', textContent: 'state' }),
    select,
    h('span', { class: 'state-bytes muted', title: 'stateBytes(state) of the optimizer after init', textContent: card.dataset.stateBytes ?? '' }),
  );
}

function withHyper(config: RacerConfig, p: Hyperparameter, value: HyperValue): RacerConfig {
  const hyper = { ...config.hyper };
  if (value === p.default) delete hyper[p.name];
  else hyper[p.name] = value;
  return { ...config, hyper };
}

function hyperField(p: Hyperparameter, config: RacerConfig, set: (value: HyperValue) => void): HTMLElement {
  const value = p.name in config.hyper ? config.hyper[p.name] : p.default;
  const label = (control: HTMLElement, ...rest: HTMLElement[]) =>
    h('label', { class: `field${p.name in config.hyper ? ' changed' : ''}`, title: `${p.help} (default ${String(p.default ?? 'off')})` }, h('span', { textContent: p.name }), control, ...rest);
  switch (p.kind) {
    case 'number':
      return label(numberInput(value as number, set, { class: 'num' }));
    case 'boolean': {
      const box = h('input', { type: 'checkbox', checked: value as boolean });
      box.addEventListener('change', () => set(box.checked));
      return label(box);
    }
    case 'choice': {
      const select = h('select', {}, ...p.choices.map((c) => h('option', { value: c, textContent: c, selected: c === value })));
      select.addEventListener('change', () => set(select.value));
      return label(select);
    }
    case 'optional': {
      const on = value !== null;
      const box = h('input', { type: 'checkbox', checked: on, title: 'on / off' });
      box.addEventListener('change', () => set(box.checked ? p.whenOn : null));
      return label(box, on ? numberInput(value as number, set, { class: 'num' }) : h('span', { class: 'muted', textContent: 'off' }));
    }
  }
}

/** The schedule menu and its parameters; `current` reads the racer as it is when an input commits. */
function scheduleControls(current: () => RacerConfig, set: (schedule: RacerConfig['schedule'], rebuild: boolean) => void): HTMLElement {
  const config = current();
  if (!scheduleApplies(config)) {
    return h('div', { class: 'schedule muted', textContent: config.learningRate === null ? 'no learning rate to schedule' : `${config.optimizer} takes a constant learning rate only` });
  }
  const select = h(
    'select',
    { title: 'learning-rate schedule' },
    ...SCHEDULES.map((s) => h('option', { value: s.id, textContent: s.label, selected: s.id === config.schedule.id, title: s.calls })),
  );
  select.addEventListener('change', () => set({ id: select.value as ScheduleId, values: {} }, true));
  const kind = scheduleById(config.schedule.id);
  const values = kind ? { ...defaultScheduleValues(kind), ...config.schedule.values } : {};
  const params = (kind?.params ?? []).map((p) =>
    h(
      'label',
      { class: 'field', title: p.help },
      h('span', { textContent: p.name }),
      numberInput(values[p.name], (x) => {
        const { schedule } = current();
        const next = { ...schedule.values };
        if (x === p.default) delete next[p.name];
        else next[p.name] = x;
        set({ id: schedule.id, values: next }, false);
      }, { class: 'num' }),
    ),
  );
  return h('div', { class: 'schedule' }, h('span', { class: 'muted', textContent: 'schedule' }), select, ...params);
}
