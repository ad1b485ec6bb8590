/**
 * A webhook receiver for notification tests: an HTTP server on a loopback port that checks each
 * delivery's Standard Webhooks signature with the `standardwebhooks` library (as a receiver would)
 * and keeps the envelopes; it can go down (stop listening) and come back on the same port, or hold its
 * answers (a slow receiver: deliveries stay under way).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** One delivery as received. */
export interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** the parsed envelope */
  envelope: { events: Record<string, unknown>[] };
  /** true when the signature verified with the receiver's secret */
  verified: boolean;
}

/** A running receiver. */
export interface Receiver {
  url: string;
  deliveries: Delivery[];
  /** the events of every delivery, in arrival order */
  events(): Record<string, unknown>[];
  /** stops listening: deliveries are refused until {@link up} */
  down(): Promise<void>;
  up(): Promise<void>;
  /** keeps every delivery from now on unanswered (and unrecorded) until {@link answer} */
  hold(): void;
  /** answers the held deliveries whose sender still waits (those are recorded), and answers at once again */
  answer(): void;
  close(): Promise<void>;
}

/** Starts a receiver that verifies signatures with `secret` (a `whsec_` secret). */
export async function startReceiver(secret: string): Promise<Receiver> {
  const webhook = new Webhook(secret);
  const deliveries: Delivery[] = [];
  let server: Server;
  let port = 0;
  let held: (() => void)[] | undefined;
  const listen = async (): Promise<void> => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (held) {
          held.push(() => {
            if (req.socket.destroyed) return;
            record(body, req.headers);
            res.statusCode = 202;
            res.end();
          });
          return;
        }
        record(body, req.headers);
        res.statusCode = 202;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  const record = (body: string, headers: IncomingHttpHeaders): void => {
    let verified = true;
    try {
      webhook.verify(body, headers as Record<string, string>);
    } catch {
      verified = false;
    }
    deliveries.push({ headers, body, envelope: JSON.parse(body) as Delivery['envelope'], verified });
  };
  await listen();
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    url: `http://127.0.0.1:${port}/events`,
    deliveries,
    events: () => deliveries.flatMap((d) => d.envelope.events),
    down: close,
    up: listen,
    hold: () => {
      held ??= [];
    },
    answer: () => {
      const answers = held ?? [];
      held = undefined;
      for (const a of answers) a();
    },
    close,
  };
}
