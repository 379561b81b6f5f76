import * as tf from '@tensorflow/tfjs-core';
import { gpuProgramCall, type FusedAttrs, type KernelData, type KernelTable } from '../layout.js';
import { valueLayout, type Program } from '../program.js';
import { inputsRead, shaderOf, type DrawKind, type DrawLayout, type GlslShader, type InputRead, type ShaderRef } from './glsl.js';

/**
 * Runs generated programs on tfjs's webgl backend: per leaf one draw
 * writing all of the leaf's outputs at once (multiple render targets: the updates and every
 * new state slot, as packed textures of the leaf's shape), more only when a program has more
 * outputs than the context has draw buffers (the outputs are then split among draws, each
 * recomputing what it needs), or when some outputs are segments of flat state slots (one more
 * draw for those, into unpacked textures); and consecutive leaves of one shape share a draw
 * while their outputs fit in the draw buffers (Adam's three: two leaves a draw with 8 buffers).
 * tfjs's Adam costs about twenty programs per leaf.
 *
 * WebGL cannot read and write one texture in a draw: the outputs are always new textures. For
 * the in-place step they are then given to the written tensors (their old textures go back to
 * tfjs's texture pool), so the caller keeps its tensors, as on the other backends.
 *
 * Inputs are the tensors' own textures; one on the CPU is uploaded first, packed, as tfjs does
 * for its packed programs. A texture in exactly the outputs' layout is read at the fragment's
 * texel; any other (unpacked, another shape, a segment, a shallow slice) element by element.
 *
 * tfjs-backend-webgl is not a dependency: its backend object is used through the structural
 * types below (tfjs 4.x), and nothing here runs before a kernel is called. All of tfjs's own
 * work (uploads, allocating textures) comes before the raw GL calls, and tfjs's framebuffer is
 * bound again after them.
 */

/** A texture as tfjs's texture manager hands it out. */
interface TfjsTexture {
  texture: WebGLTexture;
  /** Physical [height, width] in texels. */
  texShape: [number, number];
}

/** A tensor's entry in the webgl backend's data map (the fields used here). */
interface WebGlTexData {
  values: unknown;
  texture: TfjsTexture | null;
  /** The logical texture shape ([rows, cols] of elements; packed: twice the texels, rounded up). */
  texShape: number[] | null;
  isPacked?: boolean;
  /** The shape the texture is laid out for (may differ from a reshaped tensor's shape). */
  shape: number[];
  usage: unknown;
  slice?: { flatOffset: number } | null;
}

type WebGlProgram = WebGLProgram & { vao: WebGLVertexArrayObject };

/** The parts of tfjs-backend-webgl's `MathBackendWebGL` the kernels use. */
export interface WebGlBackendLike {
  gpgpu: {
    gl: WebGL2RenderingContext;
    framebuffer: WebGLFramebuffer;
    createProgram(fragmentShader: WebGLShader): WebGlProgram;
    buildVao(program: WebGlProgram): void;
  };
  texData: { get(dataId: object): WebGlTexData | undefined; delete(dataId: object): void };
  makeTensorInfo(shape: number[], dtype: 'float32'): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  releaseGPUData(dataId: object): void;
  disposeData(dataId: object): boolean;
  /** Tensors whose values are being read back asynchronously (tfjs caches them when done). */
  pendingRead: { has(dataId: object): boolean };
  /**
   * How many tensors hold a texture a shallow slice shares, by the dataId the slices were cut
   * from (absent, or 1, when no live slice shares it): `releaseGPUData` counts down here and
   * frees the texture only at the last holder.
   */
  dataRefCount: { get(dataId: object): number | undefined };
}

