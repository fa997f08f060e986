/*
 * A native twin of scanLine (src/core/influx/line-protocol.ts) for push-influx's hot loop: it
 * checks every line of a chunk in one call and returns, per line, its byte range and verdict
 * (samples, 0 for blank or comment, -1 for a line VictoriaMetrics would not store as written). It
 * decides only that; the TypeScript scanner, the reference, says why. Tests hold the two to the
 * same verdicts on the public corpus, on hand-made cases and on random input.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

enum { ORD = 0, BSL, CMA, SPC, EQL, QUO, HIGH, NLC, CRC };
static uint8_t CLASS[256];

static void init_classes(void) {
  for (int c = 0; c < 256; c++) CLASS[c] = c > 127 ? HIGH : ORD;
  CLASS['\\'] = BSL; CLASS[','] = CMA; CLASS[' '] = SPC; CLASS['='] = EQL; CLASS['"'] = QUO; CLASS['\n'] = NLC; CLASS['\r'] = CRC;
}

#define STOP_MEASUREMENT ((1 << CMA) | (1 << SPC) | (1 << NLC) | (1 << CRC))
#define STOP_TAG_KEY (STOP_MEASUREMENT | (1 << EQL))
#define STOP_TAG_VALUE STOP_MEASUREMENT
#define STOP_FIELD_KEY (STOP_TAG_KEY | (1 << QUO))
#define STOP_FIELD_VALUE (STOP_MEASUREMENT | (1 << QUO))
#define MAX_LABELS 30
#define MAX_NAME_BYTES 256
#define MAX_VALUE_BYTES (16 * 1024)

static inline int at_end(const uint8_t *b, int64_t i, int64_t limit) {
  return i >= limit || b[i] == '\n' || (b[i] == '\r' && (i + 1 >= limit || b[i + 1] == '\n'));
}

/* Advances over an escaped token to the first unescaped byte whose class is in stops (a \r only at the
   end of the line); returns its index or limit. Sets *high at bytes above 127. */
static inline int64_t token(const uint8_t *b, int64_t i, int64_t limit, int stops, int *high) {
  while (i < limit) {
    int c = CLASS[b[i]];
    if (c == ORD) { i++; continue; }
    if (c == BSL) {
      i += (i + 1 < limit && b[i + 1] != '\n' && !(b[i + 1] == '\r' && at_end(b, i + 1, limit))) ? 2 : 1;
      if (CLASS[b[i - 1]] == HIGH) *high = 1;
      continue;
    }
    if (((stops >> c) & 1) && (c != CRC || at_end(b, i, limit))) return i;
    if (c == HIGH) *high = 1;
    i++;
  }
  return limit;
}

static int64_t end_at(const uint8_t *b, int64_t i, int64_t limit) {
  const uint8_t *p = i < limit ? memchr(b + i, '\n', (size_t)(limit - i)) : NULL;
  return p ? (int64_t)(p - b) : limit;
}

static inline int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int bytes_are(const uint8_t *b, int64_t s, int64_t e, const char *w) {
  size_t n = strlen(w);
  return (size_t)(e - s) == n && memcmp(b + s, w, n) == 0;
}

static int is_boolean(const uint8_t *b, int64_t s, int64_t e) {
  int64_t n = e - s;
  uint8_t c = b[s];
  if (n == 1) return c == 't' || c == 'T' || c == 'f' || c == 'F';
  if (n == 4) return bytes_are(b, s, e, "true") || bytes_are(b, s, e, "True") || bytes_are(b, s, e, "TRUE");
  if (n == 5) return bytes_are(b, s, e, "false") || bytes_are(b, s, e, "False") || bytes_are(b, s, e, "FALSE");
  return 0;
}

/* Whether b[s..e) reads as the number it says to VictoriaMetrics' float reader: -?digits[.digits][e[+-]digits]
   and finite. Anything else is stored as 0, NaN, or Inf: the line is not stored as written. */
static int exact_float(const uint8_t *b, int64_t s, int64_t e) {
  int64_t j = s;
  if (j < e && b[j] == '-') j++;
  int64_t int_start = j;
  while (j < e && b[j] == '0') j++;
  int64_t sig_start = j;
  while (j < e && is_digit(b[j])) j++;
  int64_t int_end = j;
  if (int_end == int_start) return 0;
  int any_non_zero = int_end > sig_start;
  int64_t lead_frac_zeros = -1;
  if (j < e && b[j] == '.') {
    j++;
    int64_t frac_start = j;
    while (j < e && is_digit(b[j])) {
      if (!any_non_zero && b[j] != '0') { any_non_zero = 1; lead_frac_zeros = j - frac_start; }
      j++;
    }
    if (j == frac_start && int_end - s <= 18) return 0;
  }
  int64_t exp = 0;
  if (j < e && (b[j] == 'e' || b[j] == 'E')) {
    j++;
    int neg = 0;
    if (j < e && (b[j] == '-' || b[j] == '+')) neg = b[j++] == '-';
    int64_t exp_start = j;
    while (j < e && is_digit(b[j])) { if (exp < 100000) exp = exp * 10 + (b[j] - '0'); j++; }
    if (j == exp_start) return 0;
    if (neg) exp = -exp;
  }
  if (j != e) return 0;
  if (!any_non_zero) return 1;
  int64_t mag = (int_end > sig_start ? int_end - sig_start - 1 : -lead_frac_zeros - 1) + exp;
  if (mag < 308) return 1;
  if (mag > 308) return 0;
  /* On the edge of float64: let strtod decide (rare, so the copy does not matter). */
  size_t n = (size_t)(e - s);
  char *tmp = malloc(n + 1);
  if (!tmp) return 0;
  memcpy(tmp, b + s, n);
  tmp[n] = 0;
  double v = strtod(tmp, NULL);
  free(tmp);
  return isfinite(v);
}

