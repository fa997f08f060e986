/*
 * A native twin of LineParser (src/core/logs/formats.ts) for monitor-logs' hot path: the
 * Kafka-consumer and ML-service JSON lines, which are the bulk of any log volume. For each line
 * of a chunk it either reads everything the report needs (time, level, numbers, a hash of the
 * group's label bytes) or answers 0, "let the TypeScript parser read this line": every other
 * format, every doubtful value, every line to be skipped. The TypeScript parser is the
 * reference; a test holds the two to the same results on all cases and on random lines.
 */
#ifndef LOGSCAN_NO_NAPI
#include <node_api.h>
#endif
#include <math.h>
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/*
 * One line's record in the output: its slots, in the order of Slot in src/core/logs/native.ts
 * (a test reads both declarations and holds them equal). Every slot means the same for every
 * kind of line: NaN (or 0 for counts) where the line says nothing.
 */
enum { R_START, R_END, R_KIND, R_TIME, R_ERROR, R_RECORDS, R_FAILED, R_LATENCY, R_LAG, R_MPS, R_CONFIDENCE, R_OUTCOME, R_HASH_A, R_HASH_B, STRIDE };
/* The kinds of line, as NativeKind in src/core/logs/native.ts. */
enum { K_JS = 0, K_KAFKA = 1, K_ML = 2, K_BLANK = 3, K_AIRFLOW = 4, K_PYTHON = 5 };
enum { T_ABSENT = 0, T_STRING, T_ESCAPED, T_NUMBER, T_TRUE, T_FALSE, T_NULL, T_OBJECT, T_ARRAY };
enum { F_TIMESTAMP = 0, F_LEVEL, F_LAG, F_TOPIC, F_PARTITION, F_GROUP, F_LATENCY, F_MPS, F_BATCH, F_SERVICE, F_MODEL, F_PREDICTION, F_CONFIDENCE, F_LOGGER, F_MESSAGE, F_DAG, F_TASK, NFIELDS };
static const char *NAMES[NFIELDS] = { "timestamp", "level", "consumer_lag", "topic", "partition", "consumer_group", "latency_ms",
                                      "messages_per_second", "batch_size", "service", "model_version", "prediction_id", "confidence", "logger", "message", "dag_id", "task_id" };
static size_t NAME_LEN[NFIELDS];
static uint8_t SPACE[256];
static uint8_t NUMCHAR[256];
/* The field a key can be, by its length and first byte, or -1. No two names share both (a
 * test reads every name through both scanners, so a clash would show). */
#define KEY_LEN_MAX 24
static int8_t KEY_INDEX[KEY_LEN_MAX][128];

static void init_message_classes(void);
static void init_phrases(void);
static void init_names(void) {
  init_message_classes();
  init_phrases();
  SPACE[' '] = SPACE['\t'] = SPACE['\r'] = SPACE['\n'] = 1;
  for (int c = '0'; c <= '9'; c++) NUMCHAR[c] = 1;
  NUMCHAR['.'] = NUMCHAR['e'] = NUMCHAR['E'] = NUMCHAR['+'] = NUMCHAR['-'] = 1;
  memset(KEY_INDEX, -1, sizeof KEY_INDEX);
  for (int k = 0; k < NFIELDS; k++) KEY_INDEX[strlen(NAMES[k])][(uint8_t)NAMES[k][0]] = (int8_t)k;
  for (int k = 0; k < NFIELDS; k++) NAME_LEN[k] = strlen(NAMES[k]);
}

typedef struct { int type; int64_t s, e; } Field;

#define is_space(c) (SPACE[(uint8_t)(c)])

/* The closing quote of a string whose content starts at i: the first '"' not escaped by an odd run of backslashes; -1 if none. */
/*
 * The closing quote of a string whose content starts at i (-1 if none), skipping escaped
 * characters; *escaped says whether the string holds a backslash. 16 bytes at a time with SSE2.
 */
static int64_t closing_quote(const uint8_t *b, int64_t i, int64_t to, int *escaped) {
#ifdef __SSE2__
  const __m128i quote = _mm_set1_epi8('"'), bsl = _mm_set1_epi8('\\');
  while (i + 16 <= to) {
    __m128i v = _mm_loadu_si128((const __m128i *)(b + i));
    int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bsl)));
    if (!m) { i += 16; continue; }
    int64_t at = i + __builtin_ctz((unsigned)m);
    if (b[at] == '"') return at;
    *escaped = 1;
    i = at + 2;
  }
#endif
  while (i < to) {
    if (b[i] == '"') return i;
    if (b[i] == '\\') { *escaped = 1; i += 2; continue; }
    i++;
  }
  return -1;
}

static int64_t skip_nested(const uint8_t *b, int64_t i, int64_t to) {
  int depth = 0;
  while (i < to) {
    uint8_t c = b[i];
    if (c == '"') {
      i++;
      while (i < to && b[i] != '"') i += b[i] == '\\' ? 2 : 1;
      if (i >= to) return -1;
    } else if (c == '{' || c == '[') depth++;
    else if (c == '}' || c == ']') {
      depth--;
      if (depth == 0) return i + 1;
      if (depth < 0) return -1;
    }
    i++;
  }
  return -1;
}

static int literal(const uint8_t *b, int64_t i, int64_t to, const char *w, int64_t n) {
  return i + n <= to && memcmp(b + i, w, (size_t)n) == 0;
}

