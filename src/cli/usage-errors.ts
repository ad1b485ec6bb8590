/**
 * Usage mistakes in one line, as docs/client.md promises of every failed command: commander's
 * `error: unknown option '--jbos'\n(Did you mean --jobs?)` plus the whole help becomes
 * `wharf push: unknown option --jbos (did you mean --jobs?); see wharf push --help`. Commander
 * still finds the suggestion and exits 1; `wharf` alone still prints its help.
 */
import type { Command } from 'commander';

/** `wharf blob get`: the command's name with its parents'. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/**
 * The one line for commander's error text `message` (`error: ...`, quotes around names, a
 * `(Did you mean X?)` line) raised by the command `path`.
 */
export function usageLine(path: string, message: string): string {
  const text = message
    .replace(/^error:\s*/i, '')
    .replace(/'([^'\n]+)'/g, '$1')
    .replace(/\(Did you mean/g, '(did you mean')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join(' ');
  return `${path}: ${text}; see ${path} --help\n`;
}

/**
 * Makes every usage error of `program` and its subcommands (call it once they are all registered)
 * one line on stderr, without the help after it.
 */
export function oneLineUsageErrors(program: Command): void {
  const visit = (cmd: Command): void => {
    const path = commandPath(cmd);
    cmd.showHelpAfterError(false).configureOutput({ outputError: (message, write) => write(usageLine(path, message)) });
    cmd.commands.forEach(visit);
  };
  visit(program);
}
