/**
 * ask (issue 5): offline answers end to end, start-up included, with 500 metric names in
 * VictoriaMetrics (target under 300 ms); and the LLM loop's own cost per tool call against a
 * local OpenAI-compatible server that answers at once (target: at most one round trip per call
 * beyond the model's time, i.e. exactly one LLM request per round).
 */
import { startVictoriaMetrics } from '../test/helpers/victoria.js';
import { startFakeOpenAI } from '../test/helpers/openai-server.js';
import { BIN, median, round, saveResult, timed } from './common.js';

export async function benchAsk() {
  const vm = await startVictoriaMetrics();
  try {
    const now = Date.now();
    let body = '';
    for (let i = 0; i < 480; i++) body += `other_metric_${i}_total{job="x"} ${i} ${now - 60_000}\n`;
    for (const check of ['overall', 'null_required']) body += `pipeline_data_quality_score{pipeline_name="orders",environment="prod",check_type="${check}"} 99.5 ${now - 60_000}\n`;
    body += `pipeline_rows_processed_total{pipeline_name="orders",environment="prod",stage="load",data_source="orders"} 0 ${now - 120_000}\npipeline_rows_processed_total{pipeline_name="orders",environment="prod",stage="load",data_source="orders"} 500 ${now - 60_000}\n`;
    await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body });
    await vm.queryWhen('count({__name__=~".+"})', (r) => r.length === 1 && Number(r[0].value[1]) >= 483);
    const env = { ...process.env, CI: 'true', PIPEOBS_VM_URL: vm.url, OPENAI_API_KEY: '' };
    const offline: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = await timed(process.execPath, [BIN, 'ask', '--offline', "What's the current data quality score?"], env);
      if (t.code !== 0) throw new Error(t.stderr);
      offline.push(t.wallSeconds);
    }
    const rounds = 4;
    const llm = await startFakeOpenAI((_req, n) => (n < rounds ? { toolCalls: [{ name: 'instant_query', arguments: JSON.stringify({ query: 'sum(pipeline_rows_processed_total)' }) }] } : { content: 'done' }));
    let llmSeconds = 0;
    let requests = 0;
    try {
      const t = await timed(process.execPath, [BIN, 'ask', 'how many rows?', '-o', 'json'], { ...env, OPENAI_API_KEY: 'sk-bench', OPENAI_BASE_URL: llm.baseURL });
      if (t.code !== 0) throw new Error(t.stderr);
      llmSeconds = t.wallSeconds;
      requests = llm.requests.length;
    } finally {
      await llm.close();
    }
    const result = {
      offline_ms_median: round(1000 * median(offline), 0),
      offline_ms_max: round(1000 * Math.max(...offline), 0),
      metric_names_in_victoriametrics: 483,
      target_offline_ms: 300,
      llm_tool_rounds: rounds,
      llm_requests: requests,
      llm_requests_per_round: round(requests / (rounds + 1), 2),
      llm_end_to_end_ms_with_instant_model: round(1000 * llmSeconds, 0),
    };
    saveResult('ask', result);
    return result;
  } finally {
    await vm.cleanup();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await benchAsk(), null, 2));
}