/* JsonFieldScanner.scan: 1 when buf[i, to) is one JSON object; fields hold the known keys (last occurrence wins). */
static int scan_object(const uint8_t *b, int64_t i, int64_t to, Field *f) {
  for (int k = 0; k < NFIELDS; k++) f[k].type = T_ABSENT;
  while (i < to && is_space(b[i])) i++;
  if (i >= to || b[i] != '{') return 0;
  i++;
  while (i < to && is_space(b[i])) i++;
  if (i < to && b[i] == '}') { i++; goto finish; }
  for (;;) {
    if (i >= to || b[i] != '"') return 0;
    int64_t ks = i + 1;
    int key_escaped = 0;
    i = closing_quote(b, ks, to, &key_escaped);
    if (i < 0) return 0;
    int64_t ke = i;
    i++;
    while (i < to && is_space(b[i])) i++;
    if (i >= to || b[i] != ':') return 0;
    i++;
    while (i < to && is_space(b[i])) i++;
    if (i >= to) return 0;
    uint8_t c = b[i];
    int64_t vs = i, ve;
    int vt;
    if (c == '"') {
      vs = i + 1;
      int value_escaped = 0;
      i = closing_quote(b, vs, to, &value_escaped);
      if (i < 0) return 0;
      ve = i;
      vt = value_escaped ? T_ESCAPED : T_STRING;
      i++;
    } else if (c == '{' || c == '[') {
      vt = c == '{' ? T_OBJECT : T_ARRAY;
      i = skip_nested(b, i, to);
      if (i < 0) return 0;
      ve = i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      vt = T_NUMBER;
      i++;
      while (i < to && NUMCHAR[b[i]]) i++;
      ve = i;
    } else if (c == 't' && literal(b, i, to, "true", 4)) { vt = T_TRUE; i += 4; ve = i; }
    else if (c == 'f' && literal(b, i, to, "false", 5)) { vt = T_FALSE; i += 5; ve = i; }
    else if (c == 'n' && literal(b, i, to, "null", 4)) { vt = T_NULL; i += 4; ve = i; }
    else return 0;
    /* Keys with escapes are not fields, as in the TypeScript scanner. */
    size_t kl = (size_t)(ke - ks);
    if (!key_escaped && kl < KEY_LEN_MAX && kl > 0) {
      int k = KEY_INDEX[kl][b[ks] & 0x7f];
      if (k >= 0 && b[ks] < 0x80 && memcmp(b + ks, NAMES[k], kl) == 0) {
        f[k].type = vt; f[k].s = vs; f[k].e = ve;
      }
    }
    while (i < to && is_space(b[i])) i++;
    if (i >= to) return 0;
    if (b[i] == ',') {
      i++;
      while (i < to && is_space(b[i])) i++;
      continue;
    }
    if (b[i] == '}') { i++; goto finish; }
    return 0;
  }
finish:
  while (i < to && is_space(b[i])) i++;
  return i >= to;
}

static int has(const Field *f) { return f->type != T_ABSENT && f->type != T_NULL; }

/* parseDecimal's fast path only: [-]digits[.digits] with at most 15 digits; 0 when the TypeScript side must decide. */
static int fast_decimal(const uint8_t *b, int64_t s, int64_t e, double *out) {
  if (s >= e) return 0;
  int64_t i = s;
  int neg = 0;
  if (b[i] == '-') { neg = 1; i++; }
  double ip = 0;
  int digits = 0;
  while (i < e && b[i] >= '0' && b[i] <= '9') { ip = ip * 10 + (b[i] - '0'); digits++; i++; }
  if (digits == 0 || digits > 15) return 0;
  if (i == e) { *out = neg ? -ip : ip; return 1; }
  if (b[i] != '.') return 0;
  i++;
  double frac = 0, scale = 1;
  int fd = 0;
  while (i < e) {
    if (b[i] < '0' || b[i] > '9') return 0;
    frac = frac * 10 + (b[i] - '0'); scale *= 10; fd++; i++;
  }
  if (fd == 0 || digits + fd > 15) return 0;
  double v = (ip * scale + frac) / scale;
  *out = neg ? -v : v;
  return 1;
}

/* An optional number: NaN when absent or null; 0 when the TypeScript side must decide. */
static int opt_number(const uint8_t *b, const Field *f, double *out) {
  if (f->type == T_ABSENT || f->type == T_NULL) { *out = NAN; return 1; }
  if (f->type != T_NUMBER && f->type != T_STRING) return 0;
  return fast_decimal(b, f->s, f->e, out);
}

static double epoch_to_ms(double n) {
  if (!isfinite(n) || n < 0) return NAN;
  if (n < 1e11) return n * 1000;
  if (n < 1e14) return n;
  if (n < 1e17) return n / 1000;
  return n / 1e6;
}

