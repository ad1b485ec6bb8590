/**
 * Graceful shutdown of a listener (`http.draintimeout`): stop accepting connections, let the requests
 * in flight finish, and keep each open connection usable for a moment after its last answer, so that a
 * client in the middle of a sequence of requests (a push: the blob's PATCH, its PUT, the manifest PUT,
 * each sent on the connection the previous one used) completes it. A connection idle for
 * {@link DRAIN_IDLE_MS} is closed; whatever is still open when the drain timeout passes is cut.
 *
 * Node's own `server.close()` would also close every connection idle at that instant (Node >= 19),
 * including those of such a client between two requests: the drain stops listening through
 * `net.Server.close` instead and closes idle connections itself.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';

/** How long a connection may stay idle during a drain before it is closed (ms). */
export const DRAIN_IDLE_MS = 1_000;

/** Tracks the connections and requests of one server, to drain it. */
export class Drain {
  /** requests in flight per connection */
  private readonly active = new Map<Socket, number>();
  private readonly idleTimers = new Map<Socket, NodeJS.Timeout>();
  /** when each connection's last answer ended (or it opened), ms on the monotonic clock */
  private readonly idleSince = new Map<Socket, number>();
  private draining = false;

  /**
   * @param server the listener (HTTP or HTTPS)
   * @param tls true for an HTTPS server: its requests arrive on the TLS sockets of `secureConnection`
   */
  constructor(
    private readonly server: HttpServer,
    tls: boolean,
  ) {
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => this.started(req.socket, res));
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => this.opened(socket));
  }

  /** True once {@link drain} was called. */
  get isDraining(): boolean {
    return this.draining;
  }

  private opened(socket: Socket): void {
    this.active.set(socket, 0);
    this.idleSince.set(socket, performance.now());
    socket.once('close', () => {
      this.active.delete(socket);
      this.idleSince.delete(socket);
      clearTimeout(this.idleTimers.get(socket));
      this.idleTimers.delete(socket);
    });
    if (this.draining) this.closeWhenIdle(socket);
  }

  private started(socket: Socket, res: ServerResponse): void {
    this.active.set(socket, (this.active.get(socket) ?? 0) + 1);
    clearTimeout(this.idleTimers.get(socket));
    res.once('close', () => {
      const left = (this.active.get(socket) ?? 1) - 1;
      if (!socket.destroyed) this.active.set(socket, left);
      if (left === 0) this.idleSince.set(socket, performance.now());
      if (this.draining && left === 0) this.closeWhenIdle(socket);
    });
  }

  private closeWhenIdle(socket: Socket): void {
    clearTimeout(this.idleTimers.get(socket));
    const idleFor = performance.now() - (this.idleSince.get(socket) ?? 0);
    const timer = setTimeout(() => {
      if ((this.active.get(socket) ?? 0) === 0) socket.destroy();
    }, Math.max(0, DRAIN_IDLE_MS - idleFor));
    timer.unref();
    this.idleTimers.set(socket, timer);
  }

  /**
   * Stops accepting connections and waits until every connection has closed (requests finished,
   * then idle for {@link DRAIN_IDLE_MS}), or `timeoutMs` passed: then every connection is cut.
   * @returns true when everything finished in time
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    for (const [socket, count] of this.active) if (count === 0) this.closeWhenIdle(socket);
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!inTime) {
      this.server.closeAllConnections();
      for (const socket of this.active.keys()) socket.destroy();
      await closed;
    }
    return inTime;
  }
}
