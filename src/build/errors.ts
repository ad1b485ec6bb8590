/**
 * Build failures: one line naming the Dockerfile, the line and the instruction, what is wrong and
 * what to do (`Dockerfile:7: RUN apt-get install -y curl: wharf build runs no commands: ...`).
 */

/** Where in the Dockerfile a failure is. */
export interface SourceLocation {
  /** the Dockerfile as the user named it (e.g. `Dockerfile`, `docker/Dockerfile.prod`) */
  file: string;
  /** 1-based line of the instruction */
  line: number;
  /** the instruction as written (keyword and arguments, on one line), for the message */
  instruction?: string;
}

/** A build failure, with the Dockerfile location when there is one and a hint of what to do. */
export class BuildError extends Error {
  override readonly name = 'BuildError';
  constructor(
    message: string,
    readonly options: { at?: SourceLocation; hint?: string; cause?: unknown } = {},
  ) {
    super(formatMessage(message, options.at, options.hint), { cause: options.cause });
  }
}

function formatMessage(message: string, at: SourceLocation | undefined, hint: string | undefined): string {
  const where = at ? `${at.file}:${at.line}: ${at.instruction ? `${shorten(at.instruction)}: ` : ''}` : '';
  return `${where}${message}${hint ? `: ${hint}` : ''}`;
}

function shorten(text: string): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 80 ? `${one.slice(0, 77)}...` : one;
}
