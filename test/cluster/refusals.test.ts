/**
 * Who may take part in a cluster run: a worker started for another run, a worker of another kmfit
 * version and a shard whose rows do not match their fingerprint are refused, each with one line
 * that says why; a server that wants credentials admits only the right ones; an address where no
 * server listens is one clear error. All against a real nats-server and real worker processes.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNats } from '../../src/cluster/connection.js';
import {
  JOIN_SUBJECT, PROTOCOL_VERSION, HEADER, decodeJson, encodeJson, sendCommand, subjects, type JoinReply, type JoinRequest,
} from '../../src/cluster/protocol.js';
import { fit } from '../../src/index.js';
import { version } from '../../src/version.js';
import { ROOT, moduleUrl } from '../helpers/child.js';
import { HAVE_NATS_SERVER, exitOf, freePort, startNatsServer, startScript, startWorker, stopWorker, waitForOutput } from '../helpers/cluster.js';
import { lcg } from '../helpers/data.js';
import { asyncErrorOf } from '../helpers/errors.js';
import { temporaryDirectory } from '../helpers/temporary.js';

const n = 60;
const d = 4;
const random = lcg(5);
const X = { data: new Float32Array(n * d).map(() => random()), rows: n, cols: d };
const y = Int32Array.from({ length: n }, (_, i) => i % 2);
const options = { backend: 'js' as const, epochs: 1, kernel: 'laplacian', bandwidth: 1 };

describe.runIf(HAVE_NATS_SERVER)('cluster refusals and access', () => {
  it('refuses a worker started for another run, naming both runs', async () => {
    const server = await startNatsServer();
    const worker = await startWorker(server.url, ['--run', 'nightly']);
    try {
      const refusal = await waitForAnd(worker, /refused run 'adhoc'/, () =>
        expectKmfitError(fit(X, y, { ...options, cluster: { server: server.url, workers: 1, run: 'adhoc', joinSeconds: 2 } }), 'CLUSTER_WORKERS', /serves only run 'nightly', not run 'adhoc'/),
      );
      expect(refusal).toMatch(/Only 0 of 1 workers joined run 'adhoc'.*Start more workers \(kmfit worker --server/);
      // The run it serves is welcome.
      const model = await fit(X, y, { ...options, cluster: { server: server.url, workers: 1, run: 'nightly' } });
      expect(model.history).toHaveLength(1);
      await model.dispose();
    } finally {
      await stopWorker(worker);
    }
  });

  it('refuses a worker of another kmfit version', async () => {
    const server = await startNatsServer();
    // A real worker that says it is kmfit 0.0.9 (as an older install would).
    const script = path.join(temporaryDirectory('cluster-version'), 'old-worker.mts');
    writeFileSync(
      script,
      `import { runWorker } from ${moduleUrl('src/cluster/worker.ts')};
       const controller = new AbortController();
       process.once('SIGTERM', () => controller.abort());
       await runWorker({ server: process.argv[2], backend: 'js', identity: { protocol: ${PROTOCOL_VERSION}, version: '0.0.9' }, signal: controller.signal, onEvent: (text) => console.log(text) });`,
    );
    const worker = startScript(script, [server.url]);
    await waitForOutput(worker, 'waiting for a run');
    try {
      await expectKmfitError(
        fit(X, y, { ...options, cluster: { server: server.url, workers: 1, joinSeconds: 2 } }),
        'CLUSTER_WORKERS',
        new RegExp(`runs kmfit 0\\.0\\.9 \\(protocol ${PROTOCOL_VERSION}\\) and the coordinator kmfit ${version.replaceAll('.', '\\.')}.*install the same kmfit version on every machine`),
      );
    } finally {
      await stopWorker(worker);
    }
  });

  it('a worker refuses a shard whose rows do not match their fingerprint', async () => {
    const server = await startNatsServer();
    const worker = await startWorker(server.url);
    const { connect, headers } = await loadNats();
    const nc = await connect({ servers: server.url });
    try {
      // Speaking as a coordinator: the worker joins, then gets rows with another CRC than announced.
      const request: JoinRequest = { protocol: PROTOCOL_VERSION, version, run: 'fingerprint', shard: 0, shards: 1 };
      const joined = decodeJson<JoinReply>((await nc.request(JOIN_SUBJECT, encodeJson(request), { timeout: 5000 })).data);
      expect(joined.accepted).toBe(true);
      const rows = new Float32Array(8 * d).fill(0.5);
      const kernel = { name: 'laplacian', bandwidth: 1 };
      const reply = await sendCommand(nc, headers, subjects('fingerprint').shard(0), { op: 'assign', run: 'fingerprint', kernel, rows: 8, cols: d, outputs: 2, crc: 12345 }, new Uint8Array(rows.buffer), 1, 5000)!;
      expect(reply.headers?.get(HEADER.error)).toMatch(/arrived with CRC-32 \d+, not the 12345 sent: the data fingerprint differs, so this worker refuses the shard/);
    } finally {
      await nc.close();
      await stopWorker(worker);
    }
  });

  it('admits the right user and password, and refuses a wrong one with one line', async () => {
    const server = await startNatsServer(['--user', 'kmfit', '--pass', 'correct-horse']);
    const folder = temporaryDirectory('cluster-password');
    const good = path.join(folder, 'password');
    const bad = path.join(folder, 'wrong-password');
    writeFileSync(good, 'correct-horse\n', { mode: 0o600 });
    writeFileSync(bad, 'battery-staple\n', { mode: 0o600 });
    const worker = await startWorker(server.url, ['--cluster-user', 'kmfit', '--cluster-password-file', good]);
    try {
      const model = await fit(X, y, { ...options, cluster: { server: server.url, workers: 1, user: 'kmfit', password: 'correct-horse' } });
      expect(model.history).toHaveLength(1);
      await model.dispose();
      await expectKmfitError(
        fit(X, y, { ...options, cluster: { server: server.url, workers: 1, user: 'kmfit', password: 'battery-staple' } }),
        'CLUSTER_UNREACHABLE',
        /Cannot connect to the NATS server nats:\/\/127\.0\.0\.1:\d+: the server refused the credentials; give the user and password \(or the token\) the server expects\./,
      );
      // A worker with the wrong password: one line and exit status 2, no stack trace.
      const refused = startScript(path.join(ROOT, 'src/cli/main.ts'), ['worker', '--server', server.url, '--backend', 'js', '--cluster-user', 'kmfit', '--cluster-password-file', bad]);
      const { code, output } = await exitOf(refused);
      expect(code).toBe(2);
      expect(output.trim()).toMatch(/^kmfit: Cannot connect to the NATS server .*: the server refused the credentials/);
    } finally {
      await stopWorker(worker);
    }
  });

  it('says so when no server listens at the address', async () => {
    const port = await freePort();
    await expectKmfitError(fit(X, y, { ...options, cluster: { server: `nats://127.0.0.1:${port}`, workers: 1 } }), 'CLUSTER_UNREACHABLE', new RegExp(`nats://127\\.0\\.0\\.1:${port}: nothing listens there`));
  });
});

/** The message of the KmfitError `p` rejects with, checked against `code` and `pattern`. */
async function expectKmfitError(p: Promise<unknown>, code: string, pattern: RegExp): Promise<string> {
  const message = await asyncErrorOf(p, code);
  expect(message).toMatch(pattern);
  return message;
}

