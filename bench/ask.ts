/**
 * ask (issues 5 and 15): offline answers end to end, start-up included, with 1,000 metric names
 * and 50,000 series in VictoriaMetrics (target under 300 ms for every question of a mixed set:
 * counts, percentiles, superlatives, trends, freshness, health, a typo, a refusal); and the LLM
 * loop's own cost per tool call against a
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
    // ~1,000 metric names (980 others and 8 of the catalog), ~50,000 series in all (the others carry most of them).
    const others = 980;
    const perOther = 50;
    let body = '';
    for (let i = 0; i < others; i++) {
      for (let j = 0; j < perOther; j++) body += `other_metric_${i}_total{job="x",instance="host-${j}",region="r${j % 7}"} ${i + j} ${now - 60_000}\n`;
      if (body.length > 4_000_000) {
        await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body });
        body = '';
      }
    }
    const P = (pipeline: string, env: string) => `pipeline_name="${pipeline}",environment="${env}"`;
    for (const [pipeline, env] of [['orders', 'prod'], ['billing', 'staging'], ['customers', 'dev']]) {
      for (const check of ['overall', 'null_required', 'out_of_range']) body += `pipeline_data_quality_score{${P(pipeline, env)},check_type="${check}"} 99.5 ${now - 60_000}\n`;
      for (const stage of ['extract', 'transform', 'quality', 'load']) {
        body += `pipeline_rows_processed_total{${P(pipeline, env)},stage="${stage}",data_source="orders"} 0 ${now - 120_000}\npipeline_rows_processed_total{${P(pipeline, env)},stage="${stage}",data_source="orders"} 500 ${now - 60_000}\n`;
        for (const le of ['0.1', '1', '10', '+Inf']) body += `pipeline_stage_duration_seconds_bucket{${P(pipeline, env)},stage="${stage}",le="${le}"} ${le === '0.1' ? 1 : 3} ${now - 60_000}\n`;
        body += `pipeline_stage_duration_seconds_sum{${P(pipeline, env)},stage="${stage}"} 4.2 ${now - 60_000}\npipeline_stage_duration_seconds_count{${P(pipeline, env)},stage="${stage}"} 3 ${now - 60_000}\n`;
      }
      for (const status of ['success', 'failed']) body += `pipeline_runs_total{${P(pipeline, env)},status="${status}"} 1 ${now - 60_000}\n`;
      body += `pipeline_last_success_timestamp_seconds{${P(pipeline, env)}} ${(now - 90_000) / 1000} ${now - 60_000}\npipeline_data_freshness_seconds{${P(pipeline, env)},data_source="orders"} 30 ${now - 60_000}\n`;
    }
    await fetch(`${vm.url}/api/v1/import/prometheus`, { method: 'POST', body });
    const series = others * perOther;
    await vm.queryWhen('count({__name__=~"other_metric_.+"})', (r) => r.length === 1 && Number(r[0].value[1]) >= series, 120_000);
    const names = await vm.queryWhen('count(count by (__name__) ({__name__=~".+"}))', (r) => r.length === 1 && Number(r[0].value[1]) >= others + 8, 60_000); // the 8 catalog names written above
    const env = { ...process.env, CI: 'true', PIPEOBS_VM_URL: vm.url, OPENAI_API_KEY: '' };
    const QUESTIONS = [
      "What's the current data quality score?",
      'how many rows were processed in the last hour',
      'p95 duration of each stage for billing',
      'which stage is the slowest?',
      'is the data fresh?',
      'is anything wrong?',
      'how many errors for pipeline billng',
      'what is other_metric_17_total by region?',
      'how many unicorns were processed',
    ];
    const offline: number[] = [];
    const perQuestion: Record<string, number> = {};
    for (const q of QUESTIONS) {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = await timed(process.execPath, [BIN, 'ask', '--offline', q], env);
        // A refused question exits 5: that is its answer, not a failure of the benchmark.
        if (t.code !== 0 && t.code !== 5) throw new Error(t.stderr);
        times.push(t.wallSeconds);
      }
      offline.push(...times);
      perQuestion[q] = round(1000 * median(times), 0);
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
      offline_ms_median_per_question: perQuestion,
      metric_names_in_victoriametrics: Number(names[0].value[1]),
      series_in_victoriametrics: series,
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
