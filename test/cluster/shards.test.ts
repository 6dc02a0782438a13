/**
 * The pure parts of the cluster: how centers are cut into shards and row updates routed to their
 * owners, and how a body larger than the server's max_payload is cut and put back together —
 * checked against a direct count and the original bytes.
 */
import { describe, expect, it } from 'vitest';
import { shardRanges, ownerOf, splitByOwner } from '../../src/cluster/shards.js';
import { Reassembler, decodeAdd, encodeAdd, splitBody } from '../../src/cluster/protocol.js';
import { lcg } from '../helpers/data.js';

describe('shards', () => {
  it('cover the centers in contiguous ranges whose sizes differ by at most one', () => {
    for (const [count, shards] of [[10, 3], [7, 7], [1000, 64], [5, 1], [3, 5]]) {
      const ranges = shardRanges(count, shards);
      expect(ranges).toHaveLength(shards);
      expect(ranges[0].start).toBe(0);
      expect(ranges[shards - 1].end).toBe(count);
      for (let k = 1; k < shards; k++) expect(ranges[k].start).toBe(ranges[k - 1].end);
      const sizes = ranges.map((r) => r.end - r.start);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      for (let row = 0; row < count; row++) {
        const k = ownerOf(ranges, row);
        expect(row >= ranges[k].start && row < ranges[k].end).toBe(true);
      }
    }
  });

  it('route each row update to its owner, in local indices, with its deltas', () => {
    const ranges = shardRanges(100, 3);
    const random = lcg(3);
    const rows = Int32Array.from({ length: 40 }, () => Math.floor(random() * 100));
    const deltas = new Float64Array(40 * 2).map(() => random());
    const parts = splitByOwner(ranges, rows, deltas, 2);
    // Put back together, the parts are the same updates (as a multiset, per row, in order).
    const seen: [number, number, number][] = [];
    for (const part of parts) {
      expect(part.deltas).toBeInstanceOf(Float64Array);
      part.rows.forEach((local, i) => seen.push([local + ranges[part.shard].start, part.deltas[2 * i], part.deltas[2 * i + 1]]));
    }
    const expected = Array.from(rows, (row, i): [number, number, number] => [row, deltas[2 * i], deltas[2 * i + 1]]);
    const byRow = (a: [number, number, number], b: [number, number, number]) => a[0] - b[0] || a[1] - b[1];
    expect(seen.sort(byRow)).toEqual(expected.sort(byRow));
  });
});

describe('chunks', () => {
  it('a body cut for a small max_payload comes back whole, whatever order its pieces arrive in', () => {
    const body = new Uint8Array(50_000).map((_, i) => (i * 31) % 251);
    const pieces = splitBody(body, 8192);
    expect(pieces.length).toBeGreaterThan(5);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(8192);
    const reassembler = new Reassembler();
    const order = pieces.map((_, i) => i).reverse();
    let whole: Uint8Array | undefined;
    for (const index of order) whole = reassembler.add({ transfer: 9, index, count: pieces.length }, pieces[index]) ?? whole;
    expect(whole).toEqual(body);
    // A copy: the client reuses its read buffers.
    expect(whole!.buffer).not.toBe(body.buffer);
  });

  it('an add body carries rows and float64 deltas through unaligned bytes', () => {
    const rows = Int32Array.from([4, 1, 7]);
    const deltas = Float64Array.from({ length: 9 }, (_, i) => i / 7);
    const encoded = encodeAdd(rows, deltas);
    const shifted = new Uint8Array(encoded.length + 3);
    shifted.set(encoded, 3);
    const decoded = decodeAdd(shifted.subarray(3), 'f64', 3);
    expect(Array.from(decoded.rows)).toEqual([4, 1, 7]);
    expect(Array.from(decoded.deltas)).toEqual(Array.from(deltas));
  });
});
