/**
 * The HTTP side of a delivery: one POST of an envelope to an endpoint over a kept-alive connection
 * (node:http / node:https with an Agent of one socket, as Distribution's httpSink keeps one
 * http.Client per endpoint). Not `fetch`: undici's fetch with its web streams cost about 6 ms of CPU
 * per delivery on the bench machine (profiled under a manifest GET load, where every GET is a pull
 * event), more than the request it reports on. Redirects are not followed (a 3xx is an answer).
 */
import { Agent as HttpAgent, request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** Posts to one endpoint URL. */
export class WebhookPoster {
  private readonly url: URL;
  private readonly agent: HttpAgent;
  private readonly send: typeof httpRequest;

  /** @param url the endpoint's URL (`http:` or `https:`) */
  constructor(url: string) {
    this.url = new URL(url);
    const https = this.url.protocol === 'https:';
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    this.send = https ? httpsRequest : httpRequest;
  }

  /**
   * POSTs `body` with `headers` (a name may come more than once); the answer's body is read and dropped.
   * @returns the answer's HTTP status
   * @throws the connection's error (ECONNREFUSED, ...), or an AbortError when `signal` aborts first
   */
  post(headers: ReadonlyArray<readonly [string, string]>, body: string, signal: AbortSignal): Promise<number> {
    const merged: OutgoingHttpHeaders = { 'Content-Length': Buffer.byteLength(body) };
    for (const [name, value] of headers) {
      const known = merged[name];
      merged[name] = known === undefined ? value : [...(Array.isArray(known) ? known : [String(known)]), value];
    }
    return new Promise((resolve, reject) => {
      const req = this.send(this.url, { method: 'POST', headers: merged, agent: this.agent, signal }, (res) => {
        res.once('error', reject);
        res.once('end', () => resolve(res.statusCode ?? 0));
        res.resume();
      });
      req.once('error', reject);
      req.end(body);
    });
  }

  /** Closes the kept-alive connection. */
  close(): void {
    this.agent.destroy();
  }
}
