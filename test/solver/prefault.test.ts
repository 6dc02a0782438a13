/**
 * The prefaulting thread (src/solver/prefault.ts) commits pages with an atomic add of 0: values
 * written before it and while it runs are kept as written. It starts only where timing the first
 * faults found them slow.
 */
import { describe, expect, it } from 'vitest';
import { faultMillisecondsPerMiB, prefault, prefaultWhereSlow } from '../../src/solver/prefault.js';

describe('prefault', () => {
  it('touches every page without changing a value, even while another thread writes', async () => {
    const buffers = [new SharedArrayBuffer(16 * 2 ** 20), new SharedArrayBuffer(4096 * 3 + 6)];
    const small = new Uint16Array(buffers[1].byteLength >> 1);
    const views = buffers.map((buffer) => new Uint16Array(buffer));
    small.fill(7);
    views[1].set(small);
    // The second buffer by a view of part of it (as a kernel cache's rows in WebAssembly memory).
    const running = prefault([views[0], new Uint8Array(buffers[1], 4096, 4096 * 2 + 6)]);
    // Writes racing the touches: every value of the big buffer, in the order the toucher goes.
    for (let i = 0; i < views[0].length; i++) views[0][i] = (i * 2654435761) >>> 20;
    await running.finished;
    let changed = 0;
    for (let i = 0; i < views[0].length; i++) if (views[0][i] !== (((i * 2654435761) >>> 20) & 0xffff)) changed++;
    expect(changed).toBe(0);
    expect(Array.from(views[1])).toEqual(Array.from(small));
  });

  it('stops when asked, and an empty list starts nothing', async () => {
    const running = prefault([new Uint8Array(new SharedArrayBuffer(256 * 2 ** 20))]);
    running.stop();
    running.stop();
    await running.finished;
    await prefault([]).finished;
  });

  it('times the first faults without changing a value; less than a page is not timed', () => {
    const buffer = new SharedArrayBuffer(8 * 2 ** 20);
    const values = new Uint8Array(buffer);
    for (let i = 0; i < values.length; i++) values[i] = (i * 7 + 3) & 0xff; // no byte is 0
    const perMiB = faultMillisecondsPerMiB(new Uint8Array(buffer, 4096));
    expect(perMiB).toBeGreaterThan(0);
    expect(Number.isFinite(perMiB)).toBe(true);
    let changed = 0;
    for (let i = 0; i < values.length; i++) if (values[i] !== ((i * 7 + 3) & 0xff)) changed++;
    expect(changed).toBe(0);
    expect(faultMillisecondsPerMiB(new Uint8Array(new SharedArrayBuffer(4095)))).toBeUndefined();
  });

  it('touches ahead only where the first faults were slow', async () => {
    const regions = [new Uint8Array(new SharedArrayBuffer(2 ** 20))];
    const timedAt = (perMiB: number | undefined) => (region: ArrayBufferView) => {
      expect(region).toBe(regions[0]); // the first region is the one timed
      return perMiB;
    };
    const slow = prefaultWhereSlow(regions, timedAt(3.7)); // the host backing memory lazily
    expect(slow.ahead).toBe(true);
    await slow.finished;
    for (const perMiB of [0.8, 1.57, 2.4, undefined]) {
      const fast = prefaultWhereSlow(regions, timedAt(perMiB));
      expect(fast.ahead).toBe(false);
      await fast.finished;
    }
    expect(prefaultWhereSlow([], timedAt(3.7)).ahead).toBe(false);
  });
});