/* Whether the digits b[s..e) (all digits, at least one) fit under the decimal limit. */
static int digits_within(const uint8_t *b, int64_t s, int64_t e, const char *limit) {
  while (s < e - 1 && b[s] == '0') s++;
  int64_t n = e - s, ln = (int64_t)strlen(limit);
  if (n != ln) return n < ln;
  for (int64_t k = 0; k < n; k++) if (b[s + k] != (uint8_t)limit[k]) return b[s + k] < (uint8_t)limit[k];
  return 1;
}

static int all_digits(const uint8_t *b, int64_t s, int64_t e) {
  if (s >= e) return 0;
  for (int64_t k = s; k < e; k++) if (!is_digit(b[k])) return 0;
  return 1;
}

/* "12i"/"7u" body: a 64-bit integer VictoriaMetrics can read. */
static int int_ok(const uint8_t *b, int64_t s, int64_t e, int is_unsigned) {
  int64_t j = s;
  if (!is_unsigned && j < e && b[j] == '-') j++;
  if (!all_digits(b, j, e)) return 0;
  return digits_within(b, j, e, is_unsigned ? "18446744073709551615" : j > s ? "9223372036854775808" : "9223372036854775807");
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
static int valid_utf8(const uint8_t *b, int64_t s, int64_t e) {
  int64_t i = s;
  while (i < e) {
    uint8_t c = b[i];
    if (c < 0x80) { i++; continue; }
    int n; uint32_t cp;
    if ((c & 0xE0) == 0xC0) { n = 1; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 2; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 3; cp = c & 0x07; }
    else return 0;
    if (i + n >= e) return 0;
    for (int k = 1; k <= n; k++) {
      if ((b[i + k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (b[i + k] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += n + 1;
  }
  return 1;
}

/* The length of b[s..e) once VictoriaMetrics has removed its escapes. */
static int64_t unescaped_length(const uint8_t *b, int64_t s, int64_t e) {
  int64_t n = 0;
  for (int64_t k = s; k < e; k++, n++) {
    if (b[k] == '\\' && k + 1 < e) {
      uint8_t c = b[k + 1];
      if (c == ' ' || c == ',' || c == '=' || c == '\\') k++;
    }
  }
  return n;
}

/* VictoriaMetrics' ms for a non-zero timestamp: truncated towards zero (per_ms < 1 means seconds). */
static double vm_ms(double ts, double per_ms) {
  if (per_ms < 1) return ts * 1000;
  double x = ts / per_ms;
  return x > -9e18 && x < 9e18 ? (double)(int64_t)x : x;
}

/* One line from start; sets *line_end; returns samples, 0 (blank/comment) or -1 (not stored as written:
   the TypeScript scanner says why). Every check mirrors scanLine in src/core/influx/line-protocol.ts. */
static int32_t scan_line(const uint8_t *b, int64_t start, int64_t limit, double min_ms, double max_ms, double per_ms, int64_t *line_end) {
  int64_t i = start;
#define FAIL(at) do { *line_end = end_at(b, (at) < 0 ? 0 : (at), limit); return -1; } while (0)
  if (at_end(b, i, limit) || b[i] == '#') { *line_end = end_at(b, i, limit); return 0; }
  if (b[i] == ' ') {
    while (i < limit && b[i] == ' ') i++;
    if (at_end(b, i, limit) || b[i] == '#') { *line_end = end_at(b, i, limit); return 0; }
    FAIL(i);
  }
  int high = 0;
  if (b[i] == ',') FAIL(i); /* empty measurement */
  i = token(b, start, limit, STOP_MEASUREMENT, &high);
  if (at_end(b, i, limit)) FAIL(i);
  if (high && !valid_utf8(b, start, i)) FAIL(i);
  int64_t measurement_end = i;
  int64_t keys[2 * MAX_LABELS];
  int tags = 0;
  while (b[i] == ',') {
    int64_t k = i + 1;
    high = 0;
    i = token(b, k, limit, STOP_TAG_KEY, &high);
    if (i >= limit || b[i] != '=') FAIL(i);
    int64_t ke = i, v = i + 1;
    i = token(b, v, limit, STOP_TAG_VALUE, &high);
    if (ke == k || i == v) FAIL(i); /* VictoriaMetrics leaves the tag out */
    if (high && !valid_utf8(b, k, i)) FAIL(i);
    if (tags >= MAX_LABELS) FAIL(i);
    int64_t n = ke - k;
    if (n == 8 && memcmp(b + k, "__name__", 8) == 0) FAIL(i); /* the metric name's own label: left out */
    if (n > MAX_NAME_BYTES && unescaped_length(b, k, ke) > MAX_NAME_BYTES) FAIL(i); /* cut */
    if (i - v > MAX_VALUE_BYTES && unescaped_length(b, v, i) > MAX_VALUE_BYTES) FAIL(i); /* cut */
    for (int t = 0; t < tags; t++) {
      if (keys[2 * t + 1] - keys[2 * t] == n && memcmp(b + keys[2 * t], b + k, (size_t)n) == 0) FAIL(i);
    }
    keys[2 * tags] = k; keys[2 * tags + 1] = ke;
    tags++;
  }
  if (at_end(b, i, limit)) FAIL(i);
  while (i < limit && b[i] == ' ') i++;
  if (at_end(b, i, limit)) FAIL(i);
  int32_t fields = 0;
  for (;;) {
    int64_t k = i;
    high = 0;
    i = token(b, k, limit, STOP_FIELD_KEY, &high);
    if (i == k || i >= limit || b[i] != '=') FAIL(i);
    if (high && !valid_utf8(b, k, i)) FAIL(i);
    if (measurement_end - start + 1 + i - k > MAX_VALUE_BYTES &&
        unescaped_length(b, start, measurement_end) + 1 + unescaped_length(b, k, i) > MAX_VALUE_BYTES) FAIL(i); /* the metric name is cut */
    int64_t v = ++i;
    if (v < limit && b[v] == '"') FAIL(v); /* a string: stored as 0 or as the number it holds, never as written */
    i = token(b, v, limit, STOP_FIELD_VALUE, &high);
    if (i == v || (i < limit && b[i] == '"')) FAIL(i);
    uint8_t last = b[i - 1];
    if (last == 'i' || last == 'u') {
      if (!int_ok(b, v, i - 1, last == 'u')) FAIL(i);
    } else if (!is_boolean(b, v, i) && !exact_float(b, v, i)) FAIL(i);
    fields++;
    if (i >= limit || b[i] != ',') break;
    i++;
  }
  if (!at_end(b, i, limit)) {
    while (i < limit && b[i] == ' ') i++;
    if (at_end(b, i, limit)) FAIL(i);
    int64_t t = i;
    if (b[i] == '-') i++;
    int64_t digits = i;
    double ts = 0;
    for (; i < limit && is_digit(b[i]); i++) ts = ts * 10 + (b[i] - '0');
    int64_t te = i;
    if (te == digits || !at_end(b, i, limit)) FAIL(i);
    if (!digits_within(b, digits, te, digits > t ? "9223372036854775808" : "9223372036854775807")) FAIL(i);
    if (ts == 0) FAIL(i); /* stored at the time of arrival */
    if (b[t] == '-') ts = -ts;
    double ms = vm_ms(ts, per_ms);
    if (ms < 0 || ms < min_ms || ms > max_ms) FAIL(i);
  }
  *line_end = (i < limit && b[i] == '\r') ? i + 1 : i;
  return fields;
#undef FAIL
}

/* scanChunk(buf, start, limit, minMs, maxMs, perMs) -> Int32Array of [lineStart, lineEnd, verdict] triples */
static napi_value scan_chunk(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) { napi_throw_type_error(env, NULL, "scanChunk needs 6 arguments"); return NULL; }
  void *data; size_t len;
  if (napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) { napi_throw_type_error(env, NULL, "the first argument must be a Buffer"); return NULL; }
  int64_t start, limit; double min_ms, max_ms, per_ms;
  napi_get_value_int64(env, argv[1], &start);
  napi_get_value_int64(env, argv[2], &limit);
  napi_get_value_double(env, argv[3], &min_ms);
  napi_get_value_double(env, argv[4], &max_ms);
  napi_get_value_double(env, argv[5], &per_ms);
  if (limit > (int64_t)len) limit = (int64_t)len;
  const uint8_t *b = data;
  size_t cap = 4096, n = 0;
  int32_t *out = malloc(cap * sizeof(int32_t));
  int64_t pos = start;
  while (pos < limit) {
    int64_t end = pos;
    int32_t v = scan_line(b, pos, limit, min_ms, max_ms, per_ms, &end);
    if (n + 3 > cap) { cap *= 2; out = realloc(out, cap * sizeof(int32_t)); }
    out[n++] = (int32_t)pos; out[n++] = (int32_t)end; out[n++] = v;
    pos = end + 1;
  }
  napi_value ab, arr;
  void *abdata;
  napi_create_arraybuffer(env, n * sizeof(int32_t), &abdata, &ab);
  if (n) memcpy(abdata, out, n * sizeof(int32_t));
  free(out);
  napi_create_typedarray(env, napi_int32_array, n, ab, 0, &arr);
  return arr;
}

static napi_value init(napi_env env, napi_value exports) {
  init_classes();
  napi_value fn;
  napi_create_function(env, "scanChunk", NAPI_AUTO_LENGTH, scan_chunk, NULL, &fn);
  napi_set_named_property(env, exports, "scanChunk", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
