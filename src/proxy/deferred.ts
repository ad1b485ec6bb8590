/** A promise with its settle functions in hand (a one-shot signal between the parts of a fill). */

/** A promise of nothing, and the functions that settle it; its rejection is never unhandled. */
export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

/** A new unsettled {@link Deferred}. */
export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
