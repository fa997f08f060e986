/** Runs every benchmark and prints the figures the README quotes. Results land in bench/results/. */
import { benchPushInflux } from './push-influx.js';
import { benchRunPipeline } from './run-pipeline.js';
import { benchExportQuery } from './export-query.js';
import { benchAsk } from './ask.js';
import { benchVerify } from './verify.js';
import { benchMonitorLogs } from './monitor-logs.js';
import { benchCheckExec } from './check-exec.js';

const push = await benchPushInflux();
const pipeline = await benchRunPipeline();
const exportQuery = await benchExportQuery();
const ask = await benchAsk();
const verify = await benchVerify();
const monitorLogs = await benchMonitorLogs();
const checkExec = await benchCheckExec();
console.log(JSON.stringify({ push_influx: push, run_pipeline: pipeline, export_query: exportQuery, ask, verify, monitor_logs: monitorLogs, check_exec: checkExec }, null, 2));
