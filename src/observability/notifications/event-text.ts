/**
 * An event's JSON text, as `JSON.stringify(event)` writes it (same keys in the same order, undefined
 * members left out), built from the fields {@link RegistryEvent} has instead of walking the object:
 * V8's JSON.stringify leaves its fast path on objects with undefined members, and the event of
 * every manifest GET is serialized (about 3 µs a pull on the bench machine, against 1 here).
 */
import type { EventDescriptor, RegistryEvent } from './events.js';

const text = JSON.stringify as (value: string | number) => string;

/** `,"key":value` for a defined value, '' for an undefined one. */
function member(key: string, value: string | number | undefined): string {
  return value === undefined ? '' : `,"${key}":${text(value)}`;
}

/** Members in order, the first without its comma: `{...}`. */
function object(members: string): string {
  return `{${members.startsWith(',') ? members.slice(1) : members}}`;
}

function descriptorText(d: EventDescriptor): string {
  return object(member('mediaType', d.mediaType) + member('size', d.size) + member('digest', d.digest));
}

/** The JSON text of `event`, equal to `JSON.stringify(event)`. */
export function eventText(event: RegistryEvent): string {
  const t = event.target;
  const references = t.references === undefined ? '' : `,"references":[${t.references.map(descriptorText).join(',')}]`;
  const target = object(
    member('mediaType', t.mediaType) +
      member('size', t.size) +
      member('digest', t.digest) +
      member('length', t.length) +
      member('repository', t.repository) +
      member('fromRepository', t.fromRepository) +
      member('url', t.url) +
      member('tag', t.tag) +
      references,
  );
  const r = event.request;
  const request = object(member('id', r.id) + member('addr', r.addr) + member('host', r.host) + member('method', r.method) + member('useragent', r.useragent));
  const actor = object(member('name', event.actor.name));
  const source = object(member('addr', event.source.addr) + member('instanceID', event.source.instanceID));
  return `{"id":${text(event.id)},"timestamp":${text(event.timestamp)},"action":${text(event.action)},"target":${target},"request":${request},"actor":${actor},"source":${source}}`;
}
