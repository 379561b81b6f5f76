import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// With @tensorflow/tfjs-core alone no gradient function is registered, and tfjs's own error
// ("Cannot compute gradient: gradient function not found for Sum.") does not say why. Every
// entry point that differentiates a loss says what to import instead. test/setup.ts and other
// test files register the gradients, so this runs in a fresh process
// (test/fixtures/gradients-not-registered.ts) where only tfjs-core and the cpu backend are loaded.

const ROOT = resolve(__dirname, '../..');

interface Outcome {
  result: { name: string; message: string } | 'ok';
  leaked: number;
}

function outcomes(): { before: Record<string, Outcome>; after: Record<string, Outcome> } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', 'test/fixtures/gradients-not-registered.ts'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return JSON.parse(out.trim().split('\n').at(-1)!);
}

const advice = (owner: string) =>
  `${owner}: cannot differentiate the loss: no tfjs gradient function is registered. ` +
  `Import '@tensorflow/tfjs' (or '@tensorflow/tfjs-node'), which registers them; a bundled app on ` +
  `'@tensorflow/tfjs-core' alone imports '@tensorflow/tfjs-core/dist/register_all_gradients' once ` +
  `(tfjs: Cannot compute gradient: gradient function not found for Sum.)`;

describe('differentiating a loss with tfjs-core alone (no gradients registered)', () => {
  const { before, after } = outcomes();

  it.each([
    ['valueAndGrad', 'valueAndGrad'],
    ['valueAndGradFromState', 'valueAndGradFromState'],
    // The zoom line search's first evaluation differentiates `valueFn`.
    ['lbfgsUpdate', 'lbfgs'],
    // Its first evaluation is valueAndGradFromState's.
    ['minimizeLbfgs', 'valueAndGradFromState'],
    // A Hessian-vector product of valueFn; the gradient of valueFn at the adversarial point.
    ['sophiaUpdate', 'sophia'],
    ['samOpaque', 'sam'],
  ])('%s throws an Error that says what to import, and leaks nothing', (name, owner) => {
    expect(before[name]).toEqual({ result: { name: 'Error', message: advice(owner) }, leaked: 0 });
  });

  it("works once '@tensorflow/tfjs' is imported, as the error advises", () => {
    for (const name of ['valueAndGrad', 'valueAndGradFromState', 'lbfgsUpdate', 'minimizeLbfgs', 'sophiaUpdate', 'samOpaque']) {
      expect(after[name], name).toEqual({ result: 'ok', leaked: 0 });
    }
  });
});