/** Whether `b` looks like tfjs-backend-webgl's WebGL2 backend (the members used here). */
function isWebGlBackend(b: unknown): b is WebGlBackendLike {
  const x = b as Partial<WebGlBackendLike> | null;
  return (
    x != null &&
    typeof x.gpgpu?.createProgram === 'function' &&
    typeof x.gpgpu.buildVao === 'function' &&
    x.gpgpu.framebuffer != null &&
    typeof (x.gpgpu.gl as Partial<WebGL2RenderingContext> | undefined)?.drawBuffers === 'function' &&
    typeof x.texData?.get === 'function' &&
    typeof x.texData.delete === 'function' &&
    typeof x.makeTensorInfo === 'function' &&
    typeof x.uploadToGPU === 'function' &&
    typeof x.releaseGPUData === 'function' &&
    typeof x.disposeData === 'function' &&
    typeof x.pendingRead?.has === 'function' &&
    typeof x.dataRefCount?.get === 'function'
  );
}

/** The kernels of each webgl backend, made on first use. */
let instances: WeakMap<object, WebGlKernels | null> | undefined;

/** A compiled draw: its GL program and uniform locations. */
interface CompiledDraw {
  shader: GlslShader;
  program: WebGlProgram;
  values: WebGLUniformLocation | null;
  layouts: WebGLUniformLocation | null;
  /** The run whose values the program holds. */
  valuesOfRun: number;
}

/** A new texture an output tensor gets once every draw has run. */
interface Target {
  kind: DrawKind;
  /** The temporary tensor that acquired the texture. */
  temp: tf.TensorInfo;
  data: WebGlTexData;
  /** Its layout: packed (W, cols, rows) of `shape`, or unpacked (W). */
  width: number;
  height: number;
  cols: number;
  rows: number;
}

/** One draw: a shader over one leaf into some of its outputs. */
interface Draw {
  compiled: CompiledDraw;
  program: number;
  targets: Target[];
  /** `lay[0]`, then the inputs' layouts, flattened (ivec4s). */
  layouts: Int32Array;
  textures: WebGLTexture[];
  /** Rows of the targets the draw covers (a flat segment covers some). */
  rows: [number, number];
}

/** Some outputs of one leaf, of one layout: a draw, or part of one shared with other leaves. */
interface Piece {
  leaf: number;
  program: number;
  n: number;
  outputs: number[];
  /** The first output's new texture (the others have its layout). */
  target: Target;
  /** Where the leaf's segment starts in a flat target. */
  segment: number;
  reads: InputRead[];
  /** How many textures it reads (inputs and the device scalar). */
  textures: number;
  device: boolean;
  /** Pieces of one key and program can share a draw: the target layout, size and outputs. */
  key: string;
}

/** [rows, cols, batch] of the 2x2-block layout tfjs packs `shape` in. */
function blocksOf(shape: readonly number[]): [number, number, number] {
  const r = shape.length;
  const rows = r >= 2 ? shape[r - 2] : 1;
  const cols = r >= 1 ? shape[r - 1] : 1;
  let batch = 1;
  for (let k = 0; k < r - 2; k++) batch *= shape[k];
  return [rows, cols, batch];
}

function sameArray(a: readonly number[] | null, b: readonly number[] | null): boolean {
  return a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i]);
}

function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The generated-program kernels on one webgl backend (its context, programs and framebuffer). */
export class WebGlKernels {
  /** Compiled draws by program, then by the rest of their layout. */
  private readonly compiled = new Map<Program, Map<string, CompiledDraw>>();
  private framebuffer: WebGLFramebuffer | null = null;
  /** Outputs one draw can write (draw buffers), textures one draw can read (units). */
  private limits?: { maxOutputs: number; maxTextures: number };
  private runs = 0;
  /** Draws made by the last {@link run} (for tests and benchmarks). */
  lastDraws = 0;

  private constructor(private readonly backend: WebGlBackendLike) {}

  /** The kernels for `backend`, or `null` when it is not tfjs's WebGL2 backend. */
  static for(backend: unknown): WebGlKernels | null {
    instances ??= new WeakMap();
    const key = backend as object;
    let k = instances.get(key);
    if (k === undefined) {
      k = isWebGlBackend(backend) ? new WebGlKernels(backend) : null;
      instances.set(key, k);
    }
    return k;
  }

