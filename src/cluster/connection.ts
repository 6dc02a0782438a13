/**
 * Connecting to a NATS server, for a coordinator or a worker: the optional `nats` package loaded on
 * first use, the credentials and TLS files, and every way a connection fails said in one line that
 * names the server and what to do.
 */
import { readFileSync } from 'node:fs';
import type { NatsConnection, ConnectionOptions } from 'nats';
import { KmfitError } from '../errors.js';
import { missingPackageReason } from '../optionalPackages.js';

type Nats = typeof import('nats');

let loaded: Promise<Nats> | undefined;

/** The nats client, or MISSING_PACKAGE with its install command. */
export function loadNats(): Promise<Nats> {
  loaded ??= import('nats').catch((error: unknown) => {
    loaded = undefined;
    throw new KmfitError('MISSING_PACKAGE', `Training on a cluster needs the NATS client: ${missingPackageReason('cluster', error)}.`, { cause: error });
  });
  return loaded;
}

/** How to reach the server and prove who we are. Files, not secrets, so that command lines and checkpoints hold no password. */
export interface ServerAccess {
  /** nats://HOST:PORT, or several separated by commas (a NATS cluster); tls://… asks for TLS. */
  readonly server: string;
  readonly user?: string;
  readonly password?: string;
  readonly token?: string;
  /** PEM files: the CA that signed the server's certificate, and a client certificate and key when the server asks for one. */
  readonly tls?: { readonly ca?: string; readonly cert?: string; readonly key?: string };
}

/** A secret kept in a file: its first line. */
export function readSecretFile(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8').split(/\r?\n/)[0];
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new KmfitError(code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'IO_ERROR', `Cannot read the ${what} file ${file}: ${(error as Error).message}.`);
  }
}

function checkFile(file: string | undefined, what: string): string | undefined {
  if (file !== undefined) readSecretFile(file, what); // fails now, with the file's name, rather than deep in the TLS handshake
  return file;
}

/** The servers of `server`, or INVALID_OPTION naming what a server address looks like. */
export function serverList(server: string): string[] {
  const servers = server.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const s of servers) {
    if (!/^(nats|tls):\/\/[^\s/]+$/.test(s) && !/^[^\s/:]+:\d+$/.test(s)) {
      throw new KmfitError('INVALID_OPTION', `The cluster server ${JSON.stringify(s)} is not a NATS address; give nats://HOST:PORT (tls://HOST:PORT for TLS), several separated by commas.`);
    }
  }
  if (servers.length === 0) throw new KmfitError('INVALID_OPTION', 'No cluster server was given; give nats://HOST:PORT.');
  return servers;
}

/**
 * Connects, or throws CLUSTER_UNREACHABLE saying why (nothing listening, refused credentials, a
 * TLS mismatch). `name` shows in the server's connection list (nats-server's monitoring).
 */
export async function connectTo(access: ServerAccess, name: string): Promise<NatsConnection> {
  const { connect } = await loadNats();
  const servers = serverList(access.server);
  const tls = access.tls && (access.tls.ca || access.tls.cert || access.tls.key)
    ? { caFile: checkFile(access.tls.ca, 'TLS CA'), certFile: checkFile(access.tls.cert, 'TLS certificate'), keyFile: checkFile(access.tls.key, 'TLS key') }
    : undefined;
  const options: ConnectionOptions = {
    servers,
    name,
    ...(access.user !== undefined ? { user: access.user, pass: access.password ?? '' } : {}),
    ...(access.token !== undefined ? { token: access.token } : {}),
    ...(tls ? { tls } : servers.some((s) => s.startsWith('tls://')) ? { tls: {} } : {}),
    // Fail fast at the start; once running, ride out a short outage of the server.
    timeout: 5000,
    maxReconnectAttempts: 10,
    reconnectTimeWait: 500,
  };
  try {
    return await connect(options);
  } catch (error) {
    throw unreachable(access.server, error);
  }
}

function unreachable(server: string, error: unknown): KmfitError {
  const text = error instanceof Error ? error.message : String(error);
  const code = String((error as { code?: unknown }).code ?? '');
  let why = text;
  let todo = `start one (nats-server -a HOST -p PORT) or correct the address`;
  if (/AUTHORIZATION|AUTHENTICATION|Authorization/i.test(code + text)) {
    why = 'the server refused the credentials';
    todo = 'give the user and password (or the token) the server expects';
  } else if (/tls|ssl|certificate/i.test(text)) {
    todo = 'give the CA file that signed the server certificate (and a client certificate if the server asks for one), or use nats:// for a server without TLS';
  } else if (code === 'CONNECTION_REFUSED' || /ECONNREFUSED|CONNECTION_REFUSED/.test(code + text)) {
    why = 'nothing listens there';
  }
  return new KmfitError('CLUSTER_UNREACHABLE', `Cannot connect to the NATS server ${server}: ${why}; ${todo}.`, { cause: error });
}

/** Whether a request failed because nobody listens on its subject (NATS "503 no responders"). */
export function noResponders(error: unknown): boolean {
  return String((error as { code?: unknown })?.code) === '503';
}

/** Whether a request ran out of time. */
export function timedOut(error: unknown): boolean {
  return String((error as { code?: unknown })?.code) === 'TIMEOUT';
}