static int digits_at(const uint8_t *b, int64_t i, int n) {
  int v = 0;
  for (int k = 0; k < n; k++) {
    int d = b[i + k] - '0';
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

static double floor_div(double a, double b) { return floor(a / b); }

static double days_from_civil(double y, double m, double d) {
  y -= m <= 2 ? 1 : 0;
  double era = floor_div(y, 400);
  double yoe = y - era * 400;
  double doy = floor_div(153 * (m + (m > 2 ? -3 : 9)) + 2, 5) + d - 1;
  double doe = yoe * 365 + floor_div(yoe, 4) - floor_div(yoe, 100) + doy;
  return era * 146097 + doe - 719468;
}

static const int DAYS_IN_MONTH[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

/* parseTimestampBytes (src/core/logs/timestamp.ts), operation for operation. */
static double parse_timestamp(const uint8_t *b, int64_t s, int64_t e) {
  if (e - s < 1) return NAN;
  uint8_t first = b[s];
  if (e - s < 10 || b[s + 4] != '-') {
    if (first < '0' || first > '9') return NAN;
    double v = 0;
    int64_t i = s;
    while (i < e && b[i] >= '0' && b[i] <= '9') v = v * 10 + (b[i++] - '0');
    if (i < e) {
      if (b[i] != '.') return NAN;
      double scale = 0.1;
      i++;
      while (i < e && b[i] >= '0' && b[i] <= '9') { v += (b[i++] - '0') * scale; scale /= 10; }
      if (i < e) return NAN;
    }
    return epoch_to_ms(v);
  }
  /* Consecutive lines mostly share the date: its days are computed once per date. */
  static _Thread_local uint8_t cached_date[10];
  static _Thread_local double cached_ms = NAN;
  double ms;
  if (!isnan(cached_ms) && b[s + 9] == cached_date[9] && b[s + 8] == cached_date[8] && memcmp(cached_date, b + s, 10) == 0) ms = cached_ms;
  else {
    int year = digits_at(b, s, 4), month = digits_at(b, s + 5, 2), day = digits_at(b, s + 8, 2);
    if (year < 0 || b[s + 7] != '-' || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month]) return NAN;
    ms = days_from_civil(year, month, day) * 86400000.0;
    memcpy(cached_date, b + s, 10);
    cached_ms = ms;
  }
  int64_t i = s + 10;
  if (i == e) return ms;
  if (b[i] == ',' && i + 1 < e && b[i + 1] == ' ') i += 2;
  else if (b[i] == 'T' || b[i] == ' ' || b[i] == 't') i++;
  else return NAN;
  if (i + 2 > e) return NAN;
  int hh = digits_at(b, i, 2);
  int mm = (i + 5 <= e && b[i + 2] == ':') ? digits_at(b, i + 3, 2) : -1;
  if (hh < 0 || hh > 23 || mm < 0 || mm > 59) return NAN;
  ms += hh * 3600000.0 + mm * 60000.0;
  i += 5;
  if (i < e && b[i] == ':') {
    if (i + 3 > e) return NAN;
    int ss = digits_at(b, i + 1, 2);
    if (ss < 0 || ss > 60) return NAN;
    ms += ss * 1000.0;
    i += 3;
    if (i < e && (b[i] == '.' || b[i] == ',')) {
      i++;
      double scale = 100;
      int64_t fs = i;
      while (i < e && b[i] >= '0' && b[i] <= '9') { ms += (b[i] - '0') * scale; scale /= 10; i++; }
      if (i == fs) return NAN;
    }
  }
  if (i == e) return ms;
  if (b[i] == ' ') i++;
  if (i == e) return NAN;
  uint8_t z = b[i];
  if ((z == 'Z' || z == 'z') && i + 1 == e) return ms;
  if (z == 'U' && e - i == 3 && b[i + 1] == 'T' && b[i + 2] == 'C') return ms;
  if (z == 'G' && e - i == 3 && b[i + 1] == 'M' && b[i + 2] == 'T') return ms;
  if (z == '+' || z == '-') {
    if (e - i < 3) return NAN;
    int oh = digits_at(b, i + 1, 2), om;
    if (e - i == 6 && b[i + 3] == ':') om = digits_at(b, i + 4, 2);
    else if (e - i == 5) om = digits_at(b, i + 3, 2);
    else if (e - i == 3) om = 0;
    else return NAN;
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NAN;
    double offset = (oh * 60 + om) * 60000.0;
    return z == '+' ? ms - offset : ms + offset;
  }
  return NAN;
}

static int timestamp_of(const uint8_t *b, const Field *f, double *out) {
  double ms;
  if (f->type == T_NUMBER) {
    double n;
    if (!fast_decimal(b, f->s, f->e, &n)) return 0;
    ms = epoch_to_ms(n);
  } else if (f->type == T_STRING) ms = parse_timestamp(b, f->s, f->e);
  else return 0;
  if (isnan(ms)) return 0;
  *out = ms;
  return 1;
}

static int ieq(const uint8_t *b, int64_t s, const char *w, int n) {
  for (int k = 0; k < n; k++) if ((b[s + k] | 0x20) != w[k]) return 0;
  return 1;
}

static int error_level(const uint8_t *b, const Field *f) {
  if (f->type != T_STRING) return 0;
  int64_t n = f->e - f->s;
  return (n == 5 && ieq(b, f->s, "error", 5)) || (n == 8 && ieq(b, f->s, "critical", 8)) || (n == 5 && ieq(b, f->s, "fatal", 5));
}

/* Two independent 32-bit hashes over the group's label bytes, 0x01 between labels. */
typedef struct { uint32_t a, b; } Hash;
static void mix(Hash *h, uint64_t w) {
  uint64_t x = (w ^ h->a) * 0x9E3779B97F4A7C15ull;
  uint64_t y = (w + h->b) * 0xC2B2AE3D27D4EB4Full;
  h->a = (uint32_t)(x >> 32) ^ (uint32_t)x;
  h->b = (uint32_t)(y >> 29) ^ (uint32_t)(y >> 3);
}

static void hash_bytes(Hash *h, const uint8_t *p, int64_t s, int64_t e) {
  int64_t i = s;
  for (; i + 8 <= e; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    mix(h, w);
  }
  uint64_t last = 0;
  memcpy(&last, p + i, (size_t)(e - i));
  /* The length closes each label, so label boundaries are part of the hash. */
  mix(h, last ^ ((uint64_t)(e - s) << 56) ^ 0x0100000000000000ull);
}

/* A label for the group: a string without escapes or a number; 0 when the TypeScript side must decide. */
static int label_ok(const Field *f, int required) {
  if (f->type == T_STRING || f->type == T_NUMBER) return 1;
  if (f->type == T_ABSENT || f->type == T_NULL) return !required;
  return 0;
}

static void label_hash(Hash *h, const uint8_t *b, const Field *f) {
  if (f->type == T_STRING || f->type == T_NUMBER) hash_bytes(h, b, f->s, f->e);
  else hash_bytes(h, b, 0, 0);
}

/* ---- Airflow: key=value pairs in messages, by the rules of forEachKeyValue (formats.ts), for ASCII text. */

/* Byte classes for messages: word characters, key starts, and what ends an unquoted value. */
enum { M_WORD = 1, M_KEYSTART = 2, M_VALUE_END = 4, M_SPACE = 8 };
static uint8_t MSG[256];
static void init_message_classes(void) {
  for (int c = 0; c < 256; c++) {
    int word = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
    int start = word && !(c >= '0' && c <= '9');
    int space = c == ' ' || (c >= 0x09 && c <= 0x0d);
    MSG[c] = (uint8_t)((word ? M_WORD : 0) | (start ? M_KEYSTART : 0) | (space || c == ',' || c == ';' ? M_VALUE_END : 0) | (space ? M_SPACE : 0));
  }
}
static int ascii_space(uint8_t c) { return MSG[c] & M_SPACE; }
static int has_high(const uint8_t *b, int64_t s, int64_t e) {
  int64_t i = s;
  for (; i + 8 <= e; i += 8) {
    uint64_t w;
    memcpy(&w, b + i, 8);
    if (w & 0x8080808080808080ull) return 1;
  }
  for (; i < e; i++) if (b[i] >= 0x80) return 1;
  return 0;
}
static int range_is(const uint8_t *b, int64_t s, int64_t e, const char *w) {
  size_t n = strlen(w);
  return (size_t)(e - s) == n && memcmp(b + s, w, n) == 0;
}

typedef struct {
  double records, failed, duration;
  int pair_records, pair_failed;   /* a key=value pair gave the fact: phrases for it are ignored */
  int outcome;
  int64_t start_s, start_e, end_s, end_e;   /* start_date, end_date values (last one wins) */
  int64_t dag_s, dag_e, task_s, task_e;     /* first dag_id, task_id values */
} Message;

enum { O_NONE = 0, O_SUCCESS = 1, O_FAILED = 2, O_RETRY = 3 };

static int message_outcome(const uint8_t *b, int64_t s, int64_t e) {
  static const char phrase[] = "Marking task as ";
  const int64_t pl = (int64_t)sizeof phrase - 1;
  for (int64_t i = s; i + pl <= e; i++) {
    const uint8_t *at = memchr(b + i, 'M', (size_t)(e - i));
    if (!at) break;
    i = (int64_t)(at - b);
    if (i + pl > e) break;
    if (memcmp(at, phrase, (size_t)pl) != 0) continue;
    int64_t r = i + pl;
    if (r + 7 <= e && memcmp(b + r, "SUCCESS", 7) == 0) return O_SUCCESS;
    if (r + 6 <= e && memcmp(b + r, "FAILED", 6) == 0) return O_FAILED;
    if (r + 12 <= e && memcmp(b + r, "UP_FOR_RETRY", 12) == 0) return O_RETRY;
  }
  return O_NONE;
}

/* What may close a value in running text (isClosing in message.ts). */
static int closing(uint8_t c) { return c == '.' || c == ')' || c == ']'; }

/* messageNumber: full stops, closing brackets and an "s" dropped, then the fast decimal path; 0 when TypeScript must decide. */
static int message_number(const uint8_t *b, int64_t s, int64_t e, double *out) {
  while (e > s && closing(b[e - 1])) e--;
  if (e > s && b[e - 1] == 's') e--;
  return fast_decimal(b, s, e, out);
}

/* messageDurationMs: "150ms" is milliseconds, else the key's unit (scale ms per unit). */
static int message_duration(const uint8_t *b, int64_t s, int64_t e, double scale, double *out) {
  int64_t e2 = e;
  while (e2 > s && closing(b[e2 - 1])) e2--;
  if (e2 - s >= 2 && b[e2 - 1] == 's' && b[e2 - 2] == 'm') return fast_decimal(b, s, e2 - 2, out);
  if (!message_number(b, s, e, out)) return 0;
  *out *= scale;
  return 1;
}

/* One key=value pair; 0 when TypeScript must decide. */
static int message_pair(const uint8_t *b, int64_t ks, int64_t ke, int64_t vs, int64_t ve, Message *m) {
  double v;
  /* Every key read starts with one of these letters: the others cost one comparison. */
  uint8_t c0 = b[ks];
  if (c0 != 'r' && c0 != 'f' && c0 != 'd' && c0 != 's' && c0 != 'e' && c0 != 't' && c0 != 'l') return 1;
  if (range_is(b, ks, ke, "records_processed") || range_is(b, ks, ke, "rows_processed") || range_is(b, ks, ke, "records") || range_is(b, ks, ke, "rows")) {
    if (!message_number(b, vs, ve, &v)) return 0;
    m->records += v;
    m->pair_records = 1;
  } else if (range_is(b, ks, ke, "records_failed") || range_is(b, ks, ke, "failed_records")) {
    if (!message_number(b, vs, ve, &v)) return 0;
    m->failed += v;
    m->pair_failed = 1;
  } else if (range_is(b, ks, ke, "duration") || range_is(b, ks, ke, "duration_seconds")) {
    if (!message_duration(b, vs, ve, 1000, &v)) return 0;
    m->duration = v;
  } else if (range_is(b, ks, ke, "duration_ms") || range_is(b, ks, ke, "latency_ms") || range_is(b, ks, ke, "took_ms") || range_is(b, ks, ke, "elapsed_ms")) {
    if (!message_duration(b, vs, ve, 1, &v)) return 0;
    m->duration = v;
  } else if (range_is(b, ks, ke, "start_date")) { m->start_s = vs; m->start_e = ve; }
  else if (range_is(b, ks, ke, "end_date")) { m->end_s = vs; m->end_e = ve; }
  else if (range_is(b, ks, ke, "dag_id")) { if (m->dag_s < 0) { m->dag_s = vs; m->dag_e = ve; } }
  else if (range_is(b, ks, ke, "task_id")) { if (m->task_s < 0) { m->task_s = vs; m->task_e = ve; } }
  return 1;
}

static int message_phrases(const uint8_t *b, int64_t s, int64_t e, Message *m, int pair_duration);

static int read_message(const uint8_t *b, int64_t s, int64_t e, Message *m) {
  m->records = 0; m->failed = 0; m->duration = NAN;
  m->pair_records = m->pair_failed = 0;
  m->start_s = m->end_s = m->dag_s = m->task_s = -1;
  m->start_e = m->end_e = m->dag_e = m->task_e = -1;
  m->outcome = message_outcome(b, s, e);
  if (s >= e) return 1;
  if (!memchr(b + s, '=', (size_t)(e - s))) return message_phrases(b, s, e, m, 0);
  int64_t i = s;
  while (i < e) {
    uint8_t cls = MSG[b[i]];
    if (!(cls & M_WORD)) { i++; continue; }
    /* A word: a key only if it starts with a letter or _ at a word boundary; inside a word, no
       position is at a boundary, so the rest of it is skipped at once. */
    if (!(cls & M_KEYSTART) || (i > s && (MSG[b[i - 1]] & M_WORD))) {
      while (i < e && (MSG[b[i]] & M_WORD)) i++;
      continue;
    }
    int64_t j = i + 1;
    while (j < e && ((MSG[b[j]] & M_WORD) || b[j] == '.')) j++;
    if (j >= e || b[j] != '=') { i = j; continue; }
    int64_t v = j + 1;
    uint8_t q = v < e ? b[v] : 0;
    if (q == '"' || q == '\'') {
      const uint8_t *close = v + 1 < e ? memchr(b + v + 1, q, (size_t)(e - v - 1)) : NULL;
      if (close) {
        if (!message_pair(b, i, j, v + 1, (int64_t)(close - b), m)) return 0;
        i = (int64_t)(close - b) + 1;
        continue;
      }
    }
    int64_t k = v;
    while (k < e && !(MSG[b[k]] & M_VALUE_END)) k++;
    if (k == v) { i = j; continue; }
    int64_t vs = v, ve = k;
    if (b[vs] == '"' || b[vs] == '\'') vs++;
    if (ve > vs && (b[ve - 1] == '"' || b[ve - 1] == '\'')) ve--;
    if (!message_pair(b, i, j, vs, ve, m)) return 0;
    i = k;
  }
  return message_phrases(b, s, e, m, !isnan(m->duration));
}

/* ---- Phrases in messages, by the rules of PHRASES in src/core/logs/message.ts (ASCII text). */

/* The words a phrase starts with, by kind; and by first letter, for the scan. */
enum { P_RECORDS = 0, P_FAILED = 1, P_VERB = 2, P_TOOK = 3 };
typedef struct { const char *w; int len; int kind; } PhraseHead;
static PhraseHead HEADS[] = {
  { "records ingested", 0, P_RECORDS }, { "records processed", 0, P_RECORDS }, { "records exported", 0, P_RECORDS }, { "records loaded", 0, P_RECORDS },
  { "records written", 0, P_RECORDS }, { "rows processed", 0, P_RECORDS }, { "rows exported", 0, P_RECORDS }, { "rows loaded", 0, P_RECORDS },
  { "rows inserted", 0, P_RECORDS }, { "rows written", 0, P_RECORDS }, { "duplicates marked", 0, P_RECORDS },
  { "records failed", 0, P_FAILED }, { "failed records", 0, P_FAILED }, { "rows failed", 0, P_FAILED }, { "failed rows", 0, P_FAILED },
  { "processed", 0, P_VERB }, { "ingested", 0, P_VERB }, { "exported", 0, P_VERB }, { "loaded", 0, P_VERB }, { "inserted", 0, P_VERB },
  { "wrote", 0, P_VERB }, { "written", 0, P_VERB },
  { "took", 0, P_TOOK },
};
#define NHEADS ((int)(sizeof HEADS / sizeof HEADS[0]))
/* HEADS in the order they are tried (labels, then verbs, then took: the order of PHRASES' alternatives), by their first two letters. */
static int8_t HEADS_BY_PAIR[26][26][NHEADS + 1];
static const char *const RECORD_NOUNS[] = { "records", "record", "rows", "row", NULL };

static void init_phrases(void) {
  for (int k = 0; k < NHEADS; k++) HEADS[k].len = (int)strlen(HEADS[k].w);
  for (int c = 0; c < 26; c++)
    for (int d = 0; d < 26; d++) {
      int n = 0;
      for (int k = 0; k < NHEADS; k++) if (HEADS[k].w[0] == 'a' + c && HEADS[k].w[1] == 'a' + d) HEADS_BY_PAIR[c][d][n++] = (int8_t)k;
      HEADS_BY_PAIR[c][d][n] = -1;
    }
}

static int is_word(uint8_t c) { return MSG[c] & M_WORD; }
static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static int is_letter(uint8_t c) { return ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }

/* The ASCII-case-insensitive word w (n bytes) at b[i, e)? Its length, or 0. */
static int64_t word_at(const uint8_t *b, int64_t i, int64_t e, const char *w, int64_t n) {
  if (i + n > e) return 0;
  for (int64_t k = 0; k < n; k++) {
    uint8_t c = b[i + k];
    if (c >= 'A' && c <= 'Z') c |= 0x20;
    if (c != (uint8_t)w[k]) return 0;
  }
  return n;
}

/* \d+(\.\d+)? at i: its end, or -1. */
static int64_t number_end(const uint8_t *b, int64_t i, int64_t e) {
  if (i >= e || !is_digit(b[i])) return -1;
  while (i < e && is_digit(b[i])) i++;
  if (i + 1 < e && b[i] == '.' && is_digit(b[i + 1])) {
    i += 2;
    while (i < e && is_digit(b[i])) i++;
  }
  return i;
}

/* (?!\.?[A-Za-z0-9_]) at i */
static int number_may_end(const uint8_t *b, int64_t i, int64_t e) {
  if (i >= e) return 1;
  if (is_word(b[i])) return 0;
  if (b[i] == '.' && i + 1 < e && is_word(b[i + 1])) return 0;
  return 1;
}

/*
 * A phrase at i: its end (>i) with its fact added to the sums, 0 when none starts here, -1 when a
 * number is beyond the fast path (TypeScript decides).
 */
static int64_t phrase_at(const uint8_t *b, int64_t i, int64_t e, double *recs, double *failed, double *duration, int *has_duration) {
  double v;
  const int8_t *heads = HEADS_BY_PAIR[(b[i] | 0x20) - 'a'][(b[i + 1] | 0x20) - 'a'];
  for (int h = 0; heads[h] >= 0; h++) {
    const PhraseHead *ph = &HEADS[heads[h]];
    if (ph->kind == P_RECORDS || ph->kind == P_FAILED) {
      int64_t n = word_at(b, i, e, ph->w, ph->len);
      if (!n) continue;
      int64_t p = i + n;
      if (p >= e || b[p] != ':') continue;
      p++;
      if (p < e && b[p] == ' ' && p + 1 < e && is_digit(b[p + 1])) p++;
      int64_t ne = number_end(b, p, e);
      if (ne < 0 || !number_may_end(b, ne, e)) continue;
      if (!fast_decimal(b, p, ne, &v)) return -1;
      if (ph->kind == P_RECORDS) *recs += v; else *failed += v;
      return ne;
    }
  }
  for (int h = 0; heads[h] >= 0; h++) {
    const PhraseHead *ph = &HEADS[heads[h]];
    if (ph->kind != P_VERB) continue;
    int64_t n = word_at(b, i, e, ph->w, ph->len);
    if (!n) continue;
    int64_t p = i + n;
    if (p >= e || b[p] != ' ') continue;
    int64_t ne = number_end(b, p + 1, e);
    if (ne < 0 || ne >= e || b[ne] != ' ') continue;
    int64_t ws = ne + 1, we = ws;
    while (we < e && is_letter(b[we])) we++;
    if (we < e && is_word(b[we])) continue;
    int noun = 0;
    for (int q = 0; RECORD_NOUNS[q]; q++) if (word_at(b, ws, we, RECORD_NOUNS[q], (int)strlen(RECORD_NOUNS[q])) == we - ws) noun = 1;
    if (!noun || we == ws) continue;
    if (!fast_decimal(b, p + 1, ne, &v)) return -1;
    *recs += v;
    return we;
  }
  if ((b[i] | 0x20) == 't' && word_at(b, i, e, "took", 4) && i + 4 < e && b[i + 4] == ' ') {
    int64_t ns = i + 5;
    int64_t ne = number_end(b, ns, e);
    if (ne >= 0) {
      int64_t ws = ne;
      if (ws < e && b[ws] == ' ') ws++;
      int64_t we = ws;
      while (we < e && is_letter(b[we])) we++;
      /* "took 5 " then no letters: with the space given back, still no letters */
      if (we > ws && !(we < e && is_word(b[we]))) {
        double unit = 0;
        int64_t wl = we - ws;
        if (word_at(b, ws, we, "ms", 2) == wl) unit = 1;
        else if (word_at(b, ws, we, "s", 1) == wl || word_at(b, ws, we, "sec", 3) == wl || word_at(b, ws, we, "secs", 4) == wl || word_at(b, ws, we, "second", 6) == wl || word_at(b, ws, we, "seconds", 7) == wl) unit = 1000;
        if (unit > 0) {
          if (!fast_decimal(b, ns, ne, &v)) return -1;
          *duration = v * unit;
          *has_duration = 1;
        }
        return we;
      }
    }
  }
  return 0;
}

/*
 * Every phrase holds a digit right after a space or a colon (its number) at most PHRASE_REACH
 * bytes after the phrase's start. So only the bytes before such an anchor are looked at: most
 * messages have few or none, and the rest of the message costs one table lookup a byte.
 */
#define PHRASE_REACH 20
static int64_t next_anchor(const uint8_t *b, int64_t from, int64_t s, int64_t e) {
  if (from <= s) from = s + 1;
  int64_t d = from;
#ifdef __SSE2__
  /* 16 positions at a time: a digit whose previous byte is a space or a colon. */
  const __m128i zero = _mm_set1_epi8('0'), span = _mm_set1_epi8(9), space = _mm_set1_epi8(' '), colon = _mm_set1_epi8(':');
  for (; d + 16 <= e; d += 16) {
    __m128i v = _mm_loadu_si128((const __m128i *)(b + d));
    __m128i p = _mm_loadu_si128((const __m128i *)(b + d - 1));
    /* v - '0' <= 9 unsigned: a digit */
    __m128i off = _mm_sub_epi8(v, zero);
    __m128i digit = _mm_cmpeq_epi8(_mm_min_epu8(off, span), off);
    __m128i after = _mm_or_si128(_mm_cmpeq_epi8(p, space), _mm_cmpeq_epi8(p, colon));
    int mask = _mm_movemask_epi8(_mm_and_si128(digit, after));
    if (mask) return d + __builtin_ctz((unsigned)mask);
  }
#endif
  for (; d < e; d++)
    if (is_digit(b[d]) && (b[d - 1] == ' ' || b[d - 1] == ':')) return d;
  return e;
}

static int message_phrases(const uint8_t *b, int64_t s, int64_t e, Message *m, int pair_duration) {
  double recs = 0, failed = 0, duration = NAN;
  int has_duration = 0;
  int64_t i = s;
  for (int64_t a = next_anchor(b, s, s, e); a < e; a = next_anchor(b, i > a ? i : a + 1, s, e)) {
    if (i < a - PHRASE_REACH) i = a - PHRASE_REACH;
    while (i < a) {
      if (!is_letter(b[i]) || (i > s && is_word(b[i - 1]))) { i++; continue; }
      /* Only words starting with a phrase's first two letters are looked at; inside a word no phrase starts. */
      if (i + 1 < e && is_letter(b[i + 1]) && HEADS_BY_PAIR[(b[i] | 0x20) - 'a'][(b[i + 1] | 0x20) - 'a'][0] >= 0) {
        int64_t end = phrase_at(b, i, e, &recs, &failed, &duration, &has_duration);
        if (end < 0) return 0;
        if (end > 0) { i = end; continue; }
      }
      while (i < e && is_word(b[i])) i++;
    }
  }
  if (!m->pair_records) m->records += recs;
  if (!m->pair_failed) m->failed += failed;
  if (!pair_duration && has_duration) m->duration = duration;
  return 1;
}

/* airflowTime: 20240115T103000, or an ISO time (trimmed); NaN when neither. */
static double airflow_time(const uint8_t *b, int64_t s, int64_t e) {
  if (e - s == 15 && b[s + 8] == 'T') {
    int ok = 1;
    for (int k = 0; k < 15; k++) if (k != 8 && (b[s + k] < '0' || b[s + k] > '9')) ok = 0;
    if (ok) {
      int y = digits_at(b, s, 4), mo = digits_at(b, s + 4, 2), d = digits_at(b, s + 6, 2);
      int h = digits_at(b, s + 9, 2), mi = digits_at(b, s + 11, 2), sec = digits_at(b, s + 13, 2);
      if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return NAN;
      return days_from_civil(y, mo, d) * 86400000.0 + h * 3600000.0 + mi * 60000.0 + sec * 1000.0;
    }
  }
  while (s < e && ascii_space(b[s])) s++;
  while (e > s && ascii_space(b[e - 1])) e--;
  return parse_timestamp(b, s, e);
}

static void finish_airflow(const uint8_t *b, const Message *m, double *rec) {
  double duration = m->duration;
  if (m->outcome != O_NONE && isnan(duration) && m->start_s >= 0 && m->end_s >= 0 && m->start_e > m->start_s && m->end_e > m->end_s) {
    double d = airflow_time(b, m->end_s, m->end_e) - airflow_time(b, m->start_s, m->start_e);
    if (isfinite(d) && d >= 0) duration = d;
  }
  rec[R_OUTCOME] = m->outcome;
  rec[R_LATENCY] = duration;
  rec[R_FAILED] = m->failed;
  rec[R_RECORDS] = m->records;
}

/* Slots a kind of line leaves without a value. */
static void no_values(double *rec) {
  rec[R_RECORDS] = 0;
  rec[R_FAILED] = 0;
  rec[R_LATENCY] = NAN;
  rec[R_LAG] = NAN;
  rec[R_MPS] = NAN;
  rec[R_CONFIDENCE] = NAN;
  rec[R_OUTCOME] = O_NONE;
}

static int error_level_at(const uint8_t *b, int64_t s, int64_t n) {
  return (n == 5 && ieq(b, s, "error", 5)) || (n == 8 && ieq(b, s, "critical", 8)) || (n == 5 && ieq(b, s, "fatal", 5));
}

/* ---- Python logging's stock layouts, by the rules of pythonLineShape (src/core/logs/python.ts), ASCII only. */

static int64_t asctime_end(const uint8_t *b, int64_t s, int64_t e) {
  static const int DIGITS[] = { 0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18 };
  if (e - s < 19) return -1;
  for (int k = 0; k < 14; k++) if (!is_digit(b[s + DIGITS[k]])) return -1;
  if (b[s + 4] != '-' || b[s + 7] != '-' || b[s + 13] != ':' || b[s + 16] != ':' || (b[s + 10] != ' ' && b[s + 10] != 'T')) return -1;
  int64_t i = s + 19;
  if (i + 1 < e && (b[i] == ',' || b[i] == '.') && is_digit(b[i + 1])) {
    i += 2;
    while (i < e && is_digit(b[i])) i++;
  }
  return i;
}

static int64_t logger_end(const uint8_t *b, int64_t i, int64_t e, int stop) {
  int64_t from = i;
  while (i < e && b[i] != ' ' && b[i] != '\t' && b[i] != stop) i++;
  return i > from ? i : -1;
}

static int python_line(const uint8_t *b, int64_t s, int64_t e, double *rec) {
  int64_t t = asctime_end(b, s, e);
  if (t < 0) return K_JS;
  int64_t ns, ne, ls, le, ms;
  if (t + 3 <= e && b[t] == ' ' && b[t + 1] == '-' && b[t + 2] == ' ') {
    ns = t + 3;
    ne = logger_end(b, ns, e, -1);
    if (ne < 0 || ne + 3 > e || b[ne] != ' ' || b[ne + 1] != '-' || b[ne + 2] != ' ') return K_JS;
    ls = ne + 3;
    le = ls;
    while (le < e && is_letter(b[le])) le++;
    if (le == ls) return K_JS;
    if (le + 2 == e && b[le] == ' ' && b[le + 1] == '-') ms = e;
    else if (le + 3 <= e && b[le] == ' ' && b[le + 1] == '-' && b[le + 2] == ' ') ms = le + 3;
    else return K_JS;
  } else if (t < e && b[t] == ' ') {
    ls = t + 1;
    le = ls;
    while (le < e && is_letter(b[le])) le++;
    if (le == ls || le >= e || b[le] != ' ') return K_JS;
    ns = le + 1;
    ne = logger_end(b, ns, e, ':');
    if (ne < 0 || ne >= e || b[ne] != ':') return K_JS;
    if (ne + 1 == e) ms = e;
    else if (b[ne + 1] == ' ') ms = ne + 2;
    else return K_JS;
  } else return K_JS;
  if (has_high(b, s, e)) return K_JS;
  double ts = parse_timestamp(b, s, t);
  if (isnan(ts)) return K_JS;
  Message m;
  if (!read_message(b, ms, e, &m)) return K_JS;
  no_values(rec);
  rec[R_TIME] = ts;
  rec[R_ERROR] = error_level_at(b, ls, le - ls);
  rec[R_RECORDS] = m.records;
  rec[R_FAILED] = m.failed;
  rec[R_LATENCY] = m.duration;
  Hash h = { 2166136261u, 0x9747b28cu };
  hash_bytes(&h, b, ns, ne);
  rec[R_HASH_A] = h.a;
  rec[R_HASH_B] = h.b;
  return K_PYTHON;
}

/* Airflow's plain-text task log line "[time] {file:line} LEVEL - message", ASCII only. */
static int airflow_text(const uint8_t *b, int64_t s, int64_t e, double *rec) {
  if (has_high(b, s, e)) return K_JS;
  const uint8_t *close = memchr(b + s + 1, ']', (size_t)(e - s - 1));
  if (!close || close == b + s + 1) return K_JS;
  int64_t ce = (int64_t)(close - b);
  int64_t p = ce + 1;
  if (p >= e || !ascii_space(b[p])) return K_JS;
  while (p < e && ascii_space(b[p])) p++;
  if (p >= e || b[p] != '{') return K_JS;
  const uint8_t *brace = memchr(b + p, '}', (size_t)(e - p));
  if (!brace) return K_JS;
  p = (int64_t)(brace - b) + 1;
  if (p >= e || !ascii_space(b[p])) return K_JS;
  while (p < e && ascii_space(b[p])) p++;
  int64_t ls = p;
  while (p < e && ((b[p] | 0x20) >= 'a' && (b[p] | 0x20) <= 'z')) p++;
  int64_t le = p;
  if (le == ls || p >= e || !ascii_space(b[p])) return K_JS;
  while (p < e && ascii_space(b[p])) p++;
  if (p >= e || b[p] != '-') return K_JS;
  p++;
  if (p < e && ascii_space(b[p])) p++;
  int64_t ts_s = s + 1, ts_e = ce;
  while (ts_s < ts_e && ascii_space(b[ts_s])) ts_s++;
  while (ts_e > ts_s && ascii_space(b[ts_e - 1])) ts_e--;
  double ts = parse_timestamp(b, ts_s, ts_e);
  if (isnan(ts)) return K_JS;
  Message m;
  if (!read_message(b, p, e, &m)) return K_JS;
  if (m.dag_s < 0 || m.dag_e == m.dag_s || m.task_s < 0 || m.task_e == m.task_s) return K_JS;
  no_values(rec);
  rec[R_TIME] = ts;
  rec[R_ERROR] = error_level_at(b, ls, le - ls);
  finish_airflow(b, &m, rec);
  Hash h = { 2166136261u, 0x9747b28cu };
  hash_bytes(&h, b, m.dag_s, m.dag_e);
  hash_bytes(&h, b, m.task_s, m.task_e);
  rec[R_HASH_A] = h.a;
  rec[R_HASH_B] = h.b;
  return K_AIRFLOW;
}

/* One line: fills the record's slots after R_KIND and returns its kind. */
static int scan_line(const uint8_t *b, int64_t s, int64_t e, double *rec) {
  while (s < e && (b[s] == ' ' || b[s] == '\t')) s++;
  while (e > s && (b[e - 1] == '\r' || b[e - 1] == ' ' || b[e - 1] == '\t')) e--;
  if (s == e) return K_BLANK;
  if (b[s] == '[') return airflow_text(b, s, e, rec);
  if (b[s] >= '0' && b[s] <= '9') return python_line(b, s, e, rec);
  if (b[s] != '{') return K_JS;
  Field f[NFIELDS];
  if (!scan_object(b, s, e, f)) return K_JS;
  double ts, lag, latency, mps, extra;
  Hash h = { 2166136261u, 0x9747b28cu };
  int kind;
  if (has(&f[F_LAG]) || has(&f[F_GROUP])) {
    kind = K_KAFKA;
    if (!timestamp_of(b, &f[F_TIMESTAMP], &ts)) return K_JS;
    if (!label_ok(&f[F_TOPIC], 1) || !label_ok(&f[F_PARTITION], 1) || !label_ok(&f[F_GROUP], 1)) return K_JS;
    if (!opt_number(b, &f[F_LAG], &lag) || !opt_number(b, &f[F_LATENCY], &latency) || !opt_number(b, &f[F_MPS], &mps) || !opt_number(b, &f[F_BATCH], &extra)) return K_JS;
    label_hash(&h, b, &f[F_TOPIC]);
    label_hash(&h, b, &f[F_PARTITION]);
    label_hash(&h, b, &f[F_GROUP]);
  } else if (has(&f[F_CONFIDENCE]) || has(&f[F_MODEL]) || has(&f[F_PREDICTION])) {
    kind = K_ML;
    if (!timestamp_of(b, &f[F_TIMESTAMP], &ts)) return K_JS;
    if (!label_ok(&f[F_MODEL], 1) || !label_ok(&f[F_SERVICE], 0)) return K_JS;
    if (!opt_number(b, &f[F_CONFIDENCE], &extra) || !opt_number(b, &f[F_LATENCY], &latency)) return K_JS;
    if (extra < 0 || extra > 1) return K_JS;
    lag = NAN;
    mps = NAN;
    label_hash(&h, b, &f[F_SERVICE]);
    label_hash(&h, b, &f[F_MODEL]);
  } else if (has(&f[F_DAG]) || (has(&f[F_LOGGER]) && has(&f[F_MESSAGE]))) {
    if (!timestamp_of(b, &f[F_TIMESTAMP], &ts)) return K_JS;
    /* Without dag_id or task_id the group comes from the file's path, which only TypeScript knows. */
    if (!label_ok(&f[F_DAG], 1) || !label_ok(&f[F_TASK], 1) || f[F_DAG].e == f[F_DAG].s || f[F_TASK].e == f[F_TASK].s) return K_JS;
    Message m;
    const Field *msg = &f[F_MESSAGE];
    if (msg->type == T_STRING) {
      if (has_high(b, msg->s, msg->e) || !read_message(b, msg->s, msg->e, &m)) return K_JS;
    } else if (msg->type == T_ABSENT || msg->type == T_NULL) {
      static const uint8_t empty[1] = { 0 };
      read_message(empty, 0, 0, &m);
    } else return K_JS;
    no_values(rec);
    rec[R_TIME] = ts;
    rec[R_ERROR] = error_level(b, &f[F_LEVEL]);
    finish_airflow(b, &m, rec);
    label_hash(&h, b, &f[F_DAG]);
    label_hash(&h, b, &f[F_TASK]);
    rec[R_HASH_A] = h.a;
    rec[R_HASH_B] = h.b;
    return K_AIRFLOW;
  } else return K_JS;
  no_values(rec);
  rec[R_TIME] = ts;
  rec[R_ERROR] = error_level(b, &f[F_LEVEL]);
  rec[R_LATENCY] = latency;
  if (kind == K_KAFKA) {
    /* A Kafka line is one message unless it gives its batch size. */
    rec[R_RECORDS] = isnan(extra) ? 1 : extra;
    rec[R_LAG] = lag;
    rec[R_MPS] = mps;
  } else {
    rec[R_RECORDS] = 1;
    rec[R_CONFIDENCE] = extra;
  }
  rec[R_HASH_A] = h.a;
  rec[R_HASH_B] = h.b;
  return kind;
}

#ifndef LOGSCAN_NO_NAPI
/*
 * scanLogChunk(buf, start, limit, out: Float64Array) -> lines written. Lines are buf[start, limit)
 * split at \n; each gets a record of STRIDE doubles in out (the R_ slots above). Stops when out is full:
 * call again from the end of the last line written + 1.
 */
static napi_value scan_log_chunk(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) { napi_throw_type_error(env, NULL, "scanLogChunk needs 4 arguments"); return NULL; }
  void *data; size_t len;
  if (napi_get_buffer_info(env, argv[0], &data, &len) != napi_ok) { napi_throw_type_error(env, NULL, "the first argument must be a Buffer"); return NULL; }
  int64_t start, limit;
  napi_get_value_int64(env, argv[1], &start);
  napi_get_value_int64(env, argv[2], &limit);
  napi_typedarray_type type; size_t outLen; void *outData; napi_value ab; size_t off;
  if (napi_get_typedarray_info(env, argv[3], &type, &outLen, &outData, &ab, &off) != napi_ok || type != napi_float64_array) {
    napi_throw_type_error(env, NULL, "the fourth argument must be a Float64Array");
    return NULL;
  }
  if (limit > (int64_t)len) limit = (int64_t)len;
  const uint8_t *b = data;
  double *out = outData;
  size_t cap = outLen / STRIDE, n = 0;
  int64_t pos = start;
  while (pos < limit && n < cap) {
    const uint8_t *nl = memchr(b + pos, '\n', (size_t)(limit - pos));
    int64_t end = nl ? (int64_t)(nl - b) : limit;
    double *rec = out + n * STRIDE;
    rec[R_START] = (double)pos;
    rec[R_END] = (double)end;
    rec[R_KIND] = scan_line(b, pos, end, rec);
    n++;
    pos = end + 1;
  }
  napi_value result;
  napi_create_uint32(env, (uint32_t)n, &result);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  init_names();
  napi_value fn;
  napi_create_function(env, "scanLogChunk", NAPI_AUTO_LENGTH, scan_log_chunk, NULL, &fn);
  napi_set_named_property(env, exports, "scanLogChunk", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
#endif
