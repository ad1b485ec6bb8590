/**
 * Small parts every view uses: loading data, errors, sortable column headers, a pager, a
 * confirmation dialog and a copyable command. Everything from the registry is a Preact text child
 * or attribute value, which Preact sets as text: the page never renders registry data as HTML.
 */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.js';
import { formatBytes } from './format.js';

/** The state of data loaded by {@link useAsync}. */
export interface Async<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Loads `load()` whenever `deps` change; a newer load wins over an older one still under way. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => current && setState({ data, loading: false }),
      (error: unknown) => current && setState({ error: error as Error, loading: false }),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

/** An error as a message (with the registry's error code). */
export function ErrorBox({ error }: { error: Error }) {
  const code = error instanceof ApiError ? `${error.code} (${error.status}): ` : '';
  return (
    <p class="error" role="alert">
      <strong>Error:</strong> {code}
      {error.message}
    </p>
  );
}

/** A size with the exact number of bytes as its tooltip. */
export function Bytes({ value }: { value: number }) {
  return <span title={`${value} bytes`}>{formatBytes(value)}</span>;
}

/** A column header that sorts its table: a button, with `aria-sort` and an arrow (not colour alone). */
export function SortHeader(props: { label: string; field: string; sort: string; order: 'asc' | 'desc'; onSort: (field: string, order: 'asc' | 'desc') => void; numeric?: boolean }) {
  const active = props.sort === props.field;
  const next = active && props.order === 'asc' ? 'desc' : active ? 'asc' : props.numeric ? 'desc' : 'asc';
  return (
    <th scope="col" aria-sort={active ? (props.order === 'asc' ? 'ascending' : 'descending') : 'none'} class={props.numeric ? 'num' : undefined}>
      <button type="button" class="sort" onClick={() => props.onSort(props.field, next)}>
        {props.label}
        <span aria-hidden="true">{active ? (props.order === 'asc' ? ' ▲' : ' ▼') : ' ↕'}</span>
      </button>
    </th>
  );
}

/** Previous / next page buttons and where the page is. */
export function Pager(props: { page: number; pageSize: number; shown: number; total?: number; hasNext: boolean; onPrev: () => void; onNext: () => void }) {
  const first = props.shown === 0 ? 0 : (props.page - 1) * props.pageSize + 1;
  const last = (props.page - 1) * props.pageSize + props.shown;
  return (
    <nav class="pager" aria-label="pages">
      <button type="button" onClick={props.onPrev} disabled={props.page <= 1}>
        ← Previous
      </button>
      <span aria-live="polite">
        {first}–{last}
        {props.total !== undefined ? ` of ${props.total}` : ''}
      </span>
      <button type="button" onClick={props.onNext} disabled={!props.hasNext}>
        Next →
      </button>
    </nav>
  );
}

/** A list's page position: the cursors of the pages before it (cursor pagination). */
export function useCursors(reset: unknown[]): { cursor: string | undefined; page: number; next: (c: string) => void; prev: () => void } {
  const [stack, setStack] = useState<(string | undefined)[]>([undefined]);
  useEffect(() => setStack([undefined]), reset);
  return {
    cursor: stack.at(-1),
    page: stack.length,
    next: (c) => setStack((s) => [...s, c]),
    prev: () => setStack((s) => (s.length > 1 ? s.slice(0, -1) : s)),
  };
}

/**
 * A modal confirmation (the native `<dialog>`: focus is trapped, Escape cancels). With `typeToConfirm`
 * the action stays disabled until that text is typed.
 */
export function Confirm(props: { title: string; children: ComponentChildren; action: string; typeToConfirm?: string; onConfirm: () => void; onCancel: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState('');
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const ok = props.typeToConfirm === undefined || typed === props.typeToConfirm;
  return (
    <dialog ref={ref} class="confirm" aria-labelledby="confirm-title" onCancel={props.onCancel}>
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      {props.typeToConfirm !== undefined && (
        <label>
          Type <code>{props.typeToConfirm}</code> to confirm
          <input type="text" value={typed} onInput={(e) => setTyped((e.target as HTMLInputElement).value)} autoComplete="off" />
        </label>
      )}
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class="danger" disabled={!ok} onClick={props.onConfirm}>
          {props.action}
        </button>
      </div>
    </dialog>
  );
}

/** A command in a read-only field with a Copy button (the clipboard API; the field selects on focus where that is refused). */
export function CopyCommand({ label, command }: { label: string; command: string }) {
  const [copied, setCopied] = useState(false);
  const copy = () =>
    navigator.clipboard.writeText(command).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  return (
    <div class="copy">
      <label>
        <span class="copy-label">{label}</span>
        <input type="text" readOnly value={command} onFocus={(e) => (e.target as HTMLInputElement).select()} />
      </label>
      <button type="button" onClick={copy} aria-label={`Copy the ${label} command`}>
        {copied ? 'Copied' : 'Copy'}
      </button>
    </div>
  );
}

/** A two-column table of names and values; values that are lists show one per line. */
export function KeyValues({ rows, caption, class: extra }: { rows: [string, ComponentChildren][]; caption?: string; class?: string }) {
  return (
    <table class={extra ? `kv ${extra}` : 'kv'}>
      {caption && <caption>{caption}</caption>}
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A button that loads `data` again (disabled while it loads). */
export function Refresh({ data }: { data: Async<unknown> }) {
  return (
    <div class="actions">
      <button type="button" onClick={data.reload} disabled={data.loading}>
        Refresh
      </button>
    </div>
  );
}
