// Colours: one per racer (bright, told apart on the dark heat map) and the heat map's ramp.

/** Racer colours, in order of the racers. */
export const RACER_COLORS = ['#ff5d73', '#ffc93c', '#3ddc97', '#4cc9f0', '#c77dff', '#ff9f1c', '#f15bb5', '#e9f5db'];

export function racerColor(i: number): string {
  return RACER_COLORS[i % RACER_COLORS.length];
}

/**
 * The heat map's ramp from low loss (deep blue) to high (pale sand), as anchor colours spread
 * evenly over [0, 1]. Dark where the minima are, so bright trajectories stand out there.
 */
const RAMP: Array<[number, number, number]> = [
  [8, 12, 38],
  [22, 38, 84],
  [30, 78, 121],
  [36, 119, 139],
  [74, 156, 140],
  [140, 186, 135],
  [206, 210, 150],
  [246, 236, 200],
];

/** The ramp's colour at `t` in [0, 1] (clamped), linearly between anchors. */
export function rampColor(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 1)) * (RAMP.length - 1);
  const i = Math.min(RAMP.length - 2, Math.floor(u));
  const f = u - i;
  const [a, b] = [RAMP[i], RAMP[i + 1]];
  return [a[0] + f * (b[0] - a[0]), a[1] + f * (b[1] - a[1]), a[2] + f * (b[2] - a[2])];
}
