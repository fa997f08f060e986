/**
 * Airflow: its task log lines as JSON ({"timestamp", "logger", "level", "message", "dag_id",
 * "task_id"}) and as plain text ("[2024-01-15, 10:30:00 UTC] {taskinstance.py:1345} INFO - …").
 * The group is the DAG and task, from the line or else from the log's path; the numbers are the
 * message's (message.ts), the outcome is "Marking task as SUCCESS|FAILED|UP_FOR_RETRY", and a
 * finished task without a duration gets end_date − start_date. native/logscan.c reads the same
 * lines (airflow_text and scan_line, K_AIRFLOW).
 */
import { Outcome, type FileContext, type LineFacts, type SkipReason } from '../formats.js';
import { column, latencyColumns, pad, type BuiltinFormat, type GenLine } from '../format-view.js';
import { applyMessage, isErrorLevelText, type MessageFacts } from '../message.js';
import { daysFromCivil, parseTimestampText } from '../timestamp.js';

/** Airflow's plain-text task log: "[2024-01-15, 10:30:00 UTC] {taskinstance.py:1345} INFO - message". */
const AIRFLOW_TEXT = /^\[([^\]]+)\]\s+\{[^}]*\}\s+([A-Za-z]+)\s+-\s?(.*)$/s;

/** Airflow's compact dates in task messages: 20240115T103000, or an ISO time. */
export function airflowTime(raw: string): number {
  if (raw.length === 15 && raw.charCodeAt(8) === 0x54 && /^\d{8}T\d{6}$/.test(raw)) {
    const n = (i: number, w: number) => Number(raw.slice(i, i + w));
    const [mo, d, h, mi, sec] = [n(4, 2), n(6, 2), n(9, 2), n(11, 2), n(13, 2)];
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59) return NaN;
    return daysFromCivil(n(0, 4), mo, d) * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000;
  }
  return parseTimestampText(raw);
}

/** "Marking task as SUCCESS|FAILED|UP_FOR_RETRY": the first such phrase in a message. */
export function messageOutcome(message: string): Outcome {
  const phrase = 'Marking task as ';
  for (let at = message.indexOf(phrase); at >= 0; at = message.indexOf(phrase, at + 1)) {
    const rest = at + phrase.length;
    if (message.startsWith('SUCCESS', rest)) return Outcome.success;
    if (message.startsWith('FAILED', rest)) return Outcome.failed;
    if (message.startsWith('UP_FOR_RETRY', rest)) return Outcome.retry;
  }
  return Outcome.none;
}

/** A message's numbers and outcome into facts; null, or mistyped_field with the reason in out.detail. */
export function airflowMessage(message: string, m: MessageFacts, facts: LineFacts, out: { detail: string }): SkipReason | null {
  facts.outcome = messageOutcome(message);
  const bad = applyMessage(message, m, facts);
  if (bad !== '') {
    out.detail = bad;
    return 'mistyped_field';
  }
  if (facts.outcome !== Outcome.none && Number.isNaN(facts.durationMs) && m.start && m.end) {
    const d = airflowTime(m.end) - airflowTime(m.start);
    if (Number.isFinite(d) && d >= 0) facts.durationMs = d;
  }
  return null;
}

const KEY_SEP = '\u0001';

function setTask(facts: LineFacts, dag: string, task: string): void {
  facts.component = 'airflow';
  facts.labels = [dag, task];
  facts.groupKey = dag + KEY_SEP + task;
}

/** A plain-text task log line (starting with "["): null, or why not (out.detail). */
export function readAirflowText(line: string, ctx: FileContext, m: MessageFacts, facts: LineFacts, out: { detail: string }): SkipReason | null {
  const hit = AIRFLOW_TEXT.exec(line);
  if (!hit) {
    out.detail = 'starts with "[" but is not an Airflow task log line ([time] {file:line} LEVEL - message)';
    return 'unknown_format';
  }
  const ts = parseTimestampText(hit[1]);
  if (Number.isNaN(ts)) {
    out.detail = `time ${JSON.stringify(hit[1].slice(0, 60))} is not an ISO 8601 time`;
    return 'bad_timestamp';
  }
  facts.tsMs = ts;
  facts.error = isErrorLevelText(hit[2]);
  const r = airflowMessage(hit[3], m, facts, out);
  setTask(facts, m.dagId || ctx.airflowDagId || '-', m.taskId || ctx.airflowTaskId || '-');
  return r;
}

