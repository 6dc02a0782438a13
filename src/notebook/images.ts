/** Small grey images (digits, filters) as an HTML strip of <img> tags with captions. */
import { encodeGreyPng } from '../plot/png.js';
import { escapeHtml } from '../model/html.js';

export interface GreyImage {
  /** width·height values in [0, 1], row-major. */
  readonly pixels: ArrayLike<number>;
  readonly width: number;
  readonly height: number;
  readonly caption?: string;
}

/**
 * Each image as an inline PNG, drawn `scale` times its size with square pixels, captioned.
 * `invert` shows 1 as black ink on white (MNIST reads better that way).
 */
export function imagesHtml(images: readonly GreyImage[], options: { scale?: number; invert?: boolean } = {}): string {
  const scale = options.scale ?? 3;
  const figures = images.map((image) => {
    const png = Buffer.from(encodeGreyPng(image.pixels, image.width, image.height, { invert: options.invert })).toString('base64');
    const caption = image.caption === undefined ? '' : `<figcaption style="font-size:0.8em">${escapeHtml(image.caption)}</figcaption>`;
    return (
      `<figure style="display:inline-block;margin:4px;text-align:center">` +
      `<img src="data:image/png;base64,${png}" width="${image.width * scale}" height="${image.height * scale}" ` +
      `style="image-rendering:pixelated;border:1px solid #ddd" alt="${escapeHtml(image.caption ?? 'image')}">${caption}</figure>`
    );
  });
  return `<div>${figures.join('')}</div>`;
}
