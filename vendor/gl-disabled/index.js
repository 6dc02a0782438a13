// gpu.js wraps require('gl') in try/catch: throwing here makes it skip the headless-gl mode.
throw new Error('headless-gl is disabled in this install of kmfit (see vendor/gl-disabled/package.json)');
