/**
 * Docker's variable substitution (src/build/shell-words.ts, after BuildKit's shell/lex.go): the
 * forms, quoting, escapes and word splitting a Dockerfile relies on.
 */
import { describe, expect, it } from 'vitest';
import { expandWord, expandWords, SubstitutionError } from '../../src/build/shell-words.js';

const vars = new Map([
  ['A', 'one'],
  ['EMPTY', ''],
  ['SPACED', 'x y'],
]);

describe('variable substitution', () => {
  it('substitutes $X and ${X}, leaving unknown ones empty and a lone $ as is', () => {
    expect(expandWord('$A-${A}_$NOPE/$', vars)).toBe('one-one_/$');
    expect(expandWord('cost: 5$', vars)).toBe('cost: 5$');
  });

  it('supports :- - :+ + :? ? as Docker does', () => {
    expect(expandWord('${EMPTY:-d} ${EMPTY-d} ${NOPE-d}', vars)).toBe('d  d');
    expect(expandWord('${A:+alt} ${EMPTY:+alt} ${EMPTY+alt} ${NOPE+alt}', vars)).toBe('alt  alt ');
    expect(expandWord('${A:?must be set}', vars)).toBe('one');
    expect(() => expandWord('${EMPTY:?must be set}', vars)).toThrow(new SubstitutionError('EMPTY: must be set'));
    expect(() => expandWord('${NOPE?}', vars)).toThrow(SubstitutionError);
    expect(expandWord('${NOPE:-$A and ${A}}', vars)).toBe('one and one');
  });

  it('keeps single quotes literal, substitutes in double quotes, removes quotes and escapes', () => {
    expect(expandWord(`'$A' "$A" \\$A "a \\"q\\" \\x"`, vars)).toBe(`$A one $A a "q" \\x`);
    expect(expandWord('`$A`', vars, '`')).toBe('$A');
  });

  it('splits words on unquoted white space, unquoted variables included', () => {
    expect(expandWords('src/$A "a b" $SPACED  c\\ d /dest/', vars)).toEqual(['src/one', 'a b', 'x', 'y', 'c d', '/dest/']);
    expect(expandWords('"$SPACED"', vars)).toEqual(['x y']);
  });

  it('refuses unclosed quotes and braces and bad names', () => {
    expect(() => expandWord('"open', vars)).toThrow(SubstitutionError);
    expect(() => expandWord("'open", vars)).toThrow(SubstitutionError);
    expect(() => expandWord('${A', vars)).toThrow(SubstitutionError);
    expect(() => expandWord('${}', vars)).toThrow(SubstitutionError);
  });
});