const DAGS: Array<[string, string[]]> = [
  ['ecommerce_daily_etl', ['extract_orders', 'transform_orders', 'quality_checks', 'load_warehouse']],
  ['customer_sync', ['extract_customers', 'load_crm']],
];

/** A task's line, as JSON or as the plain-text task log: an outcome, a count and duration, or a plain message. */
function generateAirflowLine({ rand, t, ts, isError, level }: GenLine, text: boolean): string {
  const [dag, tasks] = DAGS[Math.floor(rand() * DAGS.length)];
  const task = tasks[Math.floor(rand() * tasks.length)];
  const runId = `scheduled__${ts.slice(0, 10)}T00:00:00+00:00`;
  const kind = rand();
  let message: string;
  let lvl: string = level;
  if (kind < 0.4) {
    const failed = isError;
    const dur = Math.round((20 + rand() * 100) * 10) / 10;
    const start = new Date(t - dur * 1000);
    const compact = (d: Date) => `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
    lvl = failed ? 'ERROR' : 'INFO';
    message = `Marking task as ${failed ? 'FAILED' : 'SUCCESS'}. dag_id=${dag}, task_id=${task}, execution_date=${compact(start)}, start_date=${compact(start)}, end_date=${compact(new Date(t))}`;
  } else if (kind < 0.8) {
    message = `Task completed - records_processed=${Math.floor(1000 + rand() * 20000)} duration=${(5 + rand() * 60).toFixed(1)}`;
  } else {
    message = isError ? 'Task failed with exception: upstream table is empty' : `Executing <Task(PythonOperator): ${task}> on ${ts}`;
  }
  if (!text) return JSON.stringify({ timestamp: ts, logger: 'airflow.task', level: lvl, message, dag_id: dag, task_id: task, run_id: runId, execution_date: `${ts.slice(0, 10)}T00:00:00+00:00` });
  const d = new Date(t);
  return `[${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}, ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC] {taskinstance.py:1345} ${lvl} - ${message.includes('dag_id=') ? message : `${message}, dag_id=${dag}, task_id=${task}`}`;
}

export const AIRFLOW: BuiltinFormat = {
  component: 'airflow',
  groupLabels: ['dag_id', 'task_id'],
  jsonFields: ['timestamp', 'level', 'logger', 'message', 'dag_id', 'task_id'],
  jsonPrecedence: 2,
  generators: { airflow: (g) => generateAirflowLine(g, false), 'airflow-text': (g) => generateAirflowLine(g, true) },
  jsonReader(slotOf) {
    const [timestamp, level, logger, message, dagId, taskId] = this.jsonFields.map(slotOf);
    let m: MessageFacts | null = null;
    return {
      claims: (j) => j.has(dagId) || (j.has(logger) && j.has(message)),
      read(j, ctx) {
        const bad = j.time(timestamp, 'timestamp');
        if (bad) return bad;
        const dag = j.label(dagId, 'dag_id', false);
        const task = j.label(taskId, 'task_id', false);
        if (dag === null || task === null) return 'mistyped_field';
        const text = j.text(message);
        setTask(j.facts, dag || ctx.airflowDagId || '-', task || ctx.airflowTaskId || '-');
        j.facts.error = j.level(level);
        m ??= { records: 0, failedRecords: 0, durationMs: NaN, start: '', end: '', dagId: '', taskId: '', bad: '' };
        return airflowMessage(text, m, j.facts, j);
      },
    };
  },
  textColumns: [
    column('lines', (g) => g.lines), column('records', (g) => g.records), column('err%', (g) => g.error_rate_pct),
    column('success', (g) => g.tasks.success), column('failed', (g) => g.tasks.failed), column('retry', (g) => g.tasks.retry), ...latencyColumns,
  ],
  htmlColumn: column('failed tasks', (g) => g.tasks.failed),
  summary: (c) => `, tasks ${c.tasks.success} ok / ${c.tasks.failed} failed / ${c.tasks.retry} retry`,
  metrics: [
    { name: 'pipeobs_airflow_task_lines_total', kind: 'value', value: (t) => t.lines },
    { name: 'pipeobs_airflow_task_error_lines_total', kind: 'value', value: (t) => t.errors },
    { name: 'pipeobs_airflow_records_processed_total', kind: 'value', value: (t) => t.records },
    { name: 'pipeobs_airflow_task_runs_total', kind: 'outcomes' },
    { name: 'pipeobs_airflow_task_duration_seconds', kind: 'latency' },
  ],
};
