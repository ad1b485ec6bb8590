/**
 * Watching a destination (a response socket) while bytes are written to it: its `close` before the
 * end or its `error` rejects {@link DestinationWatch.gone}, which every wait of a send races, so a
 * client that went away stops the send at once. Shared by the double-buffered send of stored blobs
 * and the pull-through cache's send of a blob still arriving.
 */
import type { Writable } from 'node:stream';

/** The `close` and `error` listeners on one destination, for the time of one send. */
export class DestinationWatch {
  /**
   * Rejects with `dest`'s error, or with `ERR_STREAM_PREMATURE_CLOSE` (Node's code for a stream
   * closed early: the client went away, no server fault) when `dest` closes first; never resolves.
   */
  readonly gone: Promise<never>;
  readonly #onClose: () => void;
  readonly #onError: (err: Error) => void;
  /** why `dest` went, once it did */
  #why: Error | undefined;
  /** rejects the wait of {@link until} under way */
  #waiting: ((err: Error) => void) | undefined;

  /** Starts watching `dest`; `message` is the error's message when it closes early. */
  constructor(
    private readonly dest: Writable,
    message: string,
  ) {
    let reject: (err: Error) => void = () => undefined;
    this.gone = new Promise<never>((_resolve, rej) => {
      reject = rej;
    });
    this.gone.catch(() => undefined);
    const onGone = (err: Error) => {
      this.#why ??= err;
      reject(err);
      this.#waiting?.(err);
    };
    this.#onClose = () => onGone(Object.assign(new Error(message), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    this.#onError = (err) => onGone(err);
    dest.once('close', this.#onClose);
    dest.once('error', this.#onError);
  }

  /**
   * Waits for `promise`, or rejects with {@link gone}'s error as soon as `dest` goes. Unlike
   * `Promise.race([promise, gone])`, it leaves nothing behind on `gone`: a race adds a reaction to
   * `gone` that lives until the send ends, and a send waits thousands of times (once per turn of the
   * event loop for a blob still arriving), each reaction promoted to the old generation.
   */
  until<T>(promise: Promise<T>): Promise<T> {
    if (this.#why) return Promise.reject(this.#why);
    return new Promise<T>((resolve, reject) => {
      this.#waiting = reject;
      const settled = () => {
        if (this.#waiting === reject) this.#waiting = undefined;
      };
      promise.then(
        (value) => {
          settled();
          resolve(value);
        },
        (err: unknown) => {
          settled();
          reject(err);
        },
      );
    });
  }

  /** Ends `dest` and waits for its last write. @throws its error, or {@link gone}'s when it goes first */
  async end(): Promise<void> {
    this.dest.removeListener('close', this.#onClose);
    await this.until(new Promise<void>((resolve, reject) => this.dest.end((err?: Error | null) => (err ? reject(err) : resolve()))));
  }

  /** Stops watching (idempotent). */
  release(): void {
    this.dest.removeListener('close', this.#onClose);
    this.dest.removeListener('error', this.#onError);
  }

  /**
   * Runs `send` under the watch: on its failure `dest` is destroyed (its client sees a cut body, never
   * a clean end) and the error rethrown; the watch is released either way.
   */
  async run(send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (err) {
      this.dest.destroy();
      throw err;
    } finally {
      this.release();
    }
  }
}
