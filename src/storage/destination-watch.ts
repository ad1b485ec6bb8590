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

  /** Starts watching `dest`; `message` is the error's message when it closes early. */
  constructor(
    private readonly dest: Writable,
    message: string,
  ) {
    let onGone: (err: Error) => void = () => undefined;
    this.gone = new Promise<never>((_resolve, reject) => {
      onGone = reject;
    });
    this.gone.catch(() => undefined);
    this.#onClose = () => onGone(Object.assign(new Error(message), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    this.#onError = (err) => onGone(err);
    dest.once('close', this.#onClose);
    dest.once('error', this.#onError);
  }

  /** Ends `dest` and waits for its last write. @throws its error, or {@link gone}'s when it goes first */
  async end(): Promise<void> {
    this.dest.removeListener('close', this.#onClose);
    await Promise.race([new Promise<void>((resolve, reject) => this.dest.end((err?: Error | null) => (err ? reject(err) : resolve()))), this.gone]);
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
