/**
 * `http.idletimeout` (Node's `server.timeout`) closes a connection on which no byte moves for that
 * long, so a client that stalls cannot hold it. Time the server spends on its own answer is not a
 * client's stall, and does not count: from the end of a request's body (at once for a `GET`, `HEAD`
 * or `DELETE`) until its response starts: an upload's commit (on S3 it may copy or concatenate
 * gigabytes), the first `_catalog` page of a very large registry, a sorted admin tag page of a
 * repository of 100,000 tags (tens of seconds). A body that stalls while it is sent is cut, and so
 * is a download the client stops reading (the response's writes re-arm the timer).
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/**
 * The server's `'timeout'` listener (Node then leaves the socket to it): closes a connection idle for
 * `http.idletimeout`, unless it is waiting for the server's own answer: a request whose body is all
 * in and whose response has not started. Nothing runs per request: the check is made only when the
 * timer fires, and writing the answer re-arms it.
 */
export function closeIdleConnection(socket: Duplex): void {
  const res = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
  if (res && !res.headersSent && res.req.complete && !socket.destroyed) return;
  socket.destroy();
}
