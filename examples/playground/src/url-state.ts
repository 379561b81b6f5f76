// The page state in the URL's query string, so that a race is a link:
//
//   ?fn=rosenbrock&start=-1.2,1&steps=300&o=adam(lr=0.05)&o=sgd(lr=0.001,momentum=0.9)~clipnorm(1)~wd(1e-4)~cosine(alpha=0)
//
// One `o=` per racer: the optimizer with its learning rate and the hyperparameters that differ
// from the library's defaults, then the chain: `clipnorm(t)` or `clipvalue(t)`, `wd(x)`, and the
// schedule by id with the values that differ from its defaults, and `state(bfloat16)` or
// `state(int8)` for an optimizer that keeps its moments packed (the MLP page). Numbers are written with
// String(x), which reads back to the same double, so a link restores the race exactly.
import { optimizerByName, type Hyperparameter, type HyperValue, type OptimizerEntry } from './registry.js';
import { defaultRacer, type RacerConfig } from './racer.js';
import { scheduleById, type ScheduleKind } from './schedules.js';
import { effectiveStateDtype, isStateDtype, stateDtypeRefusal } from './state-dtype.js';

/** A parsed `name(key=value, value)`: the name and its arguments, in order. */
interface Segment {
  name: string;
  args: Array<{ key: string | null; value: string }>;
}

function parseSegment(text: string): Segment {
  const match = /^([A-Za-z][\w-]*)(?:\((.*)\))?$/.exec(text.trim());
  if (!match) throw new Error(`cannot read "${text}"`);
  const [, name, inner] = match;
  const args = inner === undefined || inner === '' ? [] : inner.split(',').map((arg) => {
    const eq = arg.indexOf('=');
    return eq < 0 ? { key: null, value: arg.trim() } : { key: arg.slice(0, eq).trim(), value: arg.slice(eq + 1).trim() };
  });
  return { name, args };
}

function formatSegment(name: string, args: Array<[string | null, string]>): string {
  if (args.length === 0) return name;
  return `${name}(${args.map(([k, v]) => (k === null ? v : `${k}=${v}`)).join(',')})`;
}

function parseNumber(text: string, what: string): number {
  const x = Number(text);
  if (text === '' || !Number.isFinite(x)) throw new Error(`${what}: "${text}" is not a number`);
  return x;
}

function formatValue(value: HyperValue): string {
  return value === null ? 'off' : String(value);
}

function parseHyper(h: Hyperparameter, text: string, owner: string): HyperValue {
  const what = `${owner}: ${h.name}`;
  switch (h.kind) {
    case 'number':
      return parseNumber(text, what);
    case 'optional':
      return text === 'off' ? null : parseNumber(text, what);
    case 'boolean':
      if (text !== 'true' && text !== 'false') throw new Error(`${what}: "${text}" is not true or false`);
      return text === 'true';
    case 'choice':
      if (!h.choices.includes(text)) throw new Error(`${what}: "${text}" is not one of ${h.choices.join(', ')}`);
      return text;
  }
}

/** One racer as its `o=` value. */
export function encodeRacer(config: RacerConfig): string {
  const entry = optimizerByName(config.optimizer) as OptimizerEntry;
  const args: Array<[string, string]> = [];
  if (config.learningRate !== null) args.push(['lr', String(config.learningRate)]);
  for (const h of entry.hyperparameters) {
    if (h.name in config.hyper && config.hyper[h.name] !== h.default) args.push([h.name, formatValue(config.hyper[h.name])]);
  }
  const segments = [formatSegment(config.optimizer, args)];
  if (config.clip.kind !== 'none') segments.push(formatSegment(`clip${config.clip.kind}`, [[null, String(config.clip.threshold)]]));
  if (config.weightDecay !== 0) segments.push(formatSegment('wd', [[null, String(config.weightDecay)]]));
  if (config.schedule.id !== 'constant') {
    const kind = scheduleById(config.schedule.id) as ScheduleKind;
    const changed = kind.params.filter((p) => p.name in config.schedule.values && config.schedule.values[p.name] !== p.default);
    segments.push(formatSegment(kind.id, changed.map((p) => [p.name, String(config.schedule.values[p.name])])));
  }
  const dtype = effectiveStateDtype(config);
  if (dtype !== 'float32') segments.push(formatSegment('state', [[null, dtype]]));
  return segments.join('~');
}

