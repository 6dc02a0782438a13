/**
 * A canvas to draw a digit on with the mouse, and its drawing as MNIST sees digits: the ink's
 * bounding box scaled to fit 20×20 pixels, centred by its centre of mass in a 28×28 image, values
 * in [0, 1] (white ink on black, as MNIST's pixels are).
 */

export class DrawPad {
  private drawing = false;
  private readonly context: CanvasRenderingContext2D;

  /** `onStroke` is called when a stroke ends. */
  constructor(private readonly canvas: HTMLCanvasElement, onStroke: () => void) {
    this.context = canvas.getContext('2d', { willReadFrequently: true })!;
    this.clear();
    const at = (event: MouseEvent) => {
      const box = canvas.getBoundingClientRect();
      return [((event.clientX - box.left) * canvas.width) / box.width, ((event.clientY - box.top) * canvas.height) / box.height] as const;
    };
    canvas.addEventListener('mousedown', (event) => {
      this.drawing = true;
      this.context.beginPath();
      this.context.moveTo(...at(event));
    });
    canvas.addEventListener('mousemove', (event) => {
      if (!this.drawing) return;
      this.context.lineTo(...at(event));
      this.context.stroke();
    });
    const end = () => {
      if (!this.drawing) return;
      this.drawing = false;
      onStroke();
    };
    canvas.addEventListener('mouseup', end);
    canvas.addEventListener('mouseleave', end);
  }

  clear(): void {
    const { context, canvas } = this;
    context.fillStyle = 'black';
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.strokeStyle = 'white';
    context.lineWidth = canvas.width / 14; // about 2 MNIST pixels
    context.lineCap = 'round';
    context.lineJoin = 'round';
  }

  /** The drawing as one 784-pixel MNIST row, or undefined when nothing is drawn. */
  toMnist(): Float32Array | undefined {
    const { width, height } = this.canvas;
    const ink = this.context.getImageData(0, 0, width, height).data;
    let [left, right, top, bottom] = [width, -1, height, -1];
    for (let row = 0; row < height; row++) {
      for (let col = 0; col < width; col++) {
        if (ink[4 * (row * width + col)] < 32) continue;
        [left, right, top, bottom] = [Math.min(left, col), Math.max(right, col), Math.min(top, row), Math.max(bottom, row)];
      }
    }
    if (right < 0) return undefined;
    // The ink's box scaled into 20×20 (keeping its proportions) on a 28×28 scratch canvas…
    const side = Math.max(right - left + 1, bottom - top + 1);
    const scale = 20 / side;
    const small = document.createElement('canvas');
    small.width = small.height = 28;
    const smallContext = small.getContext('2d', { willReadFrequently: true })!;
    smallContext.imageSmoothingQuality = 'high';
    const [w, h] = [(right - left + 1) * scale, (bottom - top + 1) * scale];
    smallContext.drawImage(this.canvas, left, top, right - left + 1, bottom - top + 1, (28 - w) / 2, (28 - h) / 2, w, h);
    const pixels = smallContext.getImageData(0, 0, 28, 28).data;
    const image = new Float32Array(784);
    let [mass, sumX, sumY] = [0, 0, 0];
    for (let i = 0; i < 784; i++) {
      image[i] = pixels[4 * i] / 255;
      mass += image[i];
      sumX += image[i] * (i % 28);
      sumY += image[i] * Math.floor(i / 28);
    }
    // …then moved so that its centre of mass is the image's centre, as MNIST's digits are.
    const [dx, dy] = [Math.round(13.5 - sumX / mass), Math.round(13.5 - sumY / mass)];
    const centred = new Float32Array(784);
    for (let row = 0; row < 28; row++) {
      for (let col = 0; col < 28; col++) {
        const [from, fromCol] = [row - dy, col - dx];
        if (from >= 0 && from < 28 && fromCol >= 0 && fromCol < 28) centred[row * 28 + col] = image[from * 28 + fromCol];
      }
    }
    return centred;
  }
}
