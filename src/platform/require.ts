/** The host's optional capabilities, or a KmfitError that says what to do without them. */
import { platform } from '#platform';
import { KmfitError } from '../errors.js';
import type { ClusterStart, FileAccess } from './types.js';

/**
 * The host's file access.
 * @param what what needs it, as the message's subject: "model.save(path)".
 * @param instead what to do where there are no files, as a clause: "use model.toBytes() …".
 * @throws KmfitError UNSUPPORTED_HERE where there is no file system (a web page).
 */
export function requireFiles(what: string, instead: string): FileAccess {
  if (platform.files) return platform.files;
  throw new KmfitError('UNSUPPORTED_HERE', `${what} needs a file system, which ${platform.name} does not have: ${instead}.`);
}

/**
 * The host's way to start a cluster's coordinator.
 * @throws KmfitError UNSUPPORTED_HERE where there is none (a browser).
 */
export function requireCluster(): ClusterStart {
  if (platform.startCluster) return platform.startCluster;
  throw new KmfitError('UNSUPPORTED_HERE', `The cluster option needs a NATS client and kmfit worker processes, which ${platform.name} does not have: leave it out to train here.`);
}
