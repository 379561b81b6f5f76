// Picks the page's tfjs backend: `?backend=` if given, else the best one that starts here
// (webgpu, then webgl, then wasm, then cpu). tfjs-core alone registers no gradients, so this
// module also registers them; every page imports it before it touches a tensor.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// The wasm backend fetches its binaries at run time: Vite copies them into the build and
// hands back their URLs, so the static site works from any path.
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

/** Best first. */
export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number];

function isBackendName(name: string | null): name is BackendName {
  return name !== null && (BACKENDS as readonly string[]).includes(name);
}

/** The backend the page runs on, and why better ones were passed over. */
export interface StartedBackend {
  name: BackendName;
  skipped: string[];
}

/**
 * Whether a value computed on the current backend reads back right with `dataSync`. Several of
 * the library's transformations read a scalar synchronously inside `update` (line searches,
 * Polyak's step size, Prodigy's dot products), so a backend whose synchronous read fails cannot
 * run them. The tensor is large enough (4096 elements) that webgpu keeps it on the GPU instead
 * of handing it to the CPU.
 */
function readsBackSynchronously(): boolean {
  try {
    const value = tf.tidy(() => {
      const twos = tf.add(tf.ones([4096]), tf.ones([4096]));
      return tf.sum(tf.mul(twos, twos)).dataSync()[0];
    });
    return value === 4 * 4096;
  } catch {
    return false;
  }
}

/**
 * Starts `?backend=<name>` when the URL asks for one (an error if it does not start), else the
 * first of BACKENDS that starts and reads values back synchronously.
 */
export async function startBackend(search: string = location.search): Promise<StartedBackend> {
  const asked = new URLSearchParams(search).get('backend');
  if (asked !== null && !isBackendName(asked)) {
    throw new Error(`?backend=${asked}: not one of ${BACKENDS.join(', ')}`);
  }
  if (asked) {
    if (!(await tf.setBackend(asked))) throw new Error(`the ${asked} backend did not start in this browser`);
    await tf.ready();
    return { name: asked, skipped: [] };
  }
  const skipped: string[] = [];
  for (const name of BACKENDS) {
    // setBackend resolves to false (with a console warning from tfjs) when a backend cannot start.
    if (!(await tf.setBackend(name))) {
      skipped.push(`${name}: did not start`);
      continue;
    }
    await tf.ready();
    if (readsBackSynchronously()) return { name, skipped };
    skipped.push(`${name}: started, but dataSync read back a wrong value`);
  }
  throw new Error(`no tfjs backend works here (${skipped.join('; ')})`);
}

/** Shows the backend in the page's header badge, with the skipped ones in its tooltip. */
export function showBackend({ name, skipped }: StartedBackend): void {
  const badge = document.querySelector<HTMLElement>('[data-backend]');
  if (badge) {
    badge.dataset.backend = name;
    badge.textContent = `backend: ${name}`;
    badge.title = skipped.length > 0 ? `passed over: ${skipped.join('; ')}` : `tfjs runs on ${name}`;
  }
}
