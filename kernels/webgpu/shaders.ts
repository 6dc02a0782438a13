/**
 * The final WGSL of each compute pipeline the webgpu backend runs. The two kernel shaders are
 * tile.wgsl (with its one substitution point, {{KERNEL}}) followed by their own entry file; the
 * others are used as written. The returned text is the pipeline cache key.
 */
import type { KernelExpression } from '../kernel.js';
import { wgslKernelExpression } from './expression.js';
import { WGSL } from './sources.generated.js';

export interface ShaderSource {
  /** For labels, error messages and the debug print. */
  readonly label: string;
  readonly code: string;
  readonly entryPoint: string;
}

const KERNEL_SLOT = '{{KERNEL}}';

function withKernel(kernel: KernelExpression): string {
  const parts = WGSL.tile.split(KERNEL_SLOT);
  if (parts.length !== 2) throw new Error(`tile.wgsl must contain ${KERNEL_SLOT} exactly once`);
  return parts.join(wgslKernelExpression(kernel));
}

/** partials = k(X, Z[chunk]) · α[chunk], one chunk of center tiles per workgroup column. */
export function fusedShader(kernel: KernelExpression): ShaderSource {
  return { label: 'fused', code: `${withKernel(kernel)}\n${WGSL.fused}`, entryPoint: 'fused' };
}

/** result = k(X, Y), materialized. */
export function blockShader(kernel: KernelExpression): ShaderSource {
  return { label: 'block', code: `${withKernel(kernel)}\n${WGSL.block}`, entryPoint: 'block' };
}

export const REDUCE_SHADER: ShaderSource = { label: 'reduce', code: WGSL.reduce, entryPoint: 'reduce' };
export const NORMS_SHADER: ShaderSource = { label: 'norms', code: WGSL.norms, entryPoint: 'squared_norms' };
export const SCATTER_SHADER: ShaderSource = { label: 'scatter', code: WGSL.scatter, entryPoint: 'scatter_add' };
