/**
 * Graceful shutdown of a listener (`http.draintimeout`). `/readyz` answers 503 from the start (see
 * Health), so a load balancer stops sending new clients; the listener itself closes once no request
 * has been in flight for {@link DRAIN_IDLE_MS}, and then every connection (all idle by then) is
 * closed; whatever is still open when the drain timeout passes is cut.
 *
 * Why not stop accepting at once: a push is a sequence of requests (the layer's PATCH, its PUT, the
 * config's HEAD, POST and PUT, the manifest's PUT), and the Docker daemon opens a new connection for
 * each (its registry transport disables keep-alive), so a listener closed in the middle of the
 * layer's PATCH would fail the push at its next request. Between two requests of one client there
 * are milliseconds; a second without any request in flight means no push is under way.
 */
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** How long the server must have no request in flight before the draining listener closes (ms). */
export const DRAIN_IDLE_MS = 1_000;

/** Tracks the requests in flight of one server, to drain it. */
export class Drain {
  private inFlight = 0;
  private readonly sockets = new Set<Socket>();
  private draining = false;
  private quiet: NodeJS.Timeout | undefined;
  private closeListener: (() => void) | undefined;

  /**
   * @param server the listener (HTTP or HTTPS)
   * @param tls true for an HTTPS server: its requests arrive on the TLS sockets of `secureConnection`
   */
  constructor(
    private readonly server: HttpServer,
    tls: boolean,
  ) {
    server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => this.started(res));
    server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  private started(res: ServerResponse): void {
    this.inFlight += 1;
    clearTimeout(this.quiet);
    res.once('close', () => {
      this.inFlight -= 1;
      if (this.draining && this.inFlight === 0) this.waitForQuiet();
    });
  }

  private waitForQuiet(): void {
    clearTimeout(this.quiet);
    this.quiet = setTimeout(() => {
      if (this.inFlight === 0) this.closeListener?.();
    }, DRAIN_IDLE_MS);
  }

  /**
   * Drains: serves on while requests are in flight; once none has been for {@link DRAIN_IDLE_MS},
   * stops listening and closes the (idle) connections. After `timeoutMs` everything is cut.
   * @returns true when the server went quiet in time
   */
  async drain(timeoutMs: number): Promise<boolean> {
    this.draining = true;
    const closed = new Promise<void>((resolve) => {
      this.closeListener = () => {
        this.closeListener = undefined;
        this.server.close(() => resolve());
        for (const socket of this.sockets) socket.destroy();
      };
    });
    if (this.inFlight === 0) this.waitForQuiet();
    let timer: NodeJS.Timeout | undefined;
    const inTime = await Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
    clearTimeout(timer);
    if (!inTime) {
      clearTimeout(this.quiet);
      this.closeListener?.();
      this.server.closeAllConnections();
      await closed;
    }
    return inTime;
  }
}
