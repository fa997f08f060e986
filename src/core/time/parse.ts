/**
 * Times and durations as users type them. This is pipeobs' one time grammar: every time flag of
 * every command (--since, --until, --start, --end, --time, --now) goes through parseTime, so the
 * same text means the same moment everywhere.
 *
 * A time is one of:
 *   - a duration ago: "6h" or "-6h" (both), "now-6h", "1h30m", "2d";
 *   - "now";
 *   - ISO 8601: "2026-11-21T10:00:00Z", "2026-11-21T10:00:00+01:00", "2026-11-21" (UTC midnight);
 *     a time without a zone is UTC;
 *   - Unix time in seconds ("1763719200", "1763719200.5"), or milliseconds when it cannot be
 *     seconds (more than 11 digits).
 * Durations: "90s", "5m", "1h30m", "2d", "1w", "500ms", or plain seconds.
 */
import { UsageError } from '../errors.js';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/;

/** Seconds in a duration such as "1h30m"; throws a usage error naming the flag. */
export function parseDuration(raw: string, flag: string): number {
  const s = raw.trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s);
  let rest = s;
  let total = 0;
  while (rest.length > 0) {
    const m = DURATION.exec(rest);
    if (!m) throw new UsageError(`${flag} ${raw} is not a duration`, 'use e.g. 90s, 5m, 1h30m, 2d or 1w');
    total += Number(m[1]) * UNIT_SECONDS[m[2]];
    rest = rest.slice(m[0].length);
  }
  if (total <= 0) throw new UsageError(`${flag} ${raw} must be longer than zero`);
  return total;
}

export const TIME_FORMS_HINT = 'use a duration ago (6h, -6h, now-30m), now, ISO 8601 (2026-11-21T10:00:00Z) or Unix seconds';

/** A point in time; durations count back from `now`. */
export function parseTime(raw: string, flag: string, now: Date): Date {
  const s = raw.trim();
  if (s === 'now') return now;
  const rel = /^(?:now)?-(.+)$/.exec(s);
  if (rel) return new Date(now.getTime() - durationOf(rel[1], raw, flag) * 1000);
  // A bare duration with a unit ("6h", "1h30m") is that long ago: plain numbers are Unix times.
  if (/^\d+(?:\.\d+)?(?:ms|s|m|h|d|w|y)/.test(s) && !/^\d{4}-/.test(s)) return new Date(now.getTime() - durationOf(s, raw, flag) * 1000);
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return new Date(n > 1e11 ? n : n * 1000); // milliseconds when it could not be seconds (year > 5138)
  }
  const ms = Date.parse(isoAsUtc(s));
  if (Number.isNaN(ms) || !/^\d{4}-\d\d-\d\d/.test(s)) throw new UsageError(`${flag} ${raw} is not a time`, TIME_FORMS_HINT);
  return new Date(ms);
}

/** A duration inside a time, with errors that quote the whole time the user typed. */
function durationOf(text: string, raw: string, flag: string): number {
  try {
    return parseDuration(text, flag);
  } catch {
    throw new UsageError(`${flag} ${raw} is not a time`, TIME_FORMS_HINT);
  }
}

/** ISO text with the zone made explicit: a date alone is UTC midnight, a time without a zone is UTC. */
function isoAsUtc(s: string): string {
  if (/^\d{4}-\d\d-\d\d$/.test(s)) return `${s}T00:00:00Z`;
  const t = s.replace(/^(\d{4}-\d\d-\d\d) (\d)/, '$1T$2');
  return /T\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?$/.test(t) ? `${t.replace(',', '.')}Z` : t;
}

/** "3600" → "1h", for PromQL windows and messages. */
export function formatDurationShort(seconds: number): string {
  for (const [unit, size] of [['w', 604_800], ['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${Math.round(seconds * 1000) / 1000}s`;
}

/** The raw window flags of a command: --since and --start are one flag, --until and --end the other. */
export interface WindowFlags {
  since?: unknown;
  start?: unknown;
  until?: unknown;
  end?: unknown;
}

/**
 * The start and end a command's window flags name, in the one grammar; either may be absent.
 * Giving both names of one end (--since and --start) is a usage error, not a silent choice.
 */
export function windowFromFlags(raw: WindowFlags, now: Date): { start?: Date; end?: Date; startFlag: string; endFlag: string } {
  if (raw.since !== undefined && raw.start !== undefined) throw new UsageError('give --since or --start, not both: they are the same flag');
  if (raw.until !== undefined && raw.end !== undefined) throw new UsageError('give --until or --end, not both: they are the same flag');
  const startFlag = raw.start !== undefined ? '--start' : '--since';
  const endFlag = raw.end !== undefined ? '--end' : '--until';
  const startRaw = raw.start ?? raw.since;
  const endRaw = raw.end ?? raw.until;
  return {
    start: startRaw === undefined ? undefined : parseTime(String(startRaw), startFlag, now),
    end: endRaw === undefined ? undefined : parseTime(String(endRaw), endFlag, now),
    startFlag,
    endFlag,
  };
}
