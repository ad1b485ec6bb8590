/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com/): `webhook-id`,
 * `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, with a
 * per-endpoint key given as base64, optionally after `whsec_`. One signature per envelope (a POST),
 * however many events it carries.
 */
import { createHmac } from 'node:crypto';

/** The Standard Webhooks signing key of a secret: the base64 after an optional `whsec_` prefix. */
export function signingKey(secret: string): Buffer {
  return Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
}

/** The Standard Webhooks headers of a delivery: the HMAC of `<id>.<timestamp>.<body>`, the body hashed as it is (not copied into one string). */
export function signatureHeaders(key: Buffer, id: string, timestampSeconds: number, body: string | Buffer): Record<string, string> {
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` };
}
