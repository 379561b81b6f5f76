// The optimizer catalogue's data: one entry per optimizer the library exports. The page
// docs/guides/optimizers.md is written from it by test/catalogue.test.ts, which adds what the
// code knows (the family and one line from the playground's registry, the backends with a fused
// kernel, a playground link) and fails when the page is stale or an optimizer has no entry.
// To add an optimizer: one entry here, then `npm run docs:catalogue`.
//
// Formulas use: g the gradient, p the parameters, u the update (p + u is the new p), lr the
// learning rate, t = count + 1, m and v the first and second moments, ^ a bias-corrected value.

export interface CatalogueEntry {
  /** The export's name. */
  name: string;
  /** What it is built of, in Markdown: the chain of transformations. */
  chain: string;
  /** The update, in Markdown (inline code). */
  update: string;
  /** The options and their defaults, in Markdown. */
  defaults: string;
  /** The paper (or the reference implementation): a citation and a link. */
  paper: { cite: string; url: string };
}

const arxiv = (cite: string, id: string) => ({ cite, url: `https://arxiv.org/abs/${id}` });

export const CATALOGUE: readonly CatalogueEntry[] = [
  {
    name: 'sgd',
    chain: '`trace` (if `momentum`), `scaleByLearningRate`',
    update: '`u = -lr * g`; with momentum `t = g + momentum * t`, `u = -lr * t` (Nesterov: `u = -lr * (g + momentum * t)`)',
    defaults: '`momentum?` (none), `nesterov = false`',
    paper: { cite: 'Sutskever et al. 2013 (momentum)', url: 'https://proceedings.mlr.press/v28/sutskever13.html' },
  },
  {
    name: 'noisySgd',
    chain: '`addNoise`, `scaleByLearningRate`',
    update: '`u = -lr * (g + sqrt(eta / t^gamma) * n)`, `n ~ N(0, 1)` drawn from `seed`',
    defaults: '`eta = 0.01`, `gamma = 0.55`, `seed = 0`',
    paper: arxiv('Neelakantan et al. 2015', '1511.06807'),
  },
  {
    name: 'asgd',
    chain: '`addDecayedWeights` (L2), `scaleByAsgd` (holds the learning rate and the average; `asgdAverage(state)` reads it), `scale(-1)`',
    update: '`eta = lr / (1 + lambd * lr * k)^alpha`; `u = -eta * (g + lambd * p)`; the average of `p` from step `t0` on',
    defaults: '`lambd = 1e-4`, `alpha = 0.75`, `t0 = 1e6`, `weightDecay = 0`, `mask?`',
    paper: { cite: "Polyak & Juditsky 1992; PyTorch's ASGD", url: 'https://doi.org/10.1137/0330046' },
  },
  {
    name: 'optimisticGradientDescent',
    chain: '`scaleByOptimisticGradient`, `scaleByLearningRate`',
    update: '`u = -lr * ((alpha + beta) * g - beta * gPrev)`',
    defaults: '`alpha = 1`, `beta = 1`',
    paper: arxiv('Mokhtari, Ozdaglar & Pattathil 2019', '1901.08511'),
  },
  {
    name: 'scheduleFreeSgd',
    chain: '`scheduleFree(sgd(lr), { learningRate, b1, weightLrPower })` (with `weightDecay`: `addDecayedWeights` before `sgd`)',
    update: 'SGD steps on `z`; the parameters interpolate `y = (1 - b1) z + b1 x` between `z` and the average `x`; evaluate at `scheduleFreeEvalParams(state, params)`',
    defaults: '`learningRate` required, `b1 = 0.9`, `weightLrPower = 2`, `warmupSteps?`, `weightDecay?`, `mask?`',
    paper: arxiv('Defazio et al. 2024', '2405.15682'),
  },
  {
    name: 'adagrad',
    chain: '`scaleByRss`, `scaleByLearningRate`',
    update: '`s = s + g^2`; `u = -lr * g / sqrt(s + eps)`',
    defaults: '`initialAccumulatorValue = 0.1`, `eps = 1e-7` (inside the root)',
    paper: { cite: 'Duchi, Hazan & Singer 2011', url: 'https://jmlr.org/papers/v12/duchi11a.html' },
  },
  {
    name: 'rmsprop',
    chain: '`scaleByRms` or `scaleByStddev` (`centered`), `scaleByLearningRate`, `trace` (if `momentum`)',
    update: '`v = decay * v + (1 - decay) * g^2`; `u = -lr * g / sqrt(v + eps)` (centered: `v - m^2`); momentum accumulates `u`',
    defaults: '`decay = 0.9`, `eps = 1e-8`, `initialScale = 0`, `epsInSqrt = true`, `centered = false`, `momentum?`, `nesterov = false`, `biasCorrection = false`',
    paper: { cite: 'Hinton 2012 (lecture 6e); Graves 2013 (centered)', url: 'https://arxiv.org/abs/1308.0850' },
  },
  {
    name: 'adam',
    chain: '`scaleByAdam`, `scaleByLearningRate`',
    update: '`m = b1 m + (1 - b1) g`; `v = b2 v + (1 - b2) g^2`; `u = -lr * m^ / (sqrt(v^ + epsRoot) + eps)`',
    defaults: '`b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`, `epsRoot = 0`, `nesterov = false`',
    paper: arxiv('Kingma & Ba 2015', '1412.6980'),
  },
  {
    name: 'adamw',
    chain: '`scaleByAdam`, `addDecayedWeights`, `scaleByLearningRate`',
    update: '`u = -lr * (m^ / (sqrt(v^ + epsRoot) + eps) + weightDecay * p)`',
    defaults: 'as `adam`, `weightDecay = 1e-4`, `mask?`',
    paper: arxiv('Loshchilov & Hutter 2019', '1711.05101'),
  },
  {
    name: 'nadam',
    chain: '`adam` with `nesterov: true`',
    update: "as `adam`, with the look-ahead moment `b1 m / (1 - b1^(t+1)) + (1 - b1) g / (1 - b1^t)` in place of `m^`",
    defaults: 'as `adam`',
    paper: { cite: 'Dozat 2016', url: 'https://openreview.net/forum?id=OM0jvwB8jIp57ZJjtNEZ' },
  },
  {
    name: 'nadamw',
    chain: '`adamw` with `nesterov: true`',
    update: "as `adamw`, with NAdam's look-ahead moment",
    defaults: 'as `adamw`',
    paper: { cite: 'Dozat 2016; Loshchilov & Hutter 2019', url: 'https://arxiv.org/abs/1711.05101' },
  },
  {
    name: 'adamax',
    chain: '`scaleByAdamax`, `scaleByLearningRate`',
    update: '`v = max(|g| + eps, b2 v)`; `u = -lr * (m / (1 - b1^t)) / v`',
    defaults: '`b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`',
    paper: arxiv('Kingma & Ba 2015, section 7.1', '1412.6980'),
  },
  {
    name: 'adamaxw',
    chain: '`scaleByAdamax`, `addDecayedWeights`, `scaleByLearningRate`',
    update: '`u = -lr * ((m / (1 - b1^t)) / v + weightDecay * p)`',
    defaults: 'as `adamax`, `weightDecay = 1e-4`, `mask?`',
    paper: arxiv('Loshchilov & Hutter 2019', '1711.05101'),
  },
  {
    name: 'amsgrad',
    chain: '`scaleByAmsgrad`, `scaleByLearningRate`',
    update: '`vMax = max(vMax, v^)`; `u = -lr * m^ / (sqrt(vMax + epsRoot) + eps)`',
    defaults: 'as `adam` without `nesterov`, `biasCorrectionMu = true`, `biasCorrectionNu = true`',
    paper: { cite: 'Reddi, Kale & Kumar 2018', url: 'https://openreview.net/forum?id=ryQu7f-RZ' },
  },
  {
    name: 'radam',
    chain: '`scaleByRadam`, `scaleByLearningRate`',
    update: '`rho_t = rho_inf - 2 t b2^t / (1 - b2^t)`; `u = -lr * r_t * m^ / (sqrt(v^ + epsRoot) + eps)` once `rho_t >= threshold`, else `u = -lr * m^`',
    defaults: '`b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`, `epsRoot = 0`, `threshold = 5`, `nesterov = false`',
    paper: arxiv('Liu et al. 2020', '1908.03265'),
  },
  {
    name: 'adabelief',
    chain: '`scaleByBelief`, `addDecayedWeights` (only if `weightDecay` is given), `scaleByLearningRate`',
    update: '`s = b2 s + (1 - b2) (g - m)^2 + epsRoot`; `u = -lr * m^ / (sqrt(s^) + eps)`',
    defaults: '`b1 = 0.9`, `b2 = 0.999`, `eps = 1e-16`, `epsRoot = 1e-16`, `nesterov = false`, `weightDecay?`, `mask?`',
    paper: arxiv('Zhuang et al. 2020', '2010.07468'),
  },
  {
    name: 'acprop',
    chain: '`scaleByAcprop`, `addDecayedWeights`, `scaleByLearningRate`',
    update: '`u = -lr * (g / (sqrt(s / (1 - b2^k)) + eps) + weightDecay * p)`, `s` the centred second moment of the steps before',
    defaults: '`b1 = 0.9`, `b2 = 0.999`, `eps = 1e-16`, `epsRoot = 1e-16`, `weightDecay = 0`, `mask?`',
    paper: arxiv('Zhuang et al. 2021', '2110.05454'),
  },
  {
    name: 'yogi',
    chain: '`scaleByYogi`, `scaleByLearningRate`',
    update: '`v = v - (1 - b2) sign(v - g^2) g^2`; `u = -lr * m^ / (sqrt(v^) + eps)`',
    defaults: '`b1 = 0.9`, `b2 = 0.999`, `eps = 1e-3`',
    paper: { cite: 'Zaheer et al. 2018', url: 'https://papers.nips.cc/paper/8186-adaptive-methods-for-nonconvex-optimization' },
  },
  {
    name: 'adabound',
    chain: '`addDecayedWeights` (L2, before the moments), `scaleByAdabound` (holds the learning rate), `scale(-1)`',
    update: "Adam's step size clipped to `[final (1 - 1/(gamma t + 1)), final (1 + 1/(gamma t))]`, `final = finalLr * lr / lr0`",
    defaults: '`finalLr = 0.1`, `gamma = 1e-3`, `b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`, `weightDecay = 0`, `mask?`',
    paper: arxiv('Luo et al. 2019', '1902.09843'),
  },
  {
    name: 'adopt',
    chain: '`scaleByAdopt`, `scaleByLearningRate`',
    update: '`m = b1 m + (1 - b1) clip(g / max(sqrt(v), eps))`, then `v = b2 v + (1 - b2) g^2`; `u = -lr * m` (the first update is zero)',
    defaults: '`b1 = 0.9`, `b2 = 0.9999`, `eps = 1e-6`, `nesterov = false`, `useClipping = true`, `clipValueFn = (k) => k ** 0.25`',
    paper: arxiv('Taniguchi et al. 2024', '2411.02853'),
  },
  {
    name: 'ademamix',
    chain: '`scaleByAdemamix`, `addDecayedWeights`, `scaleByLearningRate`',
    update: '`m2 = b3 m2 + (1 - b3) g`; `u = -lr * ((m1^ + alpha * m2) / (sqrt(v^ + epsRoot) + eps) + weightDecay * p)`',
    defaults: '`b1 = 0.9`, `b2 = 0.999`, `b3 = 0.9999`, `alpha = 5` (`b3`, `alpha`: numbers or schedules), `eps = 1e-8`, `epsRoot = 0`, `weightDecay = 0`, `mask?`',
    paper: arxiv('Pagliardini et al. 2024', '2409.03137'),
  },
  {
    name: 'adan',
    chain: '`scaleByAdan`, `addDecayedWeights`, `scaleByLearningRate`',
    update: 'moments of `g`, of `d = g - gPrev` and of `(g + b2 d)^2`; `u = -lr * ((m^ + b2 n^) / (sqrt(v^ + epsRoot) + eps) + weightDecay * p)`',
    defaults: '`b1 = 0.98`, `b2 = 0.92`, `b3 = 0.99`, `eps = 1e-8`, `epsRoot = 1e-8`, `weightDecay = 0`, `mask?`',
    paper: arxiv('Xie et al. 2022', '2208.06677'),
  },
  {
    name: 'optimisticAdam',
    chain: '`scaleByAdam` (`nesterov`), `scaleByOptimisticGradient`, `scaleByLearningRate`',
    update: "`u = -lr * ((alpha + beta) * r - beta * rPrev)`, `r` Adam's direction",
    defaults: '`alpha = 1`, `beta = 1`, `b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`, `epsRoot = 0`, `nesterov = true`',
    paper: arxiv('Daskalakis et al. 2018', '1711.00141'),
  },
  {
    name: 'scheduleFreeAdamw',
    chain: '`scheduleFree(chain(scaleByRms({ biasCorrection: true }), addDecayedWeights, scaleByLearningRate), { learningRate, b1, weightLrPower })`',
    update: '`z -= lr * (g / (sqrt(v^) + eps) + weightDecay * y)`; the parameters interpolate between `z` and the average `x`',
    defaults: '`learningRate` required, `b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`, `weightDecay = 0`, `weightLrPower = 2`, `warmupSteps?`, `mask?`',
    paper: arxiv('Defazio et al. 2024', '2405.15682'),
  },
  {
    name: 'adadelta',
    chain: '`addDecayedWeights`, `scaleByAdadelta`, `scaleByLearningRate` (`learningRate` defaults to 1)',
    update: '`v = rho v + (1 - rho) g^2`; `d = sqrt(x + eps) / sqrt(v + eps) * g`; `x = rho x + (1 - rho) d^2`; `u = -lr * d`',
    defaults: '`learningRate = 1`, `rho = 0.9`, `eps = 1e-6`, `weightDecay = 0`, `mask?`',
    paper: arxiv('Zeiler 2012', '1212.5701'),
  },
  {
    name: 'adafactor',
    chain: '`scaleByFactoredRms`, `clipByBlockRms` (unless `clippingThreshold: null`), `scaleByLearningRate` (no flip; none with `learningRate: null`), `scaleByParamBlockRms` (if `multiplyByParameterScale`), `ema` (if `momentum`), `addDecayedWeights` (if `weightDecay`), `scale(-1)`',
    update: '`g / sqrt(vRow vCol / mean(vRow))` for matrices (the full `v` otherwise), clipped to an RMS of `clippingThreshold`, times `lr * max(rms(p), 1e-3)`',
    defaults: '`minDimSizeToFactor = 128`, `decayRate = 0.8`, `decayOffset = 0`, `multiplyByParameterScale = true`, `clippingThreshold = 1`, `momentum?`, `weightDecay?`, `mask?`, `eps = 1e-30`, `factored = true`',
    paper: arxiv('Shazeer & Stern 2018', '1804.04235'),
  },
  {
    name: 'sm3',
    chain: '`scaleBySm3({ b1: momentum })`, `scaleByLearningRate`',
    update: 'AdaGrad whose accumulator is the minimum over one vector per axis (`v = min over axes of the row and column accumulators + g^2`), with momentum',
    defaults: '`momentum = 0.9` (transform: `b2 = 1`, `eps = 1e-8`)',
    paper: arxiv('Anil et al. 2019', '1901.11150'),
  },
  {
    name: 'madgrad',
    chain: '`addDecayedWeights` (L2, before the sums), `scaleByMadgrad` (holds the learning rate; the update is the step)',
    update: '`s += lambda g`, `v += lambda g^2` (`lambda = lr sqrt(t)`); `z = p0 - s / (cbrt(v) + eps)`; `p = momentum p + (1 - momentum) z`',
    defaults: '`momentum = 0.9`, `eps = 1e-6`, `weightDecay = 0`, `mask?`',
    paper: arxiv('Defazio & Jelassi 2021', '2101.11075'),
  },
  {
    name: 'signSgd',
    chain: '`scaleBySign`, `scaleByLearningRate`',
    update: '`u = -lr * sign(g)`',
    defaults: 'none',
    paper: arxiv('Bernstein et al. 2018', '1802.04434'),
  },
  {
    name: 'signum',
    chain: '`ema({ decay: beta, debias: false })`, `scaleBySign`, `scaleByLearningRate`',
    update: '`m = beta m + (1 - beta) g`; `u = -lr * sign(m)`',
    defaults: '`beta = 0.9`',
    paper: arxiv('Bernstein et al. 2018', '1802.04434'),
  },
  {
    name: 'lion',
    chain: '`scaleByLion`, `addDecayedWeights`, `scaleByLearningRate`',
    update: '`u = -lr * (sign((1 - b1) g + b1 m) + weightDecay * p)`; `m = b2 m + (1 - b2) g`',
    defaults: "`b1 = 0.9`, `b2 = 0.99`, `mode = 'hard'` (`'smooth'`: `tanh(smoothBeta * x)`; `'refined'`: `x` clipped to [-1, 1]), `smoothBeta = 1`, `weightDecay = 1e-3`, `mask?`",
    paper: arxiv('Chen et al. 2023', '2302.06675'),
  },
  {
    name: 'rprop',
    chain: '`scaleByRprop(learningRate)`, `scale(-1)`',
    update: 'each element moves by its own step size against the sign of `g`; the step grows by `etaPlus` while the sign holds, shrinks by `etaMinus` when it flips (Rprop-)',
    defaults: '`etaMinus = 0.5`, `etaPlus = 1.2`, `minStepSize = 1e-6`, `maxStepSize = 50`; `learningRate` is the initial step size (a number)',
    paper: { cite: 'Riedmiller & Braun 1993', url: 'https://doi.org/10.1109/ICNN.1993.298623' },
  },
  {
    name: 'lamb',
    chain: '`scaleByAdam`, `addDecayedWeights`, `scaleByTrustRatio`, `scaleByLearningRate`',
    update: "`r = m^ / (sqrt(v^ + epsRoot) + eps) + weightDecay * p`; `u = -lr * (||p|| / ||r||) * r` per leaf",
    defaults: '`b1 = 0.9`, `b2 = 0.999`, `eps = 1e-6`, `epsRoot = 0`, `weightDecay = 0`, `mask?`',
    paper: arxiv('You et al. 2020', '1904.00962'),
  },
  {
    name: 'lars',
    chain: '`addDecayedWeights`, `masked(scaleByTrustRatio, trustRatioMask)`, `scaleByLearningRate`, `trace`',
    update: '`r = g + weightDecay * p`; `r = trustCoefficient * ||p|| / (||r|| + eps) * r`; `m = -lr * r + momentum * m`; `u = m`',
    defaults: '`weightDecay = 0`, `mask?`, `trustCoefficient = 0.001`, `eps = 0`, `trustRatioMask?` (all leaves), `momentum = 0.9`, `nesterov = false`',
    paper: arxiv('You, Gitman & Ginsburg 2017', '1708.03888'),
  },
  {
    name: 'fromage',
    chain: '`scaleByTrustRatio`, `scaleByLearningRate(lr / sqrt(1 + lr^2))`, `addDecayedWeights(1 / sqrt(1 + lr^2) - 1)`',
    update: '`p = (p - lr * (||p|| / ||g||) * g) / sqrt(1 + lr^2)` per leaf',
    defaults: '`minNorm = 1e-6`',
    paper: arxiv('Bernstein et al. 2020', '2002.03432'),
  },
  {
    name: 'novograd',
    chain: '`scaleByNovograd`, `scaleByLearningRate`',
    update: '`v = b2 v + (1 - b2) ||g||^2` per leaf; `m = b1 m + (g / (sqrt(v + epsRoot) + eps) + weightDecay * p)`; `u = -lr * m`',
    defaults: '`b1 = 0.9`, `b2 = 0.25`, `eps = 1e-6`, `epsRoot = 0`, `weightDecay = 0`, `mask?`',
    paper: arxiv('Ginsburg et al. 2019', '1905.11286'),
  },
  {
    name: 'muon',
    chain: '`masked(chain(scaleByMuon, scaleByShape, addDecayedWeights, scaleByLearningRate), rank 2)`, `masked(adamw, other ranks)`',
    update: 'matrices: Nesterov momentum orthogonalised by `nsSteps` Newton-Schulz iterations, scaled by shape; other leaves: AdamW',
    defaults: "`nsCoeffs = 'standard'`, `nsSteps = 5`, `beta = 0.95`, `eps = 1e-8`, `weightDecay = 0`, `mask?`, `nesterov = true`, `adaptive = false`, `adamB1 = 0.9`, `adamB2 = 0.999`, `adamEpsRoot = 0`, `adamWeightDecay = 0`, `adamLearningRate = learningRate`, `consistentRms?`",
    paper: { cite: 'Jordan et al. 2024', url: 'https://kellerjordan.github.io/posts/muon/' },
  },
  {
    name: 'soap',
    chain: '`scaleBySoap`, `addDecayedWeights` (rate 0 at the first update), `scaleByLearningRate`',
    update: 'first update: `L = (1 - sb) G G^T`, `R = (1 - sb) G^T G`, `QL`, `QR` their eigenvectors, `u = 0`; then Adam in the eigenbasis: `G\' = QL^T G QR`, `m = b1 m + (1 - b1) G\'`, `v = b2 v + (1 - b2) G\'^2`, `u = -lr * (sqrt(1 - b2^t) / (1 - b1^t) * QL (m / (sqrt(v) + eps)) QR^T + weightDecay * p)`; `L`, `R` moving averages; every `precondFrequency` steps `Q = qr(L Q).Q` (one power iteration, `v` re-sorted); axes longer than `maxPrecondDim` unpreconditioned; eigh and QR in float64 on the host',
    defaults: '`learningRate = 3e-3`, `b1 = 0.95`, `b2 = 0.95`, `shampooBeta = -1` (= `b2`), `eps = 1e-8`, `weightDecay = 0.01`, `mask?`, `precondFrequency = 10`, `maxPrecondDim = 10000`, `mergeDims = false`, `precondition1d = false`, `normalizeGrads = false`, `correctBias = true`',
    paper: arxiv('Vyas et al. 2024 (reference: github.com/nikhilvyas/SOAP)', '2409.11321'),
  },
  {
    name: 'psgdKron',
    chain: '`scaleByKron`, `addDecayedWeights` (rank >= 2 by default), `scaleByLearningRate`',
    update: '`m = b1 m + (1 - b1) g`, `m^ = m / (1 - b1^t)`; `u = -lr * (clipRms(m^ x_i Q_i^T Q_i, 1.1) + weightDecay * p)`, `Q_i` one upper-triangular (or diagonal) factor per axis; when a step counter reaches `1 / preconditionUpdateProbability`: `Q_i -= precondLr * triu(A A^T - B B^T) / ||A A^T + B B^T|| * Q_i` with `A = G x_i Q_i`, `B = V x_i Q_i^-T`, probes `V ~ N(0, 1)` from `seed`',
    defaults: "`b1 = 0.9`, `weightDecay = 0`, `mask = rank >= 2`, `preconditionUpdateProbability` = 1 for 500 steps, then annealed to 0.03, `maxSizeTriangular = 8192`, `minNdimTriangular = 2`, `memorySaveMode = null`, `momentumIntoPrecondUpdate = true`, `precondLr = 0.1`, `precondInitScale = 1`, `mergeDims = true`, `seed = 0`",
    paper: { cite: 'Li 2018 (reference: github.com/evanatyourservice/kron_torch)', url: 'https://arxiv.org/abs/1809.10232' },
  },
  {
    name: 'prodigy',
    chain: 'one transformation (the estimated step size `d` scales every term)',
    update: '`dlr = d * lr * sqrt(1 - b2^t) / (1 - b1^t)`; Adam moments of `d g`; `d = max(d, r / ||s||_1)` from the distance to the initial parameters; `u = -dlr * (m / (sqrt(v) + d eps) + weightDecay * p)`',
    defaults: '`learningRate = 1`, `betas = [0.9, 0.999]`, `beta3 = sqrt(b2)`, `eps = 1e-8`, `estimLr0 = 1e-6`, `estimLrCoef = 1`, `weightDecay = 0`, `safeguardWarmup = false`, `mask?`',
    paper: arxiv('Mishchenko & Defazio 2023', '2306.06101'),
  },
  {
    name: 'dadaptAdamw',
    chain: 'one transformation (the estimated step size scales the moment, the sum and the decay)',
    update: '`dlr = d * lr * sqrt(1 - b2^t) / (1 - b1^t)`; `m = b1 m + (1 - b1) dlr g`; `d = max(d, r / ((1 - sqrt(b2)) ||s||_1))`; `u = -m / (sqrt(v) + eps) - weightDecay * dlr * p`',
    defaults: '`learningRate = 1`, `betas = [0.9, 0.999]`, `eps = 1e-8`, `estimLr0 = 1e-6`, `weightDecay = 0`, `mask?`',
    paper: arxiv('Defazio & Mishchenko 2023', '2301.07733'),
  },
  {
    name: 'sophia',
    chain: '`scaleBySophia` (reads `extra.valueFn` every `updateInterval` steps), `addDecayedWeights`, `scaleByLearningRate`',
    update: '`m = b1 m + (1 - b1) g`; `u = -lr * (clip(m^ / max(gamma h, eps), ±clipThreshold) + weightDecay * p)`; every `updateInterval` steps (the first included, after the update) `h = b2 h + (1 - b2) r * (H r)`, Hutchinson\'s estimate of the Hessian diagonal with random signs `r` from `seed`',
    defaults: '`b1 = 0.965`, `b2 = 0.99`, `eps = 1e-8`, `weightDecay = 1e-4`, `mask?`, `gamma = 0.01`, `clipThreshold = 1` (`null`: none), `updateInterval = 10`, `seed = 0`, `hessianDiagonalFn?`',
    paper: arxiv('Liu et al. 2023 (sophiaH)', '2305.14342'),
  },
  {
    name: 'momo',
    chain: 'one transformation (reads the loss from `extra.value`), as optax',
    update: '`f = beta f + (1 - beta) loss`, `d = beta d + (1 - beta) g`, `gamma = beta gamma + (1 - beta) <g, p>` (plain averages at step 1); `tau = min(lr, max((1 + lr wd)(f - lb - gamma) + <d, p>, 0) / |d|^2)`; `u = -(lr wd / (1 + lr wd)) p - tau d`; the step size in float64 from one read-back',
    defaults: '`beta = 0.9`, `lowerBound = 0`, `weightDecay = 0`, `adaptLowerBound = false`',
    paper: arxiv('Schaipp et al. 2023', '2305.07583'),
  },
  {
    name: 'momoAdam',
    chain: 'one transformation (reads the loss from `extra.value`), as optax',
    update: 'Adam moments `m`, `v`, `D = eps + sqrt(v / bc2)`; `f`, `gamma` averaged with `b1`; `tau = min(lr / bc1, max((1 + lr wd)(f - bc1 lb - gamma) + <m, p>, 0) / <m, m / D>)`; `u = -(lr wd / (1 + lr wd)) p - tau m / D`',
    defaults: '`b1 = 0.9`, `b2 = 0.999`, `eps = 1e-8`, `lowerBound = 0`, `weightDecay = 0`, `adaptLowerBound = false`',
    paper: arxiv('Schaipp et al. 2023', '2305.07583'),
  },
  {
    name: 'galore',
    chain: '`scaleByGalore` (the base optimizer on projected gradients), `addDecayedWeights`, `scaleByLearningRate`',
    update: 'per matrix leaf `G` (`m x n`), every `updateProjGap` steps `P` = the leading `min(rank, m, n)` singular vectors of `G` (a float64 Jacobi SVD on the host); `u = -lr * scale * P base(P^T G)` (or `base(G P) P^T` when `m < n`); other leaves `u = -lr * base(g)`',
    defaults: '`rank = 128`, `updateProjGap = 200`, `scale = 1`, `baseOptimizer = scaleByAdam()`, `weightDecay = 0`, `mask?`, `weightDimensionNumbers?` (rank-2 leaves projected)',
    paper: arxiv('Zhao et al. 2024', '2403.03507'),
  },
  {
    name: 'cocob',
    chain: '`addDecayedWeights` (L2, before the bet), `scaleByLearningRate` (no flip), `scaleByCocob` (the update is the bet\'s step)',
    update: "each element bets a fraction of its wealth on the sign of `-sum g`, sized by `L = max |g|` and `alpha` (COCOB-Backprop)",
    defaults: '`learningRate = 1`, `alpha = 100`, `eps = 1e-8`, `weightDecay = 0`, `mask?`',
    paper: arxiv('Orabona & Tommasi 2017', '1705.07795'),
  },
  {
    name: 'dog',
    chain: '`addDecayedWeights` (L2, only if `weightDecay` is given), `scaleByDog`, `scaleByLearningRate`',
    update: '`eta = max ||p - p0|| / sqrt(sum ||g||^2 + eps)`; `u = -lr * eta * g`',
    defaults: "`learningRate = 1`, `initStep = ['heuristic', 1e-6]` (or `['distance', r]`, `['learningRate', eta]`), `eps = 1e-8`, `weightDecay?`, `mask?`",
    paper: arxiv('Ivgi, Hinder & Carmon 2023', '2302.12022'),
  },
  {
    name: 'dowg',
    chain: '`addDecayedWeights` (L2, only if `weightDecay` is given), `scaleByDowg`, `scaleByLearningRate`',
    update: '`r2 = max(r2, ||p - p0||^2)`; `eta = r2 / (sqrt(sum r2 ||g||^2) + eps)`; `u = -lr * eta * g`',
    defaults: '`learningRate = 1`, `initEstimSqDist = eps`, `eps = 1e-4`, `weightDecay?`, `mask?`',
    paper: arxiv('Khaled, Mishchenko & Jin 2023', '2305.16284'),
  },
  {
    name: 'polyakSgd',
    chain: "`scaleByLearningRate(scaling)`, `scaleByPolyak({ maxLearningRate, fMin, eps, variant })`; reads `extra.value`",
    update: '`u = -s * min((loss - fMin) / (s^2 ||g||^2 + eps), maxLearningRate) * g` (`s = scaling`)',
    defaults: "`maxLearningRate = 1` (the first argument), `scaling = 1`, `fMin = 0`, `eps = 0`, `variant = 'sps'`",
    paper: arxiv('Loizou et al. 2021', '2002.10542'),
  },
  {
    name: 'lbfgs',
    chain: '`scaleByLbfgs`, `scale(-1)` (no `learningRate`, or `null`) or `scaleByLearningRate`, `linesearch`; every update needs `extra = { value, grad, valueFn }`',
    update: 'the two-loop recursion over the last `memorySize` pairs `(s, y)` gives the direction; the zoom line search (strong Wolfe) the step',
    defaults: "`learningRate?` (absent or `null`: the line search sets the step), `memorySize = 10`, `scaleInitPrecond = true`, `linesearch = scaleByZoomLinesearch({ maxLinesearchSteps: 20, initialGuessStrategy: 'one' })`",
    paper: { cite: 'Liu & Nocedal 1989; Nocedal & Wright, Algorithms 7.4, 7.5', url: 'https://doi.org/10.1007/BF01589116' },
  },
];