/** Reads an `o=` value back; throws an Error naming what it could not read. */
export function decodeRacer(text: string): RacerConfig {
  const [head, ...chain] = text.split('~').map(parseSegment);
  const entry = optimizerByName(head.name);
  if (!entry) throw new Error(`unknown optimizer "${head.name}"`);
  const config = defaultRacer(entry.name, { gradient: 0, step: 0 }, { learningRate: null });
  for (const { key, value } of head.args) {
    if (key === 'lr') {
      if (entry.learningRate === null) throw new Error(`${entry.name} takes no learning rate`);
      config.learningRate = parseNumber(value, `${entry.name}: lr`);
      continue;
    }
    const h = entry.hyperparameters.find((p) => p.name === key);
    if (!h) throw new Error(`${entry.name} has no hyperparameter "${key}"`);
    config.hyper[h.name] = parseHyper(h, value, entry.name);
  }
  if (entry.learningRate !== null && config.learningRate === null) throw new Error(`${entry.name}: lr is missing`);
  for (const segment of chain) {
    const single = () => {
      if (segment.args.length !== 1 || segment.args[0].key !== null) throw new Error(`${segment.name} takes one number`);
      return parseNumber(segment.args[0].value, segment.name);
    };
    if (segment.name === 'clipnorm' || segment.name === 'clipvalue') {
      config.clip = { kind: segment.name === 'clipnorm' ? 'norm' : 'value', threshold: single() };
    } else if (segment.name === 'wd') {
      config.weightDecay = single();
    } else if (segment.name === 'state') {
      const text = segment.args.length === 1 && segment.args[0].key === null ? segment.args[0].value : '';
      if (!isStateDtype(text)) throw new Error(`state takes float32, bfloat16 or int8, got "${segment.args.map((a) => a.value).join(',')}"`);
      if (text === 'float32') delete config.stateDtype;
      else config.stateDtype = text;
    } else {
      const kind = scheduleById(segment.name);
      if (!kind) throw new Error(`unknown chain part or schedule "${segment.name}"`);
      const values: Record<string, number> = {};
      for (const { key, value } of segment.args) {
        const param = kind.params.find((p) => p.name === key);
        if (!param) throw new Error(`schedule ${kind.id} has no parameter "${key}"`);
        values[param.name] = parseNumber(value, `${kind.id}: ${param.name}`);
      }
      config.schedule = { id: kind.id, values };
    }
  }
  const refusal = config.stateDtype === undefined ? null : stateDtypeRefusal(config);
  if (refusal !== null) throw new Error(refusal);
  return config;
}

/** `key=value` pairs as a query string, keeping `,` `=` `:` `(` `)` `~` readable. */
export function formatQuery(pairs: Array<[string, string]>): string {
  const escape = (s: string) => encodeURIComponent(s).replace(/%2C/gi, ',').replace(/%3D/gi, '=').replace(/%3A/gi, ':');
  return pairs.length === 0 ? '' : `?${pairs.map(([k, v]) => `${escape(k)}=${escape(v)}`).join('&')}`;
}

/** Racers from all the `o=` values of a query, with a message for each one that could not be read. */
export function decodeRacers(query: URLSearchParams): { racers: RacerConfig[]; errors: string[] } {
  const racers: RacerConfig[] = [];
  const errors: string[] = [];
  for (const text of query.getAll('o')) {
    try {
      racers.push(decodeRacer(text));
    } catch (err) {
      errors.push(`o=${text}: ${(err as Error).message}`);
    }
  }
  return { racers, errors };
}

export { parseNumber };
