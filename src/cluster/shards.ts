/**
 * How the centers are cut into shards: contiguous ranges whose sizes differ by at most one, so
 * that every worker holds about p/W centers and a center's owner is a search over W starts.
 */
export interface ShardRange {
  /** First center of the shard. */
  readonly start: number;
  /** One past its last center. */
  readonly end: number;
}

/** `count` centers in `shards` contiguous ranges, the first ones one larger when it does not divide. */
export function shardRanges(count: number, shards: number): ShardRange[] {
  if (!(Number.isInteger(shards) && shards >= 1)) throw new RangeError(`shardRanges: ${shards} shards`);
  const ranges: ShardRange[] = [];
  for (let k = 0; k < shards; k++) ranges.push({ start: Math.floor((k * count) / shards), end: Math.floor(((k + 1) * count) / shards) });
  return ranges;
}

/** The shard that holds center `row`. */
export function ownerOf(ranges: readonly ShardRange[], row: number): number {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ranges[mid].start <= row) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Row updates split by owner: for each shard, its rows (local indices) and their deltas, in the given order. */
export function splitByOwner(
  ranges: readonly ShardRange[],
  rows: ArrayLike<number>,
  deltas: Float32Array | Float64Array,
  outputs: number,
): { shard: number; rows: Int32Array; deltas: Float32Array | Float64Array }[] {
  const owners = new Int32Array(rows.length);
  const counts = new Int32Array(ranges.length);
  for (let i = 0; i < rows.length; i++) counts[(owners[i] = ownerOf(ranges, rows[i]))]++;
  const parts = ranges.map((_, k) => ({ shard: k, rows: new Int32Array(counts[k]), deltas: new (deltas.constructor as Float32ArrayConstructor | Float64ArrayConstructor)(counts[k] * outputs), filled: 0 }));
  for (let i = 0; i < rows.length; i++) {
    const part = parts[owners[i]];
    const at = part.filled++;
    part.rows[at] = rows[i] - ranges[owners[i]].start;
    part.deltas.set(deltas.subarray(i * outputs, (i + 1) * outputs), at * outputs);
  }
  return parts.filter((part) => part.rows.length > 0).map(({ shard, rows: local, deltas: values }) => ({ shard, rows: local, deltas: values }));
}