/** Runs `action` while collecting a worker's output; returns the action's result once `text` has shown. */
async function waitForAnd<T>(worker: import('node:child_process').ChildProcess, text: RegExp, action: () => Promise<T>): Promise<T> {
  const seen = waitForOutput(worker, text, 30_000);
  const result = await action();
  await seen;
  return result;
}

const HAVE_OPENSSL = spawnSync('openssl', ['version']).status === 0;
if (HAVE_NATS_SERVER && !HAVE_OPENSSL && process.env.CI === 'true') throw new Error('openssl is not installed: the TLS test makes its certificates with it');

describe.runIf(HAVE_NATS_SERVER && HAVE_OPENSSL)('cluster over TLS', () => {
  it('trains through a TLS-only server when given its CA, and says what to give when not', async () => {
    const folder = temporaryDirectory('cluster-tls');
    const file = (name: string) => path.join(folder, name);
    const openssl = (args: string[]) => {
      const made = spawnSync('openssl', args, { cwd: folder, encoding: 'utf8' });
      expect(made.status, made.stderr).toBe(0);
    };
    // A throwaway CA, and a certificate for 127.0.0.1 signed by it (also named localhost: the
    // client checks a loopback IP address under that name).
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '1', '-subj', '/CN=kmfit test CA']);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server-key.pem', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
    writeFileSync(file('san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.cnf']);
    writeFileSync(file('tls.conf'), `tls {\n  cert_file: "${file('server.pem')}"\n  key_file: "${file('server-key.pem')}"\n}\n`);
    const server = await startNatsServer(['-c', file('tls.conf')]);
    const url = `tls://127.0.0.1:${server.port}`;
    const worker = await startWorker(url, ['--cluster-tls-ca', file('ca.pem')]);
    try {
      const model = await fit(X, y, { ...options, cluster: { server: url, workers: 1, tls: { ca: file('ca.pem') } } });
      expect(model.history).toHaveLength(1);
      await model.dispose();
      // Without the CA the server's certificate cannot be trusted.
      await expectKmfitError(fit(X, y, { ...options, cluster: { server: url, workers: 1 } }), 'CLUSTER_UNREACHABLE', /give the CA file that signed the server certificate/);
    } finally {
      await stopWorker(worker);
    }
  });
});
