/**
 * Times and durations as users type them: ISO 8601 ("2026-11-21T10:00:00Z", "2026-11-21"),
 * relative to now ("now", "-1h", "now-30m"), or Unix time in seconds or milliseconds.
 * Durations: "90s", "5m", "1h30m", "2d", "1w", or plain seconds.
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

/** A point in time; relative forms count back from `now`. */
export function parseTime(raw: string, flag: string, now: Date): Date {
  const s = raw.trim();
  if (s === 'now') return now;
  const rel = /^(?:now)?-(.+)$/.exec(s);
  if (rel) return new Date(now.getTime() - parseDuration(rel[1], flag) * 1000);
  if (/^\d+(\.\d+)?$/.test(s)) {
    const n = Number(s);
    return new Date(n > 1e11 ? n : n * 1000); // milliseconds when it could not be seconds (year > 5138)
  }
  const ms = Date.parse(/^\d{4}-\d\d-\d\d$/.test(s) ? `${s}T00:00:00Z` : s);
  if (Number.isNaN(ms)) throw new UsageError(`${flag} ${raw} is not a time`, 'use ISO 8601 (2026-11-21T10:00:00Z), a relative time (-1h, now-30m), now, or Unix seconds');
  return new Date(ms);
}

/** "3600" → "1h", for PromQL windows and messages. */
export function formatDurationShort(seconds: number): string {
  for (const [unit, size] of [['w', 604_800], ['d', 86_400], ['h', 3600], ['m', 60]] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${Math.round(seconds * 1000) / 1000}s`;
}
