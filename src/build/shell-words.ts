/**
 * Variable substitution in Dockerfile arguments, with Docker's rules (BuildKit
 * `frontend/dockerfile/shell/lex.go`, which the legacy builder uses too): `$NAME`, `${NAME}`,
 * `${NAME:-word}` / `${NAME-word}` (default), `${NAME:+word}` / `${NAME+word}` (alternative),
 * `${NAME:?message}` / `${NAME?message}` (required); single quotes keep everything literal; in
 * double quotes the escape character escapes only `"`, `$` and itself; elsewhere it escapes any
 * character. Quotes are removed. Pure.
 */

/** Variables visible to an instruction: ARG and ENV values by name (case-sensitive, as on Linux). */
export type Variables = ReadonlyMap<string, string>;

/** A substitution that cannot be done (an unclosed quote or brace, `${X:?}` of an unset X). */
export class SubstitutionError extends Error {
  override readonly name = 'SubstitutionError';
}

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** One pass over a word or a list of words. */
class Lexer {
  #i = 0;
  /** finished words; `#current` is the word being built, `#inWord` whether one is started */
  readonly words: string[] = [];
  #current = '';
  #inWord = false;

  constructor(
    private readonly text: string,
    private readonly vars: Variables,
    private readonly escape: string,
  ) {}

  run(stop?: string): string {
    let result = '';
    while (this.#i < this.text.length) {
      const ch = this.text[this.#i]!;
      if (stop !== undefined && ch === stop) {
        this.#i++;
        return result;
      }
      if (ch === "'") {
        const s = this.#singleQuoted();
        result += s;
        this.#raw(s);
      } else if (ch === '"') {
        const s = this.#doubleQuoted();
        result += s;
        this.#raw(s);
      } else if (ch === '$') {
        const s = this.#dollar();
        result += s;
        for (const c of s) this.#char(c);
      } else {
        this.#i++;
        if (ch === this.escape) {
          if (this.#i >= this.text.length) break;
          const next = this.text[this.#i++]!;
          this.#raw(next);
          result += next;
        } else {
          this.#char(ch);
          result += ch;
        }
      }
    }
    if (stop !== undefined) throw new SubstitutionError(`missing '${stop}' in "${this.text}"`);
    return result;
  }

  /** The words split on unquoted white space (quoted and escaped white space stays in its word). */
  finishWords(): string[] {
    if (this.#inWord) this.words.push(this.#current);
    this.#current = '';
    this.#inWord = false;
    return this.words;
  }

  #char(c: string): void {
    if (/\s/.test(c)) {
      if (this.#inWord) this.words.push(this.#current);
      this.#current = '';
      this.#inWord = false;
    } else this.#raw(c);
  }

  #raw(s: string): void {
    this.#current += s;
    this.#inWord = true;
  }

  #singleQuoted(): string {
    const end = this.text.indexOf("'", this.#i + 1);
    if (end < 0) throw new SubstitutionError(`unexpected end of text: missing ' in "${this.text}"`);
    const s = this.text.slice(this.#i + 1, end);
    this.#i = end + 1;
    return s;
  }

  #doubleQuoted(): string {
    this.#i++;
    let result = '';
    for (;;) {
      if (this.#i >= this.text.length) throw new SubstitutionError(`unexpected end of text: missing " in "${this.text}"`);
      const ch = this.text[this.#i]!;
      if (ch === '"') {
        this.#i++;
        return result;
      }
      if (ch === '$') {
        result += this.#dollar();
        continue;
      }
      this.#i++;
      if (ch === this.escape) {
        const next = this.text[this.#i];
        if (next === undefined) continue;
        if (next === '"' || next === '$' || next === this.escape) {
          this.#i++;
          result += next;
          continue;
        }
      }
      result += ch;
    }
  }

  #dollar(): string {
    this.#i++; // the $
    const ch = this.text[this.#i];
    if (ch === '{') {
      this.#i++;
      const name = this.#name();
      const op = this.text[this.#i];
      if (op === '}') {
        this.#i++;
        return this.vars.get(name) ?? '';
      }
      if (op === undefined) throw new SubstitutionError(`missing '}' in "${this.text}"`);
      let modifier = op;
      this.#i++;
      if (op === ':') {
        modifier = `:${this.text[this.#i] ?? ''}`;
        this.#i++;
      }
      const word = new Lexer(this.text.slice(this.#i), this.vars, this.escape);
      const value = word.run('}');
      this.#i += word.#i;
      return this.#modify(name, modifier, value);
    }
    if (ch !== undefined && NAME_START.test(ch)) return this.vars.get(this.#name()) ?? '';
    return '$';
  }

  #modify(name: string, modifier: string, word: string): string {
    const value = this.vars.get(name);
    const set = value !== undefined;
    const nonEmpty = set && value !== '';
    switch (modifier) {
      case ':-':
        return nonEmpty ? value : word;
      case '-':
        return set ? value : word;
      case ':+':
        return nonEmpty ? word : '';
      case '+':
        return set ? word : '';
      case ':?':
        if (!nonEmpty) throw new SubstitutionError(`${name}: ${word || 'is not set or empty'}`);
        return value;
      case '?':
        if (!set) throw new SubstitutionError(`${name}: ${word || 'is not set'}`);
        return value;
      default:
        throw new SubstitutionError(`unsupported modifier "${modifier}" in \${${name}...} of "${this.text}"`);
    }
  }

  #name(): string {
    const start = this.#i;
    while (this.#i < this.text.length && NAME_CHAR.test(this.text[this.#i]!)) this.#i++;
    if (this.#i === start) throw new SubstitutionError(`bad substitution: a variable name must follow "\${" in "${this.text}"`);
    return this.text.slice(start, this.#i);
  }
}

/**
 * Substitutes variables in one word and removes its quotes (white space stays): what ENV and LABEL
 * values, WORKDIR, USER, FROM and flag values get.
 * @param escape the escape character (`\`, or `` ` `` with the `escape` parser directive)
 * @throws SubstitutionError
 */
export function expandWord(word: string, vars: Variables, escape = '\\'): string {
  return new Lexer(word, vars, escape).run();
}

/**
 * Substitutes variables and splits on unquoted white space (values of unquoted variables split
 * too): what COPY/ADD sources, EXPOSE and VOLUME get.
 * @throws SubstitutionError
 */
export function expandWords(text: string, vars: Variables, escape = '\\'): string[] {
  const lexer = new Lexer(text, vars, escape);
  lexer.run();
  return lexer.finishWords();
}
