/**
 * `http.idletimeout` (Node's `server.timeout`) closes a connection on which no byte moves for that
 * long, so a client that stalls cannot hold it. Time the server spends on its own answer is not a
 * client's stall, and must not count:
 *
 * - a request that carries a body: from the end of the body until the response is sent (on S3 an
 *   upload's commit may copy or concatenate gigabytes);
 * - a `GET` or `HEAD`: until the response's headers are written (the first `_catalog` page of a very
 *   large registry, a sorted admin tag page of a repository of 100,000 tags: tens of seconds). The
 *   body is then under the timeout again: a client that stops reading a download is cut.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Pauses the idle timeout of `req`'s connection from the end of its body until `res` is sent. */
export function pauseIdleTimeoutAfterBody(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  const idle = socket.timeout ?? 0;
  const pause = (): void => void socket.setTimeout(0);
  if (req.complete) pause();
  else req.once('end', pause);
  res.once('close', () => {
    if (!socket.destroyed) socket.setTimeout(idle);
  });
}

/**
 * Pauses the idle timeout of `req`'s connection until `res`'s headers are written (explicitly or by
 * the first write or `end`: Node's implicit headers go through `writeHead` too), then restores it.
 */
export function pauseIdleTimeoutUntilHeaders(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket;
  const idle = socket.timeout ?? 0;
  if (idle === 0) return;
  socket.setTimeout(0);
  const restore = (): void => {
    if (!socket.destroyed) socket.setTimeout(idle);
  };
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
    restore();
    return writeHead.apply(this, args);
  } as ServerResponse['writeHead'];
  res.once('close', restore);
}