  /** New float32 tensors of `shapes` (their textures come with the run; empty ones hold an empty array). */
  makeOutputs(shapes: readonly number[][]): tf.TensorInfo[] {
    return shapes.map((shape) => {
      const t = this.backend.makeTensorInfo(shape, 'float32');
      if (shape.some((d) => d === 0)) this.texDataOf(t.dataId).values = new Float32Array(0);
      return t;
    });
  }

  /**
   * Runs the step: per leaf, its variant's program over its inputs into its outputs, an output
   * being an input tensor where the table says so (the in-place step: the tensor gets the new
   * texture). `clipFactor` is the one-element tensor of the global-norm clip factor, computed on
   * the GPU, when `attrs.deviceClip` says the program reads it. Returns `false`, having changed
   * nothing, when an output cannot take a new texture (never for outputs from
   * {@link makeOutputs}): a shallow slice of another tensor; one whose texture shallow slices
   * share (tfjs counts the texture's holders under the tensor's dataId, so the tensor would keep
   * counting the slices' texture while holding another: freeing the tensor first then frees its
   * new texture only at the last slice, and the old one once per remaining slice, twice into
   * tfjs's texture pool, from where two tensors get it); or one being read back (tfjs would cache
   * the old values when the read ends).
   */
  run(attrs: FusedAttrs, table: KernelTable<KernelData>, clipFactor?: { dataId: object }): boolean {
    const { programs, deviceClip, scalars, ins, outs } = gpuProgramCall('webgl', attrs, table, clipFactor);
    const leaves = table.sizes.map((n, j) => j).filter((j) => table.sizes[j] > 0);
    this.lastDraws = 0;
    if (leaves.length === 0) return true;
    for (const j of leaves) {
      const p = programs[attrs.variants[j] ?? 0];
      if (p.scalars !== scalars.length + (deviceClip ? 1 : 0)) {
        throw new Error(`tfjs-optax: a program reads ${p.scalars} scalars, the call has ${scalars.length}`);
      }
    }
    // Outputs: one new texture per output tensor, flat (unpacked) where the tensor holds segments.
    const flat = new Map<object, boolean>();
    for (const list of outs) {
      for (const j of leaves) flat.set(list[j].dataId, (flat.get(list[j].dataId) ?? false) || list[j].elementOffset !== undefined);
    }
    for (const id of flat.keys()) if (!this.mayWriteInPlace(id)) return false;

    // tfjs's work first: uploads of CPU-resident inputs (packed, as tfjs's packed programs do),
    // then the outputs' textures.
    const b = this.backend;
    const uploaded = new Set<object>();
    const upload = (id: object) => {
      if (uploaded.has(id)) return;
      uploaded.add(id);
      const data = this.texDataOf(id);
      if (data.texture == null) {
        if (data.values == null) throw new Error('tfjs-optax: a tensor of the fused step has no data on the webgl backend');
        data.isPacked = true;
        b.uploadToGPU(id);
      }
    };
    for (const list of ins) for (const j of leaves) upload(list[j].dataId);
    if (deviceClip) upload(clipFactor!.dataId);
    const targets = new Map<object, Target>();
    try {
      for (const [id, isFlat] of flat) targets.set(id, this.newTarget(this.texDataOf(id).shape, isFlat ? 'flat' : 'packed'));
      this.draw(attrs, table, scalars, leaves, targets, clipFactor);
    } catch (e) {
      for (const t of targets.values()) b.disposeData(t.temp.dataId);
      throw e;
    }

    // Each output tensor takes its new texture (an old one goes back to tfjs's pool).
    for (const [id, t] of targets) {
      const data = this.texDataOf(id);
      if (data.texture != null) b.releaseGPUData(id);
      data.texture = t.data.texture;
      data.texShape = t.data.texShape;
      data.isPacked = t.data.isPacked;
      data.usage = t.data.usage;
      data.values = null;
      b.texData.delete(t.temp.dataId);
    }
    return true;
  }

