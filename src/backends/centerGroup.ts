/**
 * centerGroup(): the backend's own group of kernels over one set of centers (Backend.createCenterGroup,
 * which computes each block's distances once for all its kernels), or the portable one: a center
 * set per kernel, each predicting in turn — correct on every backend, at the cost of one distance
 * computation per kernel.
 */
import type { Kernel } from '../../kernels/kernel.js';
import type { Matrix } from '../matrix.js';
import type { Backend, CenterGroup, CenterSet } from './backend.js';

export async function centerGroup(backend: Backend, kernels: readonly Kernel[], centers: Matrix, outputs: number): Promise<CenterGroup> {
  if (backend.createCenterGroup) return backend.createCenterGroup(kernels, centers, outputs);
  return separateCenterSets(backend, kernels, centers, outputs);
}

/** The portable group: one center set per kernel. */
export async function separateCenterSets(backend: Backend, kernels: readonly Kernel[], centers: Matrix, outputs: number): Promise<CenterGroup> {
  const members: CenterSet[] = [];
  try {
    for (const kernel of kernels) members.push(await backend.createCenterSet(kernel, centers, outputs));
  } catch (error) {
    for (const set of members) set.dispose();
    throw error;
  }
  let disposed = false;
  return {
    members,
    sharesDistances: false,
    async predictAll(X, outs) {
      // Not every backend's sets refuse calls once disposed (the js backend's hold plain arrays).
      if (disposed) throw new Error('this center group has been disposed');
      for (let k = 0; k < members.length; k++) {
        const out = outs[k];
        if (out) await members[k].predict(X, out);
      }
    },
    dispose(keep) {
      disposed = true;
      members.forEach((set) => set !== keep && set.dispose());
    },
  };
}
