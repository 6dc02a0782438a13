/**
 * The browser backends in a real browser: test/browser/backendPage.ts, bundled for the browser
 * (which also proves the backends have no Node-only import), served cross-origin isolated
 * (SharedArrayBuffer needs it) to headless Chromium. The page runs the conformance sums — wasm on
 * Web Workers, webgpu through navigator.gpu (Chromium's SwiftShader adapter here) — and reports.
 * Without Chromium this file skips, except in CI (CI=true), where it fails (chromium.ts).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import type { PageReport } from './backendPage.js';
import { chromium, chromiumRequired, launchChromium } from './chromium.js';

const here = path.dirname(fileURLToPath(import.meta.url));

async function runPage(backend: string, flags: string[] = []): Promise<PageReport> {
  const bundle = await build({
    entryPoints: [path.join(here, 'backendPage.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'chrome120',
    logLevel: 'silent',
  });
  const script = bundle.outputFiles[0].text;
  const html = '<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>';
  let deliver: (report: PageReport) => void = () => {};
  const reported = new Promise<PageReport>((resolve) => (deliver = resolve));
  const server = createServer((request, response) => {
    // Cross-origin isolation: the condition for SharedArrayBuffer, hence for wasm threads.
    response.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    response.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
    if (request.method === 'POST' && request.url === '/result') {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        response.end('ok');
        deliver(JSON.parse(body) as PageReport);
      });
    } else if (request.url === '/page.js') {
      response.setHeader('Content-Type', 'text/javascript');
      response.end(script);
    } else if (request.url?.startsWith('/?')) {
      response.setHeader('Content-Type', 'text/html');
      response.end(html);
    } else {
      response.statusCode = 404;
      response.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const browser = await launchChromium(`http://127.0.0.1:${port}/?backend=${backend}`, flags);
  try {
    return await Promise.race([reported, browser.exited]);
  } finally {
    await browser.close();
    server.close();
  }
}

describe.runIf(chromium !== undefined || chromiumRequired)('backends in a browser (headless Chromium)', () => {
  it('wasm runs on Web Workers over shared memory and agrees with float64 for every kernel and shape', async () => {
    const report = await runPage('wasm', ['--disable-gpu']);
    expect(report.error).toBeUndefined();
    expect(report.crossOriginIsolated).toBe(true);
    expect(report.device?.device).toContain('WebAssembly SIMD');
    expect(report.device?.threads).toBeGreaterThanOrEqual(1);
    expect(report.memory).toContain('4 GiB limit of WebAssembly memory');
    expect(report.failures).toEqual([]);
    expect(report.gflops).toBeGreaterThan(0);
    console.log(`wasm in Chromium, ${report.device?.device}: fused block ${report.shape?.join('×')} at ${report.gflops?.toFixed(1)} GFLOP/s`);
  }, 120_000);

  it('webgpu runs through navigator.gpu and agrees with float64 for every kernel and shape', async () => {
    const report = await runPage('webgpu', ['--enable-unsafe-webgpu']);
    expect(report.error).toBeUndefined();
    expect(report.device?.device).toContain('WebGPU');
    expect(report.failures).toEqual([]);
    expect(report.gflops).toBeGreaterThan(0);
    console.log(`webgpu in Chromium, ${report.device?.device}: fused block ${report.shape?.join('×')} at ${report.gflops?.toFixed(2)} GFLOP/s`);
  }, 180_000);
});
