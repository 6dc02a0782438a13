/**
 * The wasm backend's worker pool (src/backends/wasm/pool.ts): a job starts only with a new
 * generation. A notify that reaches a worker after it has already run the job (the main thread
 * bumps the generation, is descheduled before its notify, and the worker sees the bump by itself)
 * once ran the job a second time: PENDING went to −1 and the next wait for the workers never ended
 * (seen as a rare hang of wasm tests on a loaded machine). Such late notifies are sent here on
 * purpose.
 */
import { describe, expect, it } from 'vitest';
import { webAssembly } from '../../src/backends/wasm/engine.js';
import { compileVariant } from '../../src/backends/wasm/modules.js';
import { WorkerPool } from '../../src/backends/wasm/pool.js';
import { GENERATION, PENDING } from '../../src/backends/wasm/protocol.js';

describe('the wasm worker pool', () => {
  it('a late or spurious notify does not run a job again', async () => {
    const module = await compileVariant('simd');
    const memory = new (webAssembly()!).Memory({ initial: 2, maximum: 16, shared: true });
    const pool = await WorkerPool.start(module, memory, 2);
    try {
      // The control block is private to the pool; the test reads and pokes it as a late notify would.
      const control = Reflect.get(pool, 'i32') as Int32Array;
      for (let round = 0; round < 20; round++) {
        await pool.run(0); // every worker idle: each only counts itself done
        expect(Atomics.load(control, PENDING)).toBe(0);
        Atomics.notify(control, GENERATION);
        Atomics.notify(control, GENERATION);
        await new Promise((resolve) => setTimeout(resolve, 5));
        expect(Atomics.load(control, PENDING)).toBe(0);
      }
    } finally {
      await pool.terminate();
    }
  });
});
