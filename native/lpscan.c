/*
 * A native twin of scanLine (src/core/influx/line-protocol.ts) for push-influx's hot loop: it
 * checks every line of a chunk in one call and returns, per line, its byte range and verdict
 * (samples, 0 for blank or comment, -1 for invalid). It decides only valid or invalid; the
 * TypeScript scanner, the reference, says why a line is invalid. A test holds the two to the
 * same verdicts on every case and on random input.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { ORD = 0, BSL, CMA, SPC, EQL, CTL, HIGH, EOL };
static uint8_t CLASS[256];

static void init_classes(void) {
  for (int c = 0; c < 256; c++) CLASS[c] = (c < 32 || c == 127) ? CTL : (c > 127 ? HIGH : ORD);
  CLASS['\\'] = BSL; CLASS[','] = CMA; CLASS[' '] = SPC; CLASS['='] = EQL; CLASS['\n'] = EOL; CLASS['\r'] = EOL;
}

#define STOP_MEASUREMENT ((1 << CMA) | (1 << SPC) | (1 << EOL))
#define STOP_KEY ((1 << CMA) | (1 << SPC) | (1 << EQL) | (1 << EOL))

/* Advances over an escaped token; returns the index of the first byte whose class is in stops, limit, or -1 at a control byte. */
static int64_t token(const uint8_t *b, int64_t i, int64_t limit, int stops, int *high) {
  while (i < limit) {
    int c = CLASS[b[i]];
    if (c == ORD) { i++; continue; }
    if (c == BSL && i + 1 < limit) {
      int n = CLASS[b[i + 1]];
      if (n == CTL || n == EOL) return -1;
      if (n == HIGH) *high = 1;
      i += 2;
      continue;
    }
    if ((stops >> c) & 1) return i;
    if (c == CTL) return -1;
    if (c == HIGH) *high = 1;
    i++;
  }
  return limit;
}

static int at_end(const uint8_t *b, int64_t i, int64_t limit) {
  return i >= limit || b[i] == '\n' || (b[i] == '\r' && (i + 1 >= limit || b[i + 1] == '\n'));
}

static int64_t end_at(const uint8_t *b, int64_t i, int64_t limit) {
  const uint8_t *p = i < limit ? memchr(b + i, '\n', (size_t)(limit - i)) : NULL;
  return p ? (int64_t)(p - b) : limit;
}

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

static int word_is(const uint8_t *b, int64_t s, int64_t e, const char *w) {
  size_t n = strlen(w);
  return (size_t)(e - s) == n && memcmp(b + s, w, n) == 0;
}

static int numeric_value(const uint8_t *b, int64_t s, int64_t e) {
  uint8_t last = b[e - 1];
  int64_t j = s;
  if (last == 'i' || last == 'u') {
    if (last == 'i' && (b[j] == '-' || b[j] == '+')) j++;
    if (j >= e - 1) return 0;
    for (; j < e - 1; j++) if (!is_digit(b[j])) return 0;
    return 1;
  }
  if (b[j] == '-' || b[j] == '+') j++;
  int digits = 0;
  while (j < e && is_digit(b[j])) { j++; digits++; }
  if (j < e && b[j] == '.') {
    j++;
    while (j < e && is_digit(b[j])) { j++; digits++; }
  }
  if (digits > 0) {
    if (j < e && (b[j] == 'e' || b[j] == 'E')) {
      j++;
      if (j < e && (b[j] == '-' || b[j] == '+')) j++;
      int64_t exp_start = j;
      while (j < e && is_digit(b[j])) j++;
      if (j == exp_start) return 0;
    }
    return j == e;
  }
  if (e - s == 1) return b[s] == 't' || b[s] == 'T' || b[s] == 'f' || b[s] == 'F';
  return word_is(b, s, e, "true") || word_is(b, s, e, "True") || word_is(b, s, e, "TRUE") ||
         word_is(b, s, e, "false") || word_is(b, s, e, "False") || word_is(b, s, e, "FALSE");
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
      if (i + k >= e || (b[i + k] & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (b[i + k] & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += n + 1;
  }
  return 1;
}

/* One line from start; sets *line_end; returns samples, 0 (blank/comment) or -1 (invalid). */
static int32_t scan_line(const uint8_t *b, int64_t start, int64_t limit, double min_ms, double max_ms, double per_ms, int64_t *line_end) {
  int64_t i = start;
#define FAIL(at) do { *line_end = end_at(b, (at) < 0 ? 0 : (at), limit); return -1; } while (0)
  while (i < limit && b[i] == ' ') i++;
  if (at_end(b, i, limit) || b[i] == '#') { *line_end = end_at(b, i, limit); return 0; }
  start = i;
  int high = 0;
  i = token(b, start, limit, STOP_MEASUREMENT, &high);
  if (i < 0) FAIL(start);
  if (i == start || at_end(b, i, limit) || b[i] == '\r') FAIL(i);
  while (b[i] == ',') {
    int64_t k = i + 1;
    i = token(b, k, limit, STOP_KEY, &high);
    if (i < 0) FAIL(k);
    if (i >= limit || b[i] != '=' || i == k) FAIL(i);
    int64_t v = i + 1;
    i = token(b, v, limit, STOP_KEY, &high);
    if (i < 0) FAIL(v);
    if ((i < limit && b[i] == '=') || i == v) FAIL(i);
  }
  if (i < limit && b[i] == '\r' && !at_end(b, i, limit)) FAIL(i);
  while (i < limit && b[i] == ' ') i++;
  if (at_end(b, i, limit)) FAIL(i);
  int32_t fields = 0;
  for (;;) {
    int64_t k = i;
    i = token(b, k, limit, STOP_KEY, &high);
    if (i < 0) FAIL(k);
    if (i == k || i >= limit || b[i] != '=') FAIL(i);
    int64_t v = ++i;
    if (v < limit && b[v] == '"') FAIL(v);
    uint8_t c = 0;
    while (i < limit && (c = b[i]) != ',' && c != ' ' && c != '\n' && c != '\r') i++;
    if (i == v || !numeric_value(b, v, i)) FAIL(i);
    fields++;
    if (i >= limit || c != ',') break;
    i++;
    if (at_end(b, i, limit)) FAIL(i);
  }
  if (!at_end(b, i, limit) && b[i] != ' ') FAIL(i);
  while (i < limit && b[i] == ' ') i++;
  if (!at_end(b, i, limit)) {
    int64_t t = i;
    if (b[i] == '-') i++;
    double ts = 0;
    int64_t digits = i;
    for (; i < limit && is_digit(b[i]); i++) ts = ts * 10 + (b[i] - '0');
    int64_t te = i;
    while (i < limit && b[i] == ' ') i++;
    if (te == digits || !at_end(b, i, limit)) FAIL(i);
    if (b[t] == '-') ts = -ts;
    double ms = ts / per_ms;
    if (ms < min_ms || ms > max_ms) FAIL(i);
  }
  *line_end = (i < limit && b[i] == '\r') ? i + 1 : i;
  if (high && !valid_utf8(b, start, *line_end)) FAIL(i);
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
