// `tidy` lives in tree/tidy.ts, below every layer that uses it (tree/math.ts needs it too).
// This re-export keeps the files still importing it from here working; new code imports
// '../tree/tidy.js', and this file goes once nothing imports it.
export { tidy } from '../tree/tidy.js';
