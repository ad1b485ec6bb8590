/**
 * `GET /admin/v1/notifications` (JSON): every configured notification endpoint with its queue and
 * last delivery, `{"endpoints":[{name, url, disabled, signed, pending, delivering, lastAttempt:
 * {at, status, error} | null, lastSuccess, consecutiveFailures, lastFailure: {at, status, error} | null,
 * delivered}]}` (`delivered`: events acknowledged), read from the storage, so every
 * replica answers the same. `url` is shown as its origin with `/…` for any path (user info, path,
 * query and fragment may hold a credential: Slack's webhook URLs carry it in the path). Who may call it is decided by the auth layer in front of it.
 */
import { Router } from 'express';
import type { EndpointReport } from '../observability/notifications/notifier.js';
import { methodNotAllowed } from './errors.js';

/** The router of `/admin/v1/notifications`. */
export function adminNotificationsRouter(notifier: { report(): Promise<EndpointReport[]> } | undefined): Router {
  const router = Router();
  router.get('/notifications', async (_req, res) => {
    res.status(200).json({ endpoints: notifier ? await notifier.report() : [] });
  });
  router.all('/notifications', (req) => {
    throw methodNotAllowed(req, 'GET');
  });
  return router;
}
