/** What the views' DOM tests share: a fake of the page's API client (fixed answers, every request recorded), and mounting a view. */
import { render, type VNode } from 'preact';
import { afterEach } from 'vitest';
import { Api, type FetchOptions, type Session } from '../../src/ui/web/api.js';

const D = (c: string) => `sha256:${c.repeat(64)}`;

/** An {@link Api} answering from `routes` (path without query -> body, or an Error it throws), recording each request. */
export class FixedApi extends Api {
  readonly calls: { path: string; method: string }[] = [];
  constructor(
    private readonly routes: Record<string, unknown>,
    session: Partial<Session> = {},
  ) {
    super();
    this.session = { auth: 'none', service: null, account: null, admin: true, ...session };
  }
  override async fetch(path: string, opts: FetchOptions = {}): Promise<Response> {
    this.calls.push({ path, method: opts.method ?? 'GET' });
    if (opts.method === 'DELETE') return new Response(null, { status: 202 });
    const body = this.routes[path.split('?')[0]!];
    if (body instanceof Error) throw body;
    if (body === undefined) return new Response('{"errors":[{"code":"NAME_UNKNOWN","message":"no"}]}', { status: 404 });
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    return new Response(text, { status: 200, headers: { 'Content-Type': 'application/vnd.oci.image.manifest.v1+json', 'Docker-Content-Digest': D('a') } });
  }
  override async json<T>(path: string): Promise<T> {
    return (await (await this.fetch(path)).json()) as T;
  }
}


/** The element the last {@link mount} rendered into; emptied and removed after each test. */
let root: HTMLElement | undefined;

/** Renders `node` into a fresh element of the document (removed after the test). */
export function mount(node: VNode): HTMLElement {
  root = document.createElement('div');
  document.body.append(root);
  render(node, root);
  return root;
}

afterEach(() => {
  if (!root) return;
  render(null, root);
  root.remove();
  root = undefined;
});
