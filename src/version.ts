import packageJson from '../package.json';

/** This kmfit's version, written into model files. */
export const version: string = packageJson.version;
