/**
 * Paths of the notification queues under `/_notifications`: per configured endpoint, its queue of
 * event batches, the lease of the process delivering to it and its last delivery status. Endpoint
 * and batch names are checked here, as the layout's other builders take validated values.
 * See layout.ts for the whole tree.
 */

/** Root of the notification queues. */
export const NOTIFICATIONS = '/_notifications';

const ENDPOINT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
const BATCH_NAME = /^[0-9a-z][0-9a-z-]{0,127}$/;

function endpointFolder(endpoint: string): string {
  if (!ENDPOINT_NAME.test(endpoint) || endpoint.includes('..')) throw new Error(`invalid notification endpoint name "${endpoint.slice(0, 100)}"`);
  return `${NOTIFICATIONS}/${endpoint}`;
}

/** True when `name` has the shape of a notification batch's object name. */
export function isNotificationBatch(name: string): boolean {
  return BATCH_NAME.test(name);
}

/**
 * The folder of the batches of events waiting for endpoint `endpoint` (a configured endpoint's name).
 * @throws Error for an endpoint name that cannot be a path component
 */
export function notificationQueue(endpoint: string): string {
  return `${endpointFolder(endpoint)}/queue`;
}

/**
 * One batch of events waiting for endpoint `endpoint`.
 * @throws Error for an endpoint or batch name that cannot be a path component
 */
export function notificationBatch(endpoint: string, batch: string): string {
  if (!isNotificationBatch(batch)) throw new Error(`invalid notification batch "${batch.slice(0, 100)}"`);
  return `${notificationQueue(endpoint)}/${batch}`;
}

/** The lease of the process delivering to endpoint `endpoint`. @throws Error for an endpoint name that cannot be a path component */
export function notificationLease(endpoint: string): string {
  return `${endpointFolder(endpoint)}/lease`;
}

/** The last delivery status of endpoint `endpoint`. @throws Error for an endpoint name that cannot be a path component */
export function notificationStatus(endpoint: string): string {
  return `${endpointFolder(endpoint)}/status`;
}
