/**
 * The runs ("segments") of one endpoint's events that the notification queue (queue.ts) holds in this
 * process until they are stored or delivered, the endpoint's list of them (its tail), and the
 * waiter through which durable callers learn that their segment was stored.
 */
import { queuedText, type QueuedEvent } from './event-text.js';

/** A run of events of one endpoint queued by this process and not yet delivered. */
export interface Segment {
  readonly endpoint: string;
  /** its batch name without the count: its place in the order */
  readonly prefix: string;
  /** JSON texts, or pull events kept as their parts: written into envelopes as they are, made into texts when the segment is stored ({@link texts}) */
  lines: QueuedEvent[];
  /** new events of the endpoint join it */
  open: boolean;
  /** ms since the epoch when it is to be written; Infinity: kept in memory until delivered */
  due: number;
  /** set when its write started; never rejects */
  write: Promise<void> | undefined;
  stored: boolean;
  /** what the durable callers wait for */
  waiter: Waiter | undefined;
}

/** A promise the durable callers of a segment await, with its settle functions. */
export interface Waiter {
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** An endpoint's events in this process. */
export interface Tail {
  /** not yet stored, in order */
  segments: Segment[];
  /** events of segments kept in memory (due Infinity) */
  memory: number;
  /** the delivery keeps up: pulls stay in memory */
  live: boolean;
}

/** A segment's events as JSON text, in order: its pending events' texts are made (once) and kept in their place. */
export function texts(s: Segment): string[] {
  const lines = s.lines;
  for (let i = 0; i < lines.length; i++) lines[i] = queuedText(lines[i]!);
  return lines as string[];
}

/** A new {@link Waiter}; its promise's rejection is handled (the callers that await it get the error). */
export function waiter(): Waiter {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  done.catch(() => undefined); // a failed write is reported to the callers that await it, and to NotificationQueue.onWriteFailed
  return { done, resolve, reject };
}
