/**
 * The shapes of a notification endpoint's status, as stored (`/_notifications/<endpoint>/status`) and
 * as `GET /admin/v1/notifications` lists it: types only, nothing from Node, so the web page
 * (src/ui/web/views/notifications.tsx) shares them.
 */

/** One delivery attempt: ISO 8601 and the answer (HTTP status, or null with `error` when no answer came). */
export interface DeliveryAttempt {
  at: string;
  status: number | null;
  error?: string;
}

/** The last delivery state of an endpoint, as stored and as the admin API lists it. */
export interface DeliveryStatus {
  lastAttempt: DeliveryAttempt | null;
  /** ISO 8601 of the last acknowledged delivery */
  lastSuccess: string | null;
  consecutiveFailures: number;
  /** the last attempt that failed, kept after deliveries succeed again */
  lastFailure: DeliveryAttempt | null;
  /** events the endpoint acknowledged since its status was first stored */
  delivered: number;
}

/** An endpoint as the admin API lists it. */
export interface EndpointReport extends DeliveryStatus {
  name: string;
  /** the URL's origin, with `/…` for any path (user info, path, query and fragment may hold a credential) */
  url: string;
  disabled: boolean;
  signed: boolean;
  /** events queued and not yet acknowledged */
  pending: number;
  /** true while some process holds the endpoint's delivery lease */
  delivering: boolean;
}
