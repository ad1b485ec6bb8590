/**
 * The minimum rate of a request body: a body that arrives slower than `http.minbodyrate` bytes per
 * second over a whole window of `http.idletimeout` is cut (the connection is destroyed), so a client
 * that sends one byte now and then (never idle long enough for the idle timeout) cannot hold a
 * connection and an upload session forever (the slow-body half of "Slowloris"; Apache's
 * mod_reqtimeout `MinRate`). A window in which the server itself stopped reading the connection
 * (back-pressure: storage slower than the client) is not held against the client.
 */
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { hasBody } from './context.js';

/** What {@link bodyRateGuard} needs: `http.idletimeout` (ms) and `http.minbodyrate` (bytes per second, 0: off). */
export interface BodyRateOptions {
  idletimeout: number;
  minbodyrate: number;
}

/**
 * A hook for every request: for one with a body, checks the bytes read from its connection once per
 * window until the body has ended (or the request closed). Costs one timer per request with a body.
 */
export function bodyRateGuard(options: BodyRateOptions, logger: Logger): (req: IncomingMessage) => void {
  const windowMs = options.idletimeout;
  const minBytes = (options.minbodyrate * windowMs) / 1000;
  return (req) => {
    if (options.minbodyrate === 0 || windowMs === 0 || !hasBody(req)) return;
    const socket = req.socket;
    let baseline = socket.bytesRead;
    // the server paused reading (back-pressure) at some point of the window: the window does not count
    let held = socket.isPaused();
    const onPause = (): void => void (held = true);
    socket.on('pause', onPause);
    const timer = setInterval(() => {
      const read = socket.bytesRead - baseline;
      baseline = socket.bytesRead;
      const excused = held;
      held = socket.isPaused();
      if (excused || read >= minBytes) return;
      stop();
      logger.warn(
        { reqId: req.id, req: { method: req.method }, bytesPerSecond: Math.round((read * 1000) / windowMs), minBytesPerSecond: options.minbodyrate, windowMs },
        'request body too slow: connection cut',
      );
      socket.destroy();
    }, windowMs);
    timer.unref();
    const stop = (): void => {
      clearInterval(timer);
      socket.off('pause', onPause);
    };
    req.once('end', stop);
    req.once('close', stop);
  };
}
