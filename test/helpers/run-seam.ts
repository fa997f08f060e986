/**
 * The run seam of a command: what its registration hands to its run function for an argv, as
 * commander parses it (with the global flags), or the message of the error that stops it first
 * (commander's, or a flag's validation). Nothing runs.
 */
import { Command } from 'commander';
import { GLOBAL_FLAGS } from '../../src/cli.js';
import { addFlags } from '../../src/flags.js';
import type { Config } from '../../src/core/config/config.js';
import type { Deps } from '../../src/core/deps.js';

export type Register<O> = (program: Command, deps: Deps, run: (opts: O, config: Config, deps: Deps) => Promise<void>) => void;

export async function parsedRun<O>(register: Register<O>, argv: string[], deps: Deps): Promise<{ opts: O; config: Config } | string> {
  let seen: { opts: O; config: Config } | undefined;
  const program = new Command('pipeobs').exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  addFlags(program, GLOBAL_FLAGS);
  register(program, deps, async (opts, config) => {
    seen = { opts, config };
  });
  for (const c of program.commands) c.exitOverride().configureOutput({ writeOut: () => {}, writeErr: () => {} });
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    return (err as Error).message;
  }
  if (!seen) throw new Error(`nothing ran for ${argv.join(' ')}`);
  return seen;
}
