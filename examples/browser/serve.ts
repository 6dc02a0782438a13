/**
 * `npm run demo`: builds the demo page and serves it on http://127.0.0.1:8080/ (PORT to change it).
 * `npm run demo -- --csp` serves it under a strict Content Security Policy, without 'unsafe-eval'.
 */
import { STRICT_POLICY, startDemoServer } from './server.js';

const strict = process.argv.includes('--csp');
const server = await startDemoServer({ port: Number(process.env.PORT ?? 8080), ...(strict ? { contentSecurityPolicy: STRICT_POLICY } : {}) });
console.log(`kmfit demo: ${server.url}${strict ? ` (Content-Security-Policy: ${STRICT_POLICY})` : ''} — Ctrl-C to stop`);
