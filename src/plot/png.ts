/**
 * A minimal PNG encoder for grey images (8-bit, one channel, no interlacing), enough to show
 * digits or heat maps as <img> tags or through a notebook's image display without a canvas.
 * Format: the PNG signature, then IHDR, IDAT (zlib stream of rows, each led by filter byte 0) and
 * IEND chunks; each chunk is length, type, data, and the CRC-32 of type + data (PNG spec §5).
 */
import { zlibSync } from 'fflate';
import { KmfitError } from '../errors.js';
import { crc32 } from '../crc32.js';
import { concatBytes } from '../io/npz.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * Encodes a width×height grey image, row-major, values in [0, 1] (0 black, 1 white; clamped),
 * as PNG bytes. `invert` draws 1 as black (MNIST's ink).
 * @throws KmfitError INVALID_SHAPE when pixels.length ≠ width·height
 */
export function encodeGreyPng(pixels: ArrayLike<number>, width: number, height: number, options: { invert?: boolean } = {}): Uint8Array {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || pixels.length !== width * height) {
    throw new KmfitError('INVALID_SHAPE', `a ${width}×${height} image needs ${width * height} pixels, got ${pixels.length}; pass one value per pixel.`);
  }
  const rows = new Uint8Array((width + 1) * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const v = Math.min(1, Math.max(0, pixels[r * width + c]));
      rows[r * (width + 1) + 1 + c] = Math.round(255 * (options.invert ? 1 - v : v));
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header.set([8, 0, 0, 0, 0], 8); // bit depth 8, colour type 0 (grey), deflate, filter 0, no interlace
  const parts = [Uint8Array.from(SIGNATURE), chunk('IHDR', header), chunk('IDAT', zlibSync(rows)), chunk('IEND', new Uint8Array(0))];
  return concatBytes(parts);
}
