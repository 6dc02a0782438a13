/**
 * `npm run size:browser`: what a page downloads for kmfit — the bundle of the browser entry,
 * minified, as bytes and gzipped, without and with the WebAssembly kernels (which it carries as
 * base64 strings), and the .wasm modules themselves, of which a page instantiates one variant
 * (relaxed SIMD where the engine has it, else SIMD). Build first (`npm run build`).
 */
import { gzipSync } from 'node:zlib';
import {
  BLOCKS_RELAXED_WASM,
  BLOCKS_SIMD_WASM,
  DENSE_RELAXED_WASM,
  DENSE_SIMD_WASM,
} from '../kernels/wasm/generated/modules.js';
import { bundleForBrowser } from './browserBundle.js';

const WASM = { BLOCKS_RELAXED_WASM, BLOCKS_SIMD_WASM, DENSE_RELAXED_WASM, DENSE_SIMD_WASM };

const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
const gzipped = (bytes: Uint8Array | string) => gzipSync(bytes, { level: 9 }).length;
const sizes = (bytes: Uint8Array | string) => `${kB(typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length)} (${kB(gzipped(bytes))} gzip)`;

const { code } = await bundleForBrowser({ minify: true });
let withoutWasm = code;
for (const [name, base64] of Object.entries(WASM)) {
  // The minifier joins the generated module's string pieces into one literal.
  if (!withoutWasm.includes(base64)) throw new Error(`the bundle does not hold ${name} as one string: update bench/browserSize.ts`);
  withoutWasm = withoutWasm.replace(base64, '');
}
const wasm = (base64: string) => new Uint8Array(Buffer.from(base64, 'base64'));
const variant = (blocks: string, dense: string) => {
  const both = [wasm(blocks), wasm(dense)];
  const total = both[0].length + both[1].length;
  return `${kB(total)} (${kB(gzipped(both[0]) + gzipped(both[1]))} gzip): blocks ${sizes(both[0])}, dense ${sizes(both[1])}`;
};

console.log(`kmfit in a page (dist/browser.js bundled by esbuild for the browser, minified):`);
console.log(`  bundle without the .wasm      ${sizes(withoutWasm)}`);
console.log(`  bundle as shipped (base64 wasm of both variants inside) ${sizes(code)}`);
console.log(`  .wasm, relaxed SIMD variant   ${variant(BLOCKS_RELAXED_WASM, DENSE_RELAXED_WASM)}`);
console.log(`  .wasm, SIMD variant           ${variant(BLOCKS_SIMD_WASM, DENSE_SIMD_WASM)}`);
