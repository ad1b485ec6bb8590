/**
 * An endpoint's delivery status, stored at `/_notifications/<endpoint>/status` so that any process
 * sharing the storage reports the same (admin API, web page): kept in memory after each attempt, and
 * stored at once on a change between success and failure, else at most once a second (the last one
 * always, a second later at most).
 */
import type { Logger } from 'pino';
import { type StorageDriver } from '../../storage/driver.js';
import { isNotFound } from '../../storage/driver-errors.js';
import * as layout from '../../storage/layout.js';
import type { DeliveryAttempt, DeliveryStatus } from './report.js';

/** The status of an endpoint that never delivered. */
function emptyStatus(): DeliveryStatus {
  return { lastAttempt: null, lastSuccess: null, consecutiveFailures: 0, lastFailure: null, delivered: 0 };
}

/** The status of one endpoint, as its delivering process keeps it. */
export class StatusKeeper {
  /** read from storage at the first attempt (another process or an earlier run may have stored it) */
  private status: DeliveryStatus | undefined;
  private written = 0;
  /** the write of a status kept but not yet stored */
  private flush: NodeJS.Timeout | undefined;

  constructor(
    private readonly storage: StorageDriver,
    private readonly endpoint: string,
    private readonly logger: Logger,
  ) {}

  /** Keeps the status after an attempt to deliver `events` events (stored as the module says). */
  async report(attempt: DeliveryAttempt, ok: boolean, events: number): Promise<void> {
    const before = (this.status ??= await readStatus(this.storage, this.endpoint).catch(emptyStatus));
    const changed = ok !== (before.consecutiveFailures === 0);
    this.status = {
      lastAttempt: attempt,
      lastSuccess: ok ? attempt.at : before.lastSuccess,
      consecutiveFailures: ok ? 0 : before.consecutiveFailures + 1,
      lastFailure: ok ? before.lastFailure : attempt,
      delivered: before.delivered + (ok ? events : 0),
    };
    const wait = 1000 - (Date.now() - this.written);
    if (changed || wait <= 0) await this.write();
    else this.flush ??= setTimeout(() => void this.write(), wait).unref();
  }

  /** Stores the status kept and not yet stored, if any. */
  async stop(): Promise<void> {
    if (this.flush) await this.write();
  }

  private async write(): Promise<void> {
    clearTimeout(this.flush);
    this.flush = undefined;
    this.written = Date.now();
    await this.storage.putContent(layout.notificationStatus(this.endpoint), JSON.stringify(this.status)).catch((err: unknown) => this.logger.warn({ err }, 'cannot store the notification status'));
  }
}

/** The stored delivery status of an endpoint (all empty when it never delivered). @throws the storage's error */
export async function readStatus(storage: StorageDriver, endpoint: string): Promise<DeliveryStatus> {
  try {
    return { ...emptyStatus(), ...(JSON.parse((await storage.getContent(layout.notificationStatus(endpoint))).toString('utf8')) as Partial<DeliveryStatus>) };
  } catch (err) {
    if (isNotFound(err) || err instanceof SyntaxError) return emptyStatus();
    throw err;
  }
}
