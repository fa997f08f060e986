/**
 * The one redaction of credentials in URLs. Every URL pipeobs shows (in text, JSON, errors,
 * debug lines, spool names) goes through redactUrl; free text that may quote a URL (an error
 * from a library, a configuration value that did not parse) goes through redactText. What is
 * hidden: user and password (http://user:pw@host), and the values of query parameters whose
 * name says they hold a secret (?token=…, ?api_key=…, ?sig=…).
 */

export const REDACTED = '***';

/** Query parameters whose value is a secret, by name (case-insensitive, anywhere in the name). */
const SECRET_PARAM = /token|key|secret|passw|pwd|auth|sig|credential|session|jwt|bearer/i;

/** A URL with scheme and authority, as it may appear inside other text. */
const URL_IN_TEXT = /\b[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s"'<>`]+/g;

/** The URL with its credentials replaced by ***; a trailing slash the URL parser adds is dropped. */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return redactUnparsed(url);
  }
  if (u.username || u.password) {
    u.username = REDACTED;
    u.password = '';
  }
  for (const name of [...u.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) u.searchParams.set(name, REDACTED);
  }
  let shown = u.toString();
  if (!url.endsWith('/') && shown.endsWith('/') && u.pathname === '/' && !u.search && !u.hash) shown = shown.slice(0, -1);
  return shown.replace(/%2A%2A%2A/g, REDACTED);
}

/** Every URL inside the text redacted; the rest unchanged. */
export function redactText(text: string): string {
  if (!text.includes('://')) return text;
  return text.replace(URL_IN_TEXT, (m) => {
    // Trailing punctuation of the sentence is not part of the URL.
    const tail = /[.,;:)\]]+$/.exec(m)?.[0] ?? '';
    return redactUrl(m.slice(0, m.length - tail.length)) + tail;
  });
}

/** For strings the URL parser refuses (a bad configuration value): the same rules by pattern. */
function redactUnparsed(text: string): string {
  return text
    .replace(/(\/\/)[^/@\s?#]*@/g, `$1${REDACTED}@`)
    .replace(/([?&])([^=&#\s]+)=([^&#\s]*)/g, (m, sep: string, name: string) => (SECRET_PARAM.test(name) ? `${sep}${name}=${REDACTED}` : m));
}

/**
 * The identity of a target without its secrets, for keys (the spool's directory name): scheme,
 * lower-case host, port only when not the default, path without trailing slashes, and the
 * non-secret query parameters in order. Two spellings of one target give one key.
 */
export function normalizeTargetUrl(url: string): string {
  const u = new URL(url);
  u.username = '';
  u.password = '';
  u.hash = '';
  const params = [...u.searchParams.entries()].filter(([k]) => !SECRET_PARAM.test(k)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const path = u.pathname.replace(/\/+$/, '');
  const query = params.length ? `?${new URLSearchParams(params).toString()}` : '';
  return `${u.protocol}//${u.host.toLowerCase()}${path}${query}`;
}
