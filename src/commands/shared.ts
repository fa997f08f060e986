/**
 * What every command shares: the --output option, flag parsers that throw usage errors naming
 * the flag, the VictoriaMetrics client built from configuration, and result printing.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.js';
import { loadConfig, type Config, type ConfigOverrides } from '../core/config/config.js';
import type { Deps } from '../core/deps.js';
import { OUTPUT_FORMATS, parseOutputFormat, renderJson, renderTableCsv, renderTableText, type OutputFormat, type Table } from '../core/output/render.js';
import { colorFor } from '../core/output/terminal.js';
import type { ChalkInstance } from 'chalk';
import { redactText } from '../core/redact.js';
import { addFlags, type FlagSpec } from '../flags.js';

/** The -o/--output flag of every command. */
export function outputFlag(allowed: readonly string[] = OUTPUT_FORMATS): FlagSpec {
  return { long: 'output', short: 'o', value: 'format', description: `output format: ${allowed.join(', ')}`, default: 'text' };
}

export function addOutputOption(cmd: Command, allowed: readonly string[] = OUTPUT_FORMATS): Command {
  return addFlags(cmd, [outputFlag(allowed)]);
}

export function outputFormat(raw: unknown, allowed: readonly string[] = OUTPUT_FORMATS): OutputFormat {
  return parseOutputFormat(String(raw ?? 'text'), allowed);
}

/** Commander's accumulator for a flag that may be given more than once. */
export function collectRepeated(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function intFlag(raw: unknown, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw === undefined || String(raw).trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} ${String(raw)} is not valid: expected a whole number from ${min} to ${max}`);
  }
  return n;
}

export function numberFlag(raw: unknown, flag: string, min: number, max: number): number {
  const n = Number(raw);
  if (raw === undefined || String(raw).trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${flag} ${String(raw)} is not valid: expected a number from ${min} to ${max}`);
  }
  return n;
}

export function choiceFlag<T extends string>(raw: unknown, flag: string, choices: readonly T[]): T {
  if (!choices.includes(raw as T)) throw new UsageError(`${flag} ${String(raw)} is not valid: expected one of ${choices.join(', ')}`);
  return raw as T;
}

/** Global flags that feed configuration, as commander parsed them. */
export interface GlobalFlags {
  vmUrl?: string;
  vmWriteUrl?: string;
  vmReadUrl?: string;
  vmTimeout?: string;
  debug?: boolean;
}

export function configFrom(deps: Deps, cmd: Command, local: ConfigOverrides = {}): Config {
  return configFromFlags(deps, cmd.optsWithGlobals() as GlobalFlags, local);
}

/** Configuration from the global flags (and the command's own overrides) over the environment. */
export function configFromFlags(deps: Deps, g: GlobalFlags, local: ConfigOverrides = {}): Config {
  return loadConfig(deps.env, {
    vmUrl: g.vmUrl,
    vmWriteUrl: g.vmWriteUrl,
    vmReadUrl: g.vmReadUrl,
    vmTimeoutSeconds: g.vmTimeout,
    debug: g.debug ? true : undefined,
    ...local,
  });
}


export function styleFor(deps: Deps, config: Config): { tty: boolean; color: boolean; c: ChalkInstance } {
  const c = colorFor(deps.stdout, config);
  return { tty: Boolean(deps.stdout.isTTY), color: c.level > 0, c };
}

/** Prints a result: a document for json, a table for csv, and the command's own text rendering otherwise. */
export function printResult(deps: Deps, config: Config, format: OutputFormat, doc: unknown, table: Table, text?: (c: ChalkInstance) => string): void {
  const style = styleFor(deps, config);
  if (format === 'json') deps.stdout.write(renderJson(doc));
  else if (format === 'csv') deps.stdout.write(renderTableCsv(table));
  else deps.stdout.write(text ? text(style.c) : renderTableText(table, style));
}

/** A warning on stderr, yellow on a terminal. */
export function warn(deps: Deps, config: Config, message: string): void {
  const c = colorFor(deps.stderr, config);
  deps.stderr.write(`${c.yellow('warning:')} ${redactText(message)}\n`);
}
