import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { UuidWords } from '../../src/observability/notifications/event-id.js';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

it("draws version 4 UUIDs in randomUUID's form, written into a buffer byte for byte as their text", () => {
  expect(randomUUID()).toMatch(V4);
  const seen = new Set<string>();
  const into = Buffer.alloc(40, 0x2e);
  // more than one pool of entropy (1,024 words, 256 UUIDs)
  for (let i = 0; i < 2000; i++) {
    const uuid = new UuidWords();
    const text = uuid.text();
    expect(text).toMatch(V4);
    expect(uuid.write(into, 2)).toBe(38);
    expect(into.toString('latin1')).toBe(`..${text}..`);
    seen.add(text);
  }
  expect(seen.size).toBe(2000);
  // every hex digit shows in every free position over that many draws (the words are random, not a counter)
  const digits = [...seen].map((t) => t.replace(/-/g, ''));
  for (const position of [0, 7, 8, 11, 13, 17, 31]) expect(new Set(digits.map((d) => d[position])).size).toBe(16);
  expect(new Set(digits.map((d) => d[16]))).toEqual(new Set(['8', '9', 'a', 'b']));
});
