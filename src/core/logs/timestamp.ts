/**
 * Log timestamps from bytes, to epoch milliseconds: ISO 8601 with or without a zone
 * ("2024-01-15T10:30:00.123Z", "2024-01-15 10:30:00+02:00", Python's "2024-01-15 10:30:00,123"),
 * Airflow's "2024-01-15, 10:30:00 UTC" and "2024-01-15T10:30:00.123+0000", and epoch
 * seconds, milliseconds, microseconds or nanoseconds (told apart by size). Times without a zone
 * are UTC. NaN when the text is none of these.
 */

function digits(buf: Buffer, i: number, n: number): number {
  let v = 0;
  for (let k = 0; k < n; k++) {
    const d = buf[i + k] - 0x30;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** An epoch number: seconds below 1e11, milliseconds below 1e14, microseconds below 1e17, else nanoseconds. */
export function epochToMs(n: number): number {
  if (!Number.isFinite(n) || n < 0) return NaN;
  if (n < 1e11) return n * 1000;
  if (n < 1e14) return n;
  if (n < 1e17) return n / 1000;
  return n / 1e6;
}

export function parseTimestampBytes(buf: Buffer, s: number, e: number): number {
  if (e - s < 1) return NaN;
  const first = buf[s];
  if (e - s < 10 || buf[s + 4] !== 0x2d) {
    // Not a date: an epoch number, possibly with a fraction.
    if (first < 0x30 || first > 0x39) return NaN;
    let v = 0;
    let i = s;
    while (i < e && buf[i] >= 0x30 && buf[i] <= 0x39) v = v * 10 + (buf[i++] - 0x30);
    if (i < e) {
      if (buf[i] !== 0x2e) return NaN;
      let scale = 0.1;
      i++;
      while (i < e && buf[i] >= 0x30 && buf[i] <= 0x39) {
        v += (buf[i++] - 0x30) * scale;
        scale /= 10;
      }
      if (i < e) return NaN;
    }
    return epochToMs(v);
  }
  const year = digits(buf, s, 4);
  const month = digits(buf, s + 5, 2);
  const day = digits(buf, s + 8, 2);
  if (year < 0 || buf[s + 7] !== 0x2d || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month]) return NaN;
  let i = s + 10;
  let ms = daysFromCivil(year, month, day) * 86_400_000;
  if (i === e) return ms;
  // Date-time separator: "T", " ", or Airflow's ", ".
  if (buf[i] === 0x2c && i + 1 < e && buf[i + 1] === 0x20) i += 2;
  else if (buf[i] === 0x54 || buf[i] === 0x20 || buf[i] === 0x74) i++;
  else return NaN;
  if (i + 2 > e) return NaN;
  const hh = digits(buf, i, 2);
  const mm = i + 5 <= e && buf[i + 2] === 0x3a ? digits(buf, i + 3, 2) : -1;
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return NaN;
  ms += hh * 3_600_000 + mm * 60_000;
  i += 5;
  if (i < e && buf[i] === 0x3a) {
    if (i + 3 > e) return NaN;
    const ss = digits(buf, i + 1, 2);
    if (ss < 0 || ss > 60) return NaN;
    ms += ss * 1000;
    i += 3;
    if (i < e && (buf[i] === 0x2e || buf[i] === 0x2c)) {
      i++;
      let scale = 100;
      const fracStart = i;
      while (i < e && buf[i] >= 0x30 && buf[i] <= 0x39) {
        ms += (buf[i] - 0x30) * scale;
        scale /= 10;
        i++;
      }
      if (i === fracStart) return NaN;
    }
  }
  if (i === e) return ms;
  if (buf[i] === 0x20) i++; // "10:30:00 UTC", "10:30:00 +0000"
  if (i === e) return NaN;
  const z = buf[i];
  if ((z === 0x5a || z === 0x7a) && i + 1 === e) return ms; // Z
  if (z === 0x55 && e - i === 3 && buf[i + 1] === 0x54 && buf[i + 2] === 0x43) return ms; // UTC
  if (z === 0x47 && e - i === 3 && buf[i + 1] === 0x4d && buf[i + 2] === 0x54) return ms; // GMT
  if (z === 0x2b || z === 0x2d) {
    if (e - i < 3) return NaN;
    const oh = digits(buf, i + 1, 2);
    let om: number;
    if (e - i === 6 && buf[i + 3] === 0x3a) om = digits(buf, i + 4, 2);
    else if (e - i === 5) om = digits(buf, i + 3, 2);
    else if (e - i === 3) om = 0;
    else return NaN;
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN;
    const offset = (oh * 60 + om) * 60_000;
    return z === 0x2b ? ms - offset : ms + offset;
  }
  return NaN;
}

export function parseTimestampText(text: string): number {
  const b = Buffer.from(text.trim(), 'latin1');
  return parseTimestampBytes(b, 0, b.length);
}
