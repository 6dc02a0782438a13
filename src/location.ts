/**
 * Where kmfit's own code is running from, to find files and packages installed next to it.
 * kmfit is bundled into an ES module and a CommonJS build: `import.meta.url` exists only in the
 * former (in the CommonJS build esbuild makes `import.meta` an empty object), `__filename` only in
 * the latter. In a bundle the answer is the bundle file (dist/…); from source, this file.
 */
export function ownLocation(): string | undefined {
  try {
    const url: unknown = import.meta.url;
    if (typeof url === 'string' && url !== '') return url;
  } catch {
    // no import.meta here
  }
  return typeof __filename === 'string' ? __filename : undefined;
}