  /** Plans and issues the draws of a run into the new textures `targets`. */
  private draw(
    attrs: FusedAttrs,
    table: KernelTable<KernelData>,
    scalars: readonly number[],
    leaves: readonly number[],
    targets: ReadonlyMap<object, Target>,
    clipFactor?: { dataId: object },
  ): void {
    const programs = attrs.programs;
    const deviceClip = attrs.clipNorm > 0 && attrs.deviceClip === true;
    const ins = table.inputs.filter((x): x is NonNullable<typeof x> => x !== null);
    const outs = table.outputs.filter((x): x is NonNullable<typeof x> => x !== null);
    const b = this.backend;

    const gl = b.gpgpu.gl;
    const { maxOutputs, maxTextures } = (this.limits ??= {
      maxOutputs: Math.min(gl.getParameter(gl.MAX_DRAW_BUFFERS) as number, gl.getParameter(gl.MAX_COLOR_ATTACHMENTS) as number),
      maxTextures: gl.getParameter(gl.MAX_TEXTURE_IMAGE_UNITS) as number,
    });
    const isnanCustom = tf.env().getBool('WEBGL2_ISNAN_CUSTOM');
    const run = ++this.runs;
    // Per leaf, its pieces: its outputs in groups of one layout (MRT targets share the fragment
    // grid), at most maxOutputs each, with how each group reads the leaf's inputs.
    const pieces: Piece[] = [];
    for (const j of leaves) {
      const program = attrs.variants[j] ?? 0;
      const p = programs[program];
      const n = table.sizes[j];
      const deviceScalar = deviceClip ? p.scalars - 1 : undefined;
      const byLayout = new Map<string, number[][]>();
      outs.forEach((list, o) => {
        const t = targets.get(list[j].dataId)!;
        const key = t.kind === 'flat' ? `flat ${t.width} ${list[j].elementOffset ?? 0}` : `packed ${t.width} ${t.height} ${t.rows} ${t.cols}`;
        const groups = byLayout.get(key) ?? [];
        byLayout.set(key, groups);
        const last = groups[groups.length - 1];
        if (last === undefined || last.length === maxOutputs) groups.push([o]);
        else last.push(o);
      });
      for (const [key, groups] of byLayout) {
        for (const outputs of groups) {
          const target = targets.get(outs[outputs[0]][j].dataId)!;
          const segment = outs[outputs[0]][j].elementOffset ?? 0;
          const { inputs, device } = inputsRead(p, outputs, deviceScalar);
          const reads: InputRead[] = ins.map(() => 'same');
          for (const i of inputs) reads[i] = this.readOf(ins[i][j], target, n, segment);
          pieces.push({ leaf: j, program, n, outputs, target, segment, reads, textures: inputs.length + (device ? 1 : 0), device, key: `${key} ${n} ${outputs.join(',')}` });
        }
      }
    }
    // Consecutive packed pieces of one program and layout share a draw while their outputs fit
    // in the draw buffers and their inputs in the texture units: a draw costs tens of
    // microseconds whatever it computes.
    const draws: Draw[] = [];
    for (let a = 0; a < pieces.length; ) {
      const first = pieces[a];
      let count = 1;
      if (first.target.kind === 'packed') {
        let textures = first.textures;
        while (
          a + count < pieces.length &&
          pieces[a + count].program === first.program &&
          pieces[a + count].key === first.key &&
          (count + 1) * first.outputs.length <= maxOutputs &&
          textures + pieces[a + count].textures <= maxTextures
        ) {
          textures += pieces[a + count].textures;
          count++;
        }
      }
      const group = pieces.slice(a, a + count);
      a += count;
      const p = programs[first.program];
      const deviceData = first.device ? this.texDataOf(clipFactor!.dataId) : undefined;
      const layout: DrawLayout = {
        kind: first.target.kind,
        outputs: first.outputs,
        reads: group.map((piece) => piece.reads),
        ...(first.device ? { deviceScalar: { index: p.scalars - 1, read: deviceData!.isPacked ? 'packed' : 'unpacked' } } : {}),
        isnanCustom,
      };
      const compiled = this.compile(p, layout);
      const shader = compiled.shader;
      if (shader.samplers.length > maxTextures) {
        throw new Error(`tfjs-optax: a generated program reads ${shader.samplers.length} textures, this WebGL context binds ${maxTextures}`);
      }
      const dataOf = (ref: ShaderRef): KernelData => (ref.input < 0 ? { dataId: clipFactor!.dataId, size: 1 } : ins[ref.input][group[ref.leaf].leaf]);
      const { target, segment, n } = first;
      const layouts = new Int32Array(4 * (1 + shader.layouts.length));
      layouts.set(target.kind === 'flat' ? [target.width, segment, n, 0] : [target.width, target.cols, target.rows, n]);
      shader.layouts.forEach((ref, k) => layouts.set(this.layoutOf(dataOf(ref)), 4 * (k + 1)));
      const rows: [number, number] = target.kind === 'flat' ? [Math.floor(segment / target.width), Math.floor((segment + n - 1) / target.width) + 1] : [0, target.height];
      draws.push({
        compiled,
        program: first.program,
        targets: group.flatMap((piece) => piece.outputs.map((o) => targets.get(outs[o][piece.leaf].dataId)!)),
        layouts,
        textures: shader.samplers.map((ref) => this.texDataOf(dataOf(ref).dataId).texture!.texture),
        rows,
      });
    }

    // The raw GL part.
    const fb = (this.framebuffer ??= gl.createFramebuffer());
    gl.bindFramebuffer(gl.FRAMEBUFFER, fb);
    const attached: Array<WebGLTexture | null> = [];
    const values = programs.map((p) => {
      const { count, tail } = valueLayout(p);
      const v = new Float32Array(count);
      v.set(scalars);
      v.set(tail, p.scalars);
      return v;
    });
    let drawBuffers = -1;
    let current: WebGlProgram | null = null;
    let area = '';
    const bound: Array<WebGLTexture | null> = [];
    for (const d of draws) {
      const count = d.targets.length;
      for (let k = 0; k < Math.max(count, attached.length); k++) {
        const texture = k < count ? d.targets[k].data.texture!.texture : null;
        if ((attached[k] ?? null) !== texture) {
          gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + k, gl.TEXTURE_2D, texture, 0);
          attached[k] = texture;
        }
      }
      attached.length = count;
      if (drawBuffers !== count) {
        gl.drawBuffers(d.targets.map((_, k) => gl.COLOR_ATTACHMENT0 + k));
        drawBuffers = count;
      }
      const t = d.targets[0];
      const rect = `${t.width} ${t.height} ${d.rows[0]} ${d.rows[1]}`;
      if (rect !== area) {
        gl.viewport(0, 0, t.width, t.height);
        gl.scissor(0, d.rows[0], t.width, d.rows[1] - d.rows[0]);
        area = rect;
      }
      const c = d.compiled;
      if (current !== c.program) {
        gl.useProgram(c.program);
        gl.bindVertexArray(c.program.vao);
        current = c.program;
      }
      if (c.valuesOfRun !== run && c.values !== null) {
        gl.uniform1fv(c.values, values[d.program]);
        c.valuesOfRun = run;
      }
      if (c.layouts !== null) gl.uniform4iv(c.layouts, d.layouts);
      d.textures.forEach((texture, k) => {
        if (bound[k] === texture) return;
        gl.activeTexture(gl.TEXTURE0 + k);
        gl.bindTexture(gl.TEXTURE_2D, texture);
        bound[k] = texture;
      });
      gl.drawElements(gl.TRIANGLES, 6, gl.UNSIGNED_SHORT, 0);
    }
    for (let k = 0; k < attached.length; k++) gl.framebufferTexture2D(gl.FRAMEBUFFER, gl.COLOR_ATTACHMENT0 + k, gl.TEXTURE_2D, null, 0);
    gl.bindFramebuffer(gl.FRAMEBUFFER, b.gpgpu.framebuffer);
    this.lastDraws = draws.length;
  }

  /**
   * Whether the tensor of `dataId` may be an output of {@link run}, given a new texture: not a
   * shallow slice, its texture shared with no shallow slice, and not being read back (see
   * {@link run}). The backend's refCount (other tensors of the same dataId) is the caller's to check.
   */
  mayWriteInPlace(dataId: object): boolean {
    const b = this.backend;
    return this.texDataOf(dataId).slice == null && (b.dataRefCount.get(dataId) ?? 1) <= 1 && !b.pendingRead.has(dataId);
  }

  /** A new texture for a tensor of `shape`: packed, or unpacked for a flat slot. */
  private newTarget(shape: readonly number[], kind: DrawKind): Target {
    const temp = this.backend.makeTensorInfo([...shape], 'float32');
    const data = this.texDataOf(temp.dataId);
    data.isPacked = kind === 'packed';
    this.backend.uploadToGPU(temp.dataId);
    const [height, width] = data.texture!.texShape;
    const [rows, cols] = blocksOf(shape);
    return { kind, temp, data, width, height, cols, rows };
  }

  /** How a draw into `target` (a leaf of `n` elements, at `segment` of a flat target) reads `input`. */
  private readOf(input: KernelData, target: Target, n: number, segment: number): InputRead {
    const data = this.texDataOf(input.dataId);
    const offset = input.elementOffset ?? 0;
    if (data.slice == null) {
      if (target.kind === 'packed' && data.isPacked === true && offset === 0 && sizeOf(data.shape) === n) {
        const [rows, cols, batch] = blocksOf(data.shape);
        const same = rows === target.rows && cols === target.cols && batch * rows * cols === n && sameArray(data.texShape, target.data.texShape);
        if (same) return 'same';
      }
      if (target.kind === 'flat' && data.isPacked !== true && offset === segment && sameArray(data.texShape, target.data.texShape)) return 'same';
    }
    return data.isPacked === true ? 'packed' : 'unpacked';
  }

  /** The layout uniform of an input read element by element (see {@link GlslShader.layouts}). */
  private layoutOf(input: KernelData): number[] {
    const data = this.texDataOf(input.dataId);
    const width = data.texture!.texShape[1];
    const offset = (input.elementOffset ?? 0) + (data.slice?.flatOffset ?? 0);
    if (data.isPacked !== true) return [width, offset, 0, 0];
    const [rows, cols] = blocksOf(data.shape);
    return [width, cols, rows, offset];
  }

  private compile(p: Program, layout: DrawLayout): CompiledDraw {
    // Programs come cached by structure (step.ts), so their objects key the cache.
    let byLayout = this.compiled.get(p);
    if (byLayout === undefined) this.compiled.set(p, (byLayout = new Map()));
    const key = `${layout.kind}|${layout.outputs.join(',')}|${layout.reads.map((r) => r.join(',')).join(';')}|${layout.deviceScalar?.read ?? ''}|${layout.isnanCustom}`;
    let made = byLayout.get(key);
    if (made === undefined) {
      const shader = shaderOf(p, layout);
      const gpgpu = this.backend.gpgpu;
      const gl = gpgpu.gl;
      const fragment = gl.createShader(gl.FRAGMENT_SHADER);
      if (fragment === null) throw new Error('tfjs-optax: WebGL could not create a shader');
      gl.shaderSource(fragment, shader.code);
      gl.compileShader(fragment);
      if (gl.getShaderParameter(fragment, gl.COMPILE_STATUS) !== true) {
        throw new Error(`tfjs-optax: a generated GLSL shader failed to compile: ${gl.getShaderInfoLog(fragment) ?? ''}\n${shader.code}`);
      }
      // tfjs's vertex shader and quad; its own VAO per program.
      const program = gpgpu.createProgram(fragment);
      gpgpu.buildVao(program);
      shader.samplers.forEach((_, k) => gl.uniform1i(gl.getUniformLocation(program, `s${k}`), k));
      made = { shader, program, values: gl.getUniformLocation(program, 'v'), layouts: gl.getUniformLocation(program, 'lay'), valuesOfRun: 0 };
      byLayout.set(key, made);
    }
    return made;
  }

  private texDataOf(dataId: object): WebGlTexData {
    const data = this.backend.texData.get(dataId);
    if (data === undefined) throw new Error('tfjs-optax: a tensor of the fused step is not on the webgl backend');
    return data;
  }
}
