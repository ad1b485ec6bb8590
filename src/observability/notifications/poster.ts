/**
 * The HTTP side of a delivery: one POST of an envelope to an endpoint over a kept-alive connection
 * (node:http / node:https with an Agent of one socket, as Distribution's httpSink keeps one
 * http.Client per endpoint). Not `fetch`: undici's fetch with its web streams cost about 6 ms of CPU
 * per delivery on the bench machine (profiled under a manifest GET load, where every GET is a pull
 * event), more than the request it reports on. A 307 or 308 is followed with the same POST, up to
 * {@link MAX_REDIRECTS} times (as Go's http.Client under Distribution's httpSink; an http endpoint
 * moved to https answers so), without `Authorization` and `Cookie` when it leaves the origin; any
 * other 3xx is the answer (the delivery counts it as a failure: acknowledging it lost the events).
 * The status is the answer, as for Distribution's httpSink (Go's `Post` returns at the response's
 * head): the body is drained but not waited for, and dropped with its connection past
 * {@link MAX_DRAINED_BYTES}, so a receiver that streams a long or endless body after its 200 has
 * still acknowledged the events (before, the delivery timed out and resent them forever).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The most bytes of an answer's body read (and dropped) to keep its connection; beyond, the connection is closed. */
const MAX_DRAINED_BYTES = 64 * 1024;

/** The most 307/308 redirects one POST follows. */
const MAX_REDIRECTS = 5;

/** Headers not sent on when a redirect leaves the endpoint's origin (as Go's http.Client). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Posts to one endpoint URL. */
export class WebhookPoster {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  /** the previous answer while its body is still coming: dropped when the next POST starts */
  private draining: IncomingMessage | undefined;

  /** @param url the endpoint's URL (`http:` or `https:`) */
  constructor(url: string) {
    this.url = new URL(url);
    const https = this.url.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  }

  /**
   * POSTs `body` with `headers` (a name may come more than once); the answer's body is read and
   * dropped after the promise resolved (the connection is closed when it runs long).
   * @returns the answer's HTTP status, once its head arrived (the last one's, after 307/308 redirects)
   * @throws the connection's error (ECONNREFUSED, ...), or an AbortError when `signal` aborts first
   */
  async post(headers: ReadonlyArray<readonly [string, string]>, body: string | Buffer, signal: AbortSignal): Promise<number> {
    let url = this.url;
    let sent = headers;
    for (let hop = 0; ; hop++) {
      const { status, location } = await this.postOnce(url, sent, body, signal);
      if ((status !== 307 && status !== 308) || location === undefined || hop === MAX_REDIRECTS) return status;
      const next = URL.canParse(location, url.href) ? new URL(location, url) : undefined;
      if (!next || (next.protocol !== 'http:' && next.protocol !== 'https:')) return status;
      if (next.origin !== url.origin) sent = sent.filter(([name]) => !CREDENTIAL_HEADERS.has(name.toLowerCase()));
      url = next;
    }
  }

  /** One POST to `url` (over the kept-alive connection when it is the endpoint's origin). */
  private postOnce(url: URL, headers: ReadonlyArray<readonly [string, string]>, body: string | Buffer, signal: AbortSignal): Promise<{ status: number; location: string | undefined }> {
    const merged: OutgoingHttpHeaders = { 'Content-Length': Buffer.byteLength(body) };
    for (const [name, value] of headers) {
      const known = merged[name];
      merged[name] = known === undefined ? value : [...(Array.isArray(known) ? known : [String(known)]), value];
    }
    const own = url.origin === this.url.origin;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    if (own) this.draining?.destroy();
    return new Promise((resolve, reject) => {
      const req = send(url, { method: 'POST', headers: merged, agent: own ? this.agent : false, signal }, (res) => {
        resolve({ status: res.statusCode ?? 0, location: res.headers.location });
        if (own) {
          this.draining = res;
          res.once('close', () => {
            if (this.draining === res) this.draining = undefined;
          });
        }
        let drained = 0;
        res.on('error', () => undefined); // the answer is already taken; a body cut short only costs the connection
        res.on('data', (chunk: Buffer) => {
          drained += chunk.length;
          if (drained > MAX_DRAINED_BYTES) res.destroy();
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the kept-alive connection. */
  close(): void {
    this.agent.destroy();
  }
}
