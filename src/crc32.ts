/**
 * CRC-32 (the zip, gzip and PNG checksum: IEEE 802.3 polynomial, reflected, 0xEDB88320), shared
 * by the zip container (io/npz.ts), gzip streams (io/inflate.ts), PNG writing, the data's
 * fingerprint and the cluster's messages: a leaf below all of them, so none imports upwards.
 */

/**
 * Node's native CRC-32 (zlib.crc32, ≈5 GB/s against ≈0.8 GB/s for the portable one), reached
 * through process.getBuiltinModule (Node ≥ 20.16) rather than an import, so that this module stays
 * below the host seam (platform/) and a browser bundle, which has no process, takes the portable one.
 */
type NativeCrc32 = (bytes: Uint8Array, previous: number) => number;
const nativeCrc32: NativeCrc32 | undefined = (() => {
  const host = (globalThis as { process?: { getBuiltinModule?: (id: string) => { crc32?: NativeCrc32 } | undefined } }).process;
  const zlib = host?.getBuiltinModule?.('node:zlib');
  return typeof zlib?.crc32 === 'function' ? zlib.crc32 : undefined;
})();

const CRC_TABLES: Uint32Array[] = (() => {
  const tables: Uint32Array[] = [];
  const t0 = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t0[n] = c >>> 0;
  }
  tables.push(t0);
  for (let t = 1; t < 8; t++) {
    const prev = tables[t - 1];
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) table[n] = (prev[n] >>> 8) ^ t0[prev[n] & 0xff];
    tables.push(table);
  }
  return tables;
})();

/**
 * CRC-32 of `bytes`, continuing from `previous`: start with `crc32(bytes)` and feed later chunks
 * with `crc32(next, previous)`; the result is the unsigned CRC as zip stores it. Node's native one
 * where there is one, else the portable version.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  return nativeCrc32 ? nativeCrc32(bytes, previous) >>> 0 : crc32Portable(bytes, previous);
}

/** The same CRC-32 in plain JavaScript (slicing-by-8). */
export function crc32Portable(bytes: Uint8Array, previous = 0): number {
  const [t0, t1, t2, t3, t4, t5, t6, t7] = CRC_TABLES;
  let c = ~previous >>> 0;
  let i = 0;
  const n = bytes.length;
  const end8 = n - (n % 8);
  for (; i < end8; i += 8) {
    const a = (c ^ (bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24))) >>> 0;
    c =
      t7[a & 0xff] ^
      t6[(a >>> 8) & 0xff] ^
      t5[(a >>> 16) & 0xff] ^
      t4[a >>> 24] ^
      t3[bytes[i + 4]] ^
      t2[bytes[i + 5]] ^
      t1[bytes[i + 6]] ^
      t0[bytes[i + 7]];
  }
  for (; i < n; i++) c = t0[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

