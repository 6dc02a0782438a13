/**
 * The command line's cluster flags, shared by `kmfit worker` and training: how to reach the NATS
 * server. Secrets come from files (--cluster-password-file, --cluster-token-file), never from the
 * command line, which other users can read in the process list and which a checkpoint keeps.
 */
import type { Options } from 'yargs';
import { readSecretFile, type ServerAccess } from '../cluster/connection.js';

export const CLUSTER_ACCESS_OPTIONS = {
  'cluster-user': { type: 'string', describe: 'the NATS user (with --cluster-password-file)' },
  'cluster-password-file': { type: 'string', describe: "a file whose first line is the NATS user's password" },
  'cluster-token-file': { type: 'string', describe: 'a file whose first line is the NATS token' },
  'cluster-tls-ca': { type: 'string', describe: "the PEM file of the CA that signed the NATS server's certificate (TLS)" },
  'cluster-tls-cert': { type: 'string', describe: 'a client certificate (PEM), when the server verifies clients' },
  'cluster-tls-key': { type: 'string', describe: "that certificate's key (PEM)" },
} as const satisfies Record<string, Options>;

/** The flags above as parsed: every one a string, when given. */
export type ClusterAccessArgs = { [K in keyof typeof CLUSTER_ACCESS_OPTIONS]?: string };

/** The server and the credentials the flags name, read from their files. */
export function serverAccessOf(server: string, args: ClusterAccessArgs): ServerAccess {
  const password = args['cluster-password-file'] && readSecretFile(args['cluster-password-file'], 'NATS password');
  const token = args['cluster-token-file'] && readSecretFile(args['cluster-token-file'], 'NATS token');
  const tls = { ca: args['cluster-tls-ca'], cert: args['cluster-tls-cert'], key: args['cluster-tls-key'] };
  return {
    server,
    ...(args['cluster-user'] !== undefined ? { user: args['cluster-user'], password: password ?? '' } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(tls.ca || tls.cert || tls.key ? { tls: Object.fromEntries(Object.entries(tls).filter(([, v]) => v !== undefined)) } : {}),
  };
}
