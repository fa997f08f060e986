/**
 * Flags described once, as data: commander registers them (help, errors, every unusual form), and
* a command whose start-up is part of what it measures (`exec`, which wraps jobs) reads the usual
 * forms with node:util's parseArgs instead, without loading commander at all (about 10 ms of a
 * job's wall time). The fast reading only ever accepts what commander would read the same way;
 * for anything else it answers null and commander decides, with its own messages.
 */
import type { Command } from 'commander';
import { createRequire } from 'node:module';

// node:util through require, at the first fast reading: an ESM import of it (named or default)
// loads parseArgs' implementation at start-up for every command, which only exec needs.
const require = createRequire(import.meta.url);

export interface FlagSpec {
  /** The long name without dashes: `vm-url`. Commander's attribute is its camelCase (`vmUrl`). */
  long: string;
  short?: string;
  /** The value's name in help (`url`), or none for a switch. */
  value?: string;
  description: string;
  default?: string;
}

export const flagSyntax = (f: FlagSpec): string => `${f.short ? `-${f.short}, ` : ''}--${f.long}${f.value ? ` <${f.value}>` : ''}`;

export const attributeName = (long: string): string => long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

export function addFlags(cmd: Command, flags: readonly FlagSpec[]): Command {
  for (const f of flags) cmd.option(flagSyntax(f), f.description, f.default);
  return cmd;
}

export interface FastParse {
  /** Flag values by commander's attribute name, defaults applied. */
  values: Record<string, string | boolean>;
  positionals: string[];
}

/**
 * `args` read against `flags` as commander would read them, or null when that is not certain: a
 * flag not in the table (help, a typo), a flag given twice, a value that starts with a dash, a
 * short flag with its value attached, fewer positionals than `minPositionals`.
 */
export function parseFlagsFast(args: readonly string[], flags: readonly FlagSpec[], minPositionals = 0): FastParse | null {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string }> = {};
  for (const f of flags) options[f.long] = { type: f.value ? 'string' : 'boolean', ...(f.short ? { short: f.short } : {}) };
  let parsed;
  try {
    parsed = (require('node:util') as typeof import('node:util')).parseArgs({ args: [...args], options, allowPositionals: true, strict: true, tokens: true });
  } catch {
    return null;
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option') continue;
    if (seen.has(t.name)) return null;
    seen.add(t.name);
    if (t.value !== undefined && (t.value.startsWith('-') || (t.rawName.length === 2 && t.inlineValue))) return null;
  }
  if (parsed.positionals.length < minPositionals) return null;
  const values: Record<string, string | boolean> = {};
  for (const f of flags) {
    const v = (parsed.values as Record<string, string | boolean | undefined>)[f.long] ?? f.default;
    if (v !== undefined) values[attributeName(f.long)] = v;
  }
  return { values, positionals: parsed.positionals };
}
