/**
 * The notifications view (admins only): each endpoint of `GET /admin/v1/notifications` with its
 * state in words (delivering, failing, disabled), its queue (events pending), the events delivered,
 * its last delivery and attempt, and its last failure (kept after deliveries succeed again).
 */
import type { DeliveryAttempt, EndpointReport } from '../../../observability/notifications/report.js';
import type { Api } from '../api.js';
import { ErrorBox, KeyValues, Refresh, useAsync } from '../common.js';
import { formatTime } from '../format.js';

/** An attempt as text: when, and the answer or why none came. */
function attemptText(a: DeliveryAttempt | null): string {
  if (!a) return 'none';
  return `${formatTime(a.at)}: ${a.status === null ? `no answer (${a.error ?? 'unknown error'})` : `HTTP ${a.status}`}`;
}

/** The endpoint's state in words, with a mark (never colour alone). */
export function EndpointState({ e }: { e: EndpointReport }) {
  const [state, text] = e.disabled
    ? ['unknown', '– disabled']
    : e.consecutiveFailures > 0
      ? ['bad', `✗ failing (${e.consecutiveFailures} attempt${e.consecutiveFailures === 1 ? '' : 's'} in a row)`]
      : e.lastSuccess
        ? ['ok', '✓ delivering']
        : ['unknown', '? nothing sent yet'];
  return (
    <strong class={`state ${state}`} data-state={state}>
      {text}
    </strong>
  );
}

/** One endpoint. */
function Endpoint({ e }: { e: EndpointReport }) {
  return (
    <section class="panel endpoint" aria-labelledby={`endpoint-${e.name}`}>
      <h2 id={`endpoint-${e.name}`}>
        {e.name} <EndpointState e={e} />
      </h2>
      <KeyValues
        rows={[
          ['URL', <code class="wrap">{e.url}</code>],
          ['Events pending', <span class="pending">{e.pending}</span>],
          ['Events delivered', <span class="delivered">{e.delivered}</span>],
          ['Last delivery', formatTime(e.lastSuccess)],
          ['Last attempt', attemptText(e.lastAttempt)],
          ['Failures in a row', e.consecutiveFailures],
          ['Last failure', <span class="last-failure">{attemptText(e.lastFailure)}</span>],
          ['Signed', e.signed ? 'yes (Standard Webhooks)' : 'no'],
          ['Delivery lease', e.delivering ? 'held by a registry process' : 'not held'],
        ]}
      />
    </section>
  );
}

/** The notifications view. */
export function NotificationsView({ api }: { api: Api }) {
  const list = useAsync(() => api.json<{ endpoints: EndpointReport[] }>('/admin/v1/notifications'), []);
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title">Notifications</h1>
      <Refresh data={list} />
      {list.error && <ErrorBox error={list.error} />}
      {list.data?.endpoints.length === 0 && <p class="empty">No notification endpoints configured (add notifications.endpoints to the configuration, docs/production.md).</p>}
      {list.data?.endpoints.map((e) => <Endpoint key={e.name} e={e} />)}
    </section>
  );
}
