/**
 * Reads a Dockerfile with `dockerfile-ast` (the parser most used on npm; it follows BuildKit's
 * grammar: parser directives, line continuations with the escape character, comments, flags) into
 * stages of plain instruction records that keep their line for error messages. Meaning (variable
 * substitution, what each instruction does) is given later, in `stage.ts`; this module only reads.
 */
import { DockerfileParser, type Instruction as AstInstruction } from 'dockerfile-ast';
import { BuildError, type SourceLocation } from './errors.js';

/** The instructions Docker knows (Dockerfile reference). */
export const KEYWORDS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
] as const;

/** One `--name=value` flag of an instruction (`value` null for a bare `--link`). */
export interface Flag {
  name: string;
  value: string | null;
}

/** A `KEY=value` (or legacy `KEY value`) pair of ENV, LABEL or ARG, the value as written (quotes kept). */
export interface Property {
  name: string;
  /** null for `ARG NAME` without a default */
  raw: string | null;
}

/** One instruction, as written. */
export interface Instruction {
  keyword: string;
  /** where it is, for messages */
  at: SourceLocation;
  flags: Flag[];
  /** the arguments after the flags, continuation lines joined */
  args: string;
  /** the JSON (exec) form's strings, when the arguments are a JSON array of strings */
  json?: string[];
  /** ENV, LABEL, ARG: their pairs */
  properties?: Property[];
}

/** A build stage: its FROM and what follows it. */
export interface StageSpec {
  /** 0-based position in the file */
  index: number;
  /** the `AS name`, lowercased as Docker compares it */
  name?: string;
  from: Instruction;
  /** the base as written (`busybox:1.36`, `${BASE}`, `scratch`, an earlier stage's name) */
  base: string;
  instructions: Instruction[];
}

/** A parsed Dockerfile. */
export interface ParsedDockerfile {
  /** ARG instructions before the first FROM (usable in FROM lines) */
  globalArgs: Instruction[];
  stages: StageSpec[];
  /** the escape character (`\`, or `` ` `` with `# escape=`) */
  escape: string;
}

/**
 * Parses Dockerfile `text`; `file` names it in messages.
 * @throws BuildError (with the line) for an unknown instruction, an instruction before FROM other than ARG,
 *   a malformed FROM, or no FROM at all
 */
export function parseDockerfile(text: string, file: string): ParsedDockerfile {
  const ast = DockerfileParser.parse(text);
  const escape = ast.getEscapeCharacter();
  const globalArgs: Instruction[] = [];
  const stages: StageSpec[] = [];
  for (const node of ast.getInstructions()) {
    const instruction = toInstruction(node, file, text);
    const { keyword, at } = instruction;
    if (!(KEYWORDS as readonly string[]).includes(keyword)) {
      throw new BuildError(`unknown instruction ${keyword}`, { at, hint: `use one of ${KEYWORDS.join(', ')}` });
    }
    if (keyword === 'FROM') {
      stages.push(fromStage(instruction, stages.length));
    } else if (stages.length === 0) {
      if (keyword !== 'ARG') throw new BuildError(`${keyword} before the first FROM`, { at, hint: 'only ARG may come before FROM' });
      globalArgs.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  if (stages.length === 0) throw new BuildError(`${file} has no FROM instruction`, { hint: 'start the Dockerfile with FROM <image> (or FROM scratch)' });
  const names = new Map<string, StageSpec>();
  for (const stage of stages) {
    if (!stage.name) continue;
    if (names.has(stage.name)) throw new BuildError(`duplicate stage name "${stage.name}"`, { at: stage.from.at, hint: 'give each stage its own name' });
    names.set(stage.name, stage);
  }
  return { globalArgs, stages, escape };
}

function toInstruction(node: AstInstruction, file: string, text: string): Instruction {
  const range = node.getRange();
  const keyword = node.getKeyword().toUpperCase();
  const source = text.split('\n').slice(range.start.line, range.end.line + 1).join(' ');
  const at: SourceLocation = { file, line: range.start.line + 1, instruction: source.trim() };
  const withFlags = node as AstInstruction & { getFlags?: () => { getName(): string; getValue(): string | null }[] };
  const flags = withFlags.getFlags ? withFlags.getFlags().map((f) => ({ name: f.getName(), value: f.getValue() })) : [];
  const args = (node.getArgumentsContent() ?? '').trim();
  const instruction: Instruction = { keyword, at, flags, args };
  const json = jsonForm(args);
  if (json) instruction.json = json;
  const withProperties = node as AstInstruction & { getProperties?: () => { getName(): string; getUnescapedValue(): string | null }[] };
  if (withProperties.getProperties && ['ENV', 'LABEL', 'ARG'].includes(keyword)) {
    instruction.properties = withProperties.getProperties().map((p) => ({ name: p.getName(), raw: p.getUnescapedValue() }));
  }
  if ((keyword === 'COPY' || keyword === 'ADD') && /(^|\s)<<-?["']?[A-Za-z_]/.test(args)) {
    throw new BuildError('here-documents are not supported', { at, hint: 'put the content in a file of the build context and COPY it' });
  }
  return instruction;
}

/** The strings of a JSON array of strings (Docker's exec form), else undefined (shell form). */
export function jsonForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(args);
    return Array.isArray(value) && value.every((v) => typeof v === 'string') ? (value as string[]) : undefined;
  } catch {
    return undefined;
  }
}

function fromStage(from: Instruction, index: number): StageSpec {
  const words = from.args.split(/\s+/).filter(Boolean);
  let name: string | undefined;
  if (words.length === 3 && words[1]!.toUpperCase() === 'AS') name = words[2]!.toLowerCase();
  else if (words.length !== 1) throw new BuildError('FROM takes an image and an optional "AS name"', { at: from.at, hint: 'write FROM [--platform=P] IMAGE [AS NAME]' });
  if (name !== undefined && !/^[a-z][a-z0-9._-]*$/.test(name)) {
    throw new BuildError(`invalid stage name "${name}"`, { at: from.at, hint: 'a stage name starts with a letter and holds letters, digits, ".", "_" and "-"' });
  }
  for (const flag of from.flags) {
    if (flag.name !== 'platform') throw new BuildError(`FROM has no --${flag.name} flag`, { at: from.at, hint: 'FROM takes --platform only' });
  }
  return { index, ...(name ? { name } : {}), from, base: words[0]!, instructions: [] };
}
