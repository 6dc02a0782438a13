/**
 * A TCP proxy on loopback that makes a link slower, for the distributed benchmark: this kernel has
 * no `tc netem`, so the network between the cluster's processes and nats-server is simulated by
 * forwarding every connection through here. Each direction of each connection is a link of its
 * own: bytes leave at `bitsPerSecond` (serialized one chunk after another) and arrive `delayMs`
 * later.
 *
 * Node's timers fire on whole milliseconds, so a delay of 0.5 ms arrives after 1 ms or a little
 * more: the benchmark measures the round trip it really got (`measureRoundTrip`) and uses that
 * figure in its model, not the nominal one.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface LinkShape {
  /** One-way delay added to every byte. */
  readonly delayMs: number;
  /** Bandwidth of each direction of each connection. */
  readonly bitsPerSecond: number;
}

/**
 * One direction of a connection: delays and paces what `from` sends before `to` gets it. Chunks
 * wait in one queue, in order, drained by a single timer: timers of their own could fire out of
 * order (Node schedules each from the event loop's cached, whole-millisecond clock).
 */
function pace(from: Socket, to: Socket, link: LinkShape): void {
  const queue: { chunk: Buffer; due: number }[] = [];
  let busyUntil = 0; // when the link has sent what it was given so far
  let timer: NodeJS.Timeout | undefined;
  let ended = false;
  let paused = false;
  const drain = () => {
    timer = undefined;
    const now = performance.now();
    while (queue.length > 0 && queue[0].due <= now) if (!to.destroyed) to.write(queue.shift()!.chunk);
    if (queue.length > 0) timer = setTimeout(drain, queue[0].due - now);
    else if (ended) to.end();
    // Back-pressure: read again once little is in flight, as a real link's buffers would allow.
    if (paused && busyUntil - now < 25) {
      paused = false;
      from.resume();
    }
  };
  from.on('data', (chunk: Buffer) => {
    const now = performance.now();
    busyUntil = Math.max(now, busyUntil) + (chunk.length * 8 * 1000) / link.bitsPerSecond;
    queue.push({ chunk, due: busyUntil + link.delayMs });
    if (timer === undefined) timer = setTimeout(drain, queue[0].due - now);
    if (!paused && busyUntil - now > 50) {
      paused = true;
      from.pause();
    }
  });
  from.on('end', () => {
    ended = true;
    if (queue.length === 0) to.end();
  });
}

/** Listens on a free loopback port and forwards every connection to `target` through the link. */
export function startDelayProxy(target: { host: string; port: number }, link: LinkShape): Promise<{ port: number; server: Server }> {
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    pace(client, upstream, link);
    pace(upstream, client, link);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    client.on('close', close);
    upstream.on('close', close);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, server })));
}

/**
 * Run as a program (`tsx bench/delayProxy.ts TARGET_PORT DELAY_MS BITS_PER_SECOND`): the proxy in a
 * process of its own, so that its forwarding does not take turns with the benchmark's event loop.
 * Prints the port it listens on.
 */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [port, delayMs, bitsPerSecond] = process.argv.slice(2).map(Number);
  const { port: listening } = await startDelayProxy({ host: '127.0.0.1', port }, { delayMs, bitsPerSecond });
  process.stdout.write(`listening ${listening}\n`);
}
