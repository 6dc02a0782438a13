/**
 * The optional peer dependencies: heavy packages kmfit loads on first use, so that `npm install
 * kmfit` stays light (≈15 MB) and trains on the wasm backend without them. One record each: the
 * packages, what they serve, and the one command that installs them — the text `kmfit devices`
 * and the errors that need them show. package.json lists the same packages under
 * peerDependencies (optional), which is also what keeps the bundler from inlining them.
 */
export interface OptionalPackage {
  /** The npm packages, all needed together. */
  readonly packages: readonly string[];
  /** What needs them, for messages. */
  readonly serves: string;
  /** The command that installs them next to kmfit. */
  readonly install: string;
}

export const OPTIONAL_PACKAGES = {
  // The flag skips onnxruntime-node's install-time CUDA download: kmfit uses only its CPU code,
  // which is inside the npm package, and the download fails (rolling the install back) offline.
  onnx: {
    packages: ['onnxruntime-node'],
    serves: 'the onnx backend',
    install: 'npm install onnxruntime-node --onnxruntime-node-install=skip',
  },
  webgpu: { packages: ['webgpu'], serves: 'the webgpu backend in Node (Dawn)', install: 'npm install webgpu' },
  // gpu.js depends on headless-gl, whose install script compiles native code for minutes and fails
  // without X headers; gpu.js runs without it.
  gpujs: { packages: ['gpu.js'], serves: 'the gpujs backend', install: 'npm install gpu.js --ignore-scripts' },
  cluster: { packages: ['nats'], serves: 'training on a cluster (kmfit worker, the cluster option)', install: 'npm install nats' },
  charts: {
    packages: ['vega', 'vega-lite', '@resvg/resvg-wasm'],
    serves: 'charts (kmfit/plot, the charts of kmfit/notebook, kmfit scaling)',
    install: 'npm install vega vega-lite @resvg/resvg-wasm',
  },
} as const satisfies Record<string, OptionalPackage>;

export type OptionalPackageName = keyof typeof OPTIONAL_PACKAGES;

/** Node's "cannot find package X" (ES modules and CommonJS), as opposed to X failing as it loads. */
function notInstalled(error: unknown, packages: readonly string[]): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code: unknown = Reflect.get(error, 'code');
  const message = String(Reflect.get(error, 'message'));
  // The package itself, not something it imports: "Cannot find package 'webgpu' imported from …".
  const missing = (name: string) => new RegExp(`Cannot find (?:package|module) '?${name.replace(/[.\/]/g, '\\$&')}(?:'|\\s|$)`).test(message);
  return (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && packages.some(missing);
}

/**
 * Why an optional package did not load, in one line that ends with the command installing it:
 * "the optional package webgpu is not installed; install it with `npm install webgpu`".
 */
export function missingPackageReason(which: OptionalPackageName, error: unknown): string {
  const { packages, install } = OPTIONAL_PACKAGES[which];
  const names = packages.join(', ');
  const what = packages.length === 1 ? `the optional package ${names}` : `the optional packages ${names}`;
  const firstLine = (error instanceof Error ? error.message : String(error)).split('\n')[0];
  const state = notInstalled(error, packages) ? `${packages.length === 1 ? 'is' : 'are'} not installed` : `did not load (${firstLine})`;
  return `${what} ${state}; install ${packages.length === 1 ? 'it' : 'them'} with \`${install}\``;
}
