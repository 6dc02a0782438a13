/** kmfit/plot: Vega-Lite to SVG and PNG, and the grey-image PNG encoder, decoded independently. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { encodeGreyPng } from '../../src/plot/png.js';
import { svgToPng } from '../../src/plot/raster.js';
import { renderPng, renderSvg, writeFigure } from '../../src/plot/vega.js';
import { asyncErrorOf, errorOf } from '../helpers/errors.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const scatter = {
  width: 100,
  height: 80,
  data: { values: [{ a: 1, b: 2 }, { a: 2, b: 3 }, { a: 3, b: 1.5 }] },
  mark: 'point',
  encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } },
};

/** PNG chunks, each CRC checked with Node's zlib (not the encoder's own CRC code). */
function chunks(png: Uint8Array): { type: string; data: Buffer }[] {
  const bytes = Buffer.from(png);
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const out = [];
  for (let p = 8; p < bytes.length; ) {
    const length = bytes.readUInt32BE(p);
    const type = bytes.toString('latin1', p + 4, p + 8);
    expect(bytes.readUInt32BE(p + 8 + length)).toBe(zlib.crc32(bytes.subarray(p + 4, p + 8 + length)));
    out.push({ type, data: bytes.subarray(p + 8, p + 8 + length) });
    p += 12 + length;
  }
  return out;
}

describe('renderSvg', () => {
  it('draws one symbol per data point, with the data in its label and coordinates to 0.01 px', async () => {
    const svg = await renderSvg(scatter);
    expect(svg.startsWith('<svg')).toBe(true);
    const points = [...svg.matchAll(/<path aria-label="a: (\d); b: ([\d.]+)"[^>]*transform="translate\(([\d.]+),([\d.]+)\)"/g)];
    expect(points.map((p) => [Number(p[1]), Number(p[2])])).toEqual([[1, 2], [2, 3], [3, 1.5]]);
    // x runs 0 → 100 px over the nice domain [0, 3]; y downwards over [0, 3]: 80 px at 0.
    for (const [, a, b, x, y] of points) {
      expect(Number(x)).toBeCloseTo((Number(a) / 3) * 100, 1);
      expect(Number(y)).toBeCloseTo(80 - (Number(b) / 3) * 80, 1);
    }
    expect(svg).not.toMatch(/(?:d|transform)="[^"]*\d\.\d{3}/);
  });
});

describe('PNG', () => {
  it('encodeGreyPng: IHDR, IDAT, IEND; the rows inflate to the pixel bytes', () => {
    const pixels = [0, 0.5, 1, 1, 0.25, -3];
    for (const invert of [false, true]) {
      const parts = chunks(encodeGreyPng(pixels, 3, 2, { invert }));
      expect(parts.map((c) => c.type)).toEqual(['IHDR', 'IDAT', 'IEND']);
      expect([...parts[0].data]).toEqual([0, 0, 0, 3, 0, 0, 0, 2, 8, 0, 0, 0, 0]);
      const grey = pixels.map((v) => Math.round(255 * Math.min(1, Math.max(0, invert ? 1 - v : v))));
      expect([...zlib.inflateSync(parts[1].data)]).toEqual([0, ...grey.slice(0, 3), 0, ...grey.slice(3)]);
    }
    expect(errorOf(() => encodeGreyPng([1, 2], 2, 2), 'INVALID_SHAPE')).toBe('a 2×2 image needs 4 pixels, got 2; pass one value per pixel.');
  });

  it('renderPng draws the SVG at twice its size by default', async () => {
    const svg = await renderSvg(scatter);
    const [width, height] = [Number(/width="(\d+)"/.exec(svg)![1]), Number(/height="(\d+)"/.exec(svg)![1])];
    const header = chunks(await renderPng(scatter))[0].data;
    expect([header.readUInt32BE(0), header.readUInt32BE(4)]).toEqual([2 * width, 2 * height]);
    const once = chunks(await svgToPng(svg, { scale: 1 }))[0].data;
    expect([once.readUInt32BE(0), once.readUInt32BE(4)]).toEqual([width, height]);
  });

  it('refuses to draw text without a font', async () => {
    expect(await asyncErrorOf(svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"/>', { fonts: [] }), 'FILE_NOT_FOUND')).toContain('no font');
  });
});

describe('writeFigure', () => {
  it('writes .svg and .png by the name, and nothing else', async () => {
    const dir = temporaryDirectory('plot');
    await writeFigure(scatter, path.join(dir, 'f.svg'));
    expect(readFileSync(path.join(dir, 'f.svg'), 'utf8')).toBe(await renderSvg(scatter));
    await writeFigure(scatter, path.join(dir, 'f.PNG'));
    expect(chunks(readFileSync(path.join(dir, 'f.PNG')))[0].type).toBe('IHDR');
    expect(await asyncErrorOf(writeFigure(scatter, path.join(dir, 'f.pdf')), 'INVALID_OPTION')).toContain('written as .svg or .png');
  });
});
