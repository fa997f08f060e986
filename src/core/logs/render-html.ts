/**
 * The monitor-logs report as one self-contained HTML page (no CDN, no network): summary cards,
 * records per hour (line chart), latency distribution (box plot of p50/p95/p99 with max), error
 * rate per hour (bars), the share of lines per component, the per-group tables and what was skipped. The
 * charts are SVG drawn in the page from the embedded report (all but its per-row list), so the
 * page shows exactly the JSON output's numbers; every mark carries its value in data-* attributes and a tooltip.
 */
import { viewOf } from './format-table.js';
import type { LogReport } from './report.js';

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);
}

/** JSON that is safe inside <script>: no "</script>", no HTML comment openers, no line separators. */
function scriptJson(doc: unknown): string {
  return JSON.stringify(doc).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const STYLE = `
:root { --fg:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --card:#fff; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); margin: 0; padding: 24px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 10px; }
.sub { color: var(--muted); margin-bottom: 18px; }
.cards { display: grid; grid-template-columns: repeat(4, minmax(160px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .value { font-size: 24px; font-weight: 600; margin-top: 4px; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin-top: 12px; overflow-x: auto; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 8px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th:first-child, td:first-child, th.l, td.l { text-align: left; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
.legend span { margin-right: 14px; font-size: 12px; } .legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
svg text { font-size: 11px; fill: var(--muted); }
.warn { color: #b44d12; }
`;

/** The page script: draws the charts into the placeholders from the embedded report. */
const SCRIPT = String.raw`
(function () {
  var report = JSON.parse(document.getElementById('report-data').textContent);
  var NS = 'http://www.w3.org/2000/svg';
  var COLORS = { airflow: '#017cee', kafka: '#e8590c', ml: '#2f9e44' };
  var palette = ['#7048e8', '#c2255c', '#1098ad', '#5c940d'];
  function color(c, i) { return COLORS[c] || palette[i % palette.length]; }
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function tip(e, text) { var t = el('title', {}, e); t.textContent = text; }
  function fmt(v) { return v === null || v === undefined ? '–' : Number(v).toLocaleString('en-US', { maximumFractionDigits: 2 }); }
  function svgIn(id, w, h) { var box = document.getElementById(id); return el('svg', { viewBox: '0 0 ' + w + ' ' + h, width: '100%', style: 'max-width:' + w + 'px', role: 'img' }, box); }
  // Round ticks: 1, 2, 2.5 or 5 times a power of ten, four steps reaching at least max.
  function niceTop(max) {
    var raw = Math.max(max, 1e-9) / 4, p = Math.pow(10, Math.floor(Math.log10(raw))), f = raw / p;
    var step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
    return step * 4;
  }
  function axes(svg, w, h, m, max, unit) {
    var top = niceTop(max);
    el('line', { x1: m.l, y1: h - m.b, x2: w - m.r, y2: h - m.b, stroke: '#cbd2d9' }, svg);
    for (var i = 0; i <= 4; i++) {
      var y = h - m.b - (i / 4) * (h - m.t - m.b);
      el('line', { x1: m.l, y1: y, x2: w - m.r, y2: y, stroke: '#f0f2f5' }, svg);
      var t = el('text', { x: m.l - 6, y: y + 4, 'text-anchor': 'end', class: 'tick', 'data-value': (top * i) / 4 }, svg); t.textContent = fmt((top * i) / 4) + (i === 4 && unit ? ' ' + unit : '');
    }
    return top;
  }
  var comps = report.components;
  var hourList = comps.length ? comps[0].hours : [];
  var hours = hourList.map(function (h) { return h.hour; });
  // "21 Nov 00h" where the day starts (and first), "03h" elsewhere; a star marks a partial hour.
  var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  function hourText(i) {
    var hr = hours[i], text = hr.slice(11, 13) + 'h';
    if (i === 0 || hr.slice(0, 10) !== hours[i - 1].slice(0, 10)) text = Number(hr.slice(8, 10)) + ' ' + MONTHS[Number(hr.slice(5, 7)) - 1] + ' ' + text;
    return text + (hourList[i].partial ? '*' : '');
  }
  // Hour labels under a chart: at xOf(i), about one per 70 px, kept inside the chart.
  function hourLabels(svg, w, h, m, xOf) {
    var step = Math.max(1, Math.ceil((hours.length * 70) / (w - m.l - m.r)));
    for (var i = 0; i < hours.length; i += step) {
      var x = xOf(i);
      var t = el('text', { x: x, y: h - m.b + 14, 'text-anchor': 'middle', class: 'hour-label', 'data-hour': hours[i] }, svg); t.textContent = hourText(i);
      var b = t.getBBox();
      if (b.x < 0) t.setAttribute('text-anchor', 'start'), t.setAttribute('x', Math.max(0, x - 4));
      else if (b.x + b.width > w) t.setAttribute('text-anchor', 'end'), t.setAttribute('x', Math.min(w, x + 4));
    }
  }
  function shortName(c) { return c.length > 12 ? c.slice(0, 11) + '…' : c; }

  // Records per hour: one small chart per component, each on its own scale.
  (function () {
    var box = document.getElementById('chart-records');
    comps.forEach(function (c, ci) {
      var w = 900, h = 160, m = { l: 80, r: 16, t: 28, b: 24 };
      var holder = document.createElement('div');
      holder.id = 'chart-records-' + c.component;
      box.appendChild(holder);
      var svg = el('svg', { viewBox: '0 0 ' + w + ' ' + h, width: '100%', role: 'img', 'data-component': c.component }, holder);
      var title = el('text', { x: m.l, y: 12, 'font-weight': 600 }, svg); title.textContent = c.component + ' – records per hour';
      var max = 1;
      c.hours.forEach(function (x) { max = Math.max(max, x.records); });
      max = axes(svg, w, h, m, max, '');
      var xOf = function (i) { return m.l + (c.hours.length === 1 ? 0.5 : i / (c.hours.length - 1)) * (w - m.l - m.r); };
      hourLabels(svg, w, h, m, xOf);
      var pts = c.hours.map(function (x, i) { return [xOf(i), h - m.b - (x.records / max) * (h - m.t - m.b), x]; });
      el('polyline', { points: pts.map(function (p) { return p[0].toFixed(1) + ',' + p[1].toFixed(1); }).join(' '), fill: 'none', stroke: color(c.component, ci), 'stroke-width': 2 }, svg);
      pts.forEach(function (p) {
        // A partial hour (the window covers only part of it) is a hollow point: its count is not a whole hour's.
        var partial = p[2].partial;
        var dot = el('circle', { cx: p[0], cy: p[1], r: partial ? 3 : 2.5, fill: partial ? '#fff' : color(c.component, ci), stroke: color(c.component, ci), class: partial ? 'point partial' : 'point', 'data-component': c.component, 'data-hour': p[2].hour, 'data-value': p[2].records, 'data-partial': partial }, svg);
        tip(dot, c.component + ' ' + p[2].hour.slice(0, 13) + 'h: ' + fmt(p[2].records) + ' records' + (partial ? ' (partial hour)' : ''));
      });
    });
  })();

  // Latency distribution: a box from p50 to p95, whisker to p99 and a tick at max, per component (log scale).
  (function () {
    var w = 440, rowH = 46, m = { l: 80, r: 20, t: 10, b: 28 };
    var withLatency = comps.filter(function (c) { return c.latency_ms.count > 0; });
    var h = m.t + m.b + Math.max(1, withLatency.length) * rowH;
    var svg = svgIn('chart-latency', w, h);
    if (!withLatency.length) { var t0 = el('text', { x: m.l, y: m.t + 20 }, svg); t0.textContent = 'no latencies in the window'; return; }
    var lo = Infinity, hi = 0;
    withLatency.forEach(function (c) { lo = Math.min(lo, Math.max(0.01, c.latency_ms.p50)); hi = Math.max(hi, c.latency_ms.max); });
    lo = Math.pow(10, Math.floor(Math.log10(lo))); hi = Math.pow(10, Math.ceil(Math.log10(Math.max(hi, lo * 10))));
    function x(v) { return m.l + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (w - m.l - m.r); }
    for (var d = lo; d <= hi; d *= 10) {
      el('line', { x1: x(d), y1: m.t, x2: x(d), y2: h - m.b, stroke: '#f0f2f5' }, svg);
      var tl = el('text', { x: x(d), y: h - m.b + 14, 'text-anchor': 'middle' }, svg); tl.textContent = d >= 1000 ? fmt(d / 1000) + ' s' : fmt(d) + ' ms';
    }
    withLatency.forEach(function (c, i) {
      var l = c.latency_ms, y = m.t + i * rowH + rowH / 2, col = color(c.component, comps.indexOf(c));
      var g = el('g', { class: 'box', 'data-component': c.component, 'data-p50': l.p50, 'data-p95': l.p95, 'data-p99': l.p99, 'data-max': l.max }, svg);
      tip(g, c.component + ': p50 ' + fmt(l.p50) + ' ms, p95 ' + fmt(l.p95) + ' ms, p99 ' + fmt(l.p99) + ' ms, max ' + fmt(l.max) + ' ms');
      el('line', { x1: x(l.p95), y1: y, x2: x(l.p99), y2: y, stroke: col }, g);
      el('line', { x1: x(l.p99), y1: y - 8, x2: x(l.p99), y2: y + 8, stroke: col }, g);
      el('line', { x1: x(l.max), y1: y - 4, x2: x(l.max), y2: y + 4, stroke: col, 'stroke-dasharray': '2,2' }, g);
      el('rect', { x: x(l.p50), y: y - 12, width: Math.max(2, x(l.p95) - x(l.p50)), height: 24, fill: col, 'fill-opacity': 0.25, stroke: col }, g);
      el('line', { x1: x(l.p50), y1: y - 12, x2: x(l.p50), y2: y + 12, stroke: col, 'stroke-width': 3 }, g);
      var name = el('text', { x: m.l - 8, y: y + 4, 'text-anchor': 'end' }, svg); name.textContent = shortName(c.component);
    });
  })();

  // Error rate per hour: bars per component, side by side in each hour's slot.
  (function () {
    var w = 440, h = 220, m = { l: 50, r: 12, t: 12, b: 24 };
    var svg = svgIn('chart-errors', w, h);
    var max = 0;
    comps.forEach(function (c) { c.hours.forEach(function (x) { if (x.error_rate_pct !== null) max = Math.max(max, x.error_rate_pct); }); });
    max = axes(svg, w, h, m, Math.max(max, 1), '%');
    var slot = (w - m.l - m.r) / Math.max(1, hours.length), bw = Math.max(1, (slot - 2) / Math.max(1, comps.length));
    hourLabels(svg, w, h, m, function (i) { return m.l + (i + 0.5) * slot; });
    comps.forEach(function (c, ci) {
      c.hours.forEach(function (x, i) {
        if (x.error_rate_pct === null) return;
        var bh = (x.error_rate_pct / max) * (h - m.t - m.b);
        var bar = el('rect', { x: m.l + i * slot + 1 + ci * bw, y: h - m.b - bh, width: bw, height: Math.max(0, bh), fill: color(c.component, ci), 'fill-opacity': x.partial ? 0.4 : 1, class: x.partial ? 'error-bar partial' : 'error-bar', 'data-component': c.component, 'data-hour': x.hour, 'data-value': x.error_rate_pct, 'data-partial': x.partial }, svg);
        tip(bar, c.component + ' ' + x.hour.slice(0, 13) + 'h: ' + fmt(x.error_rate_pct) + ' % errors (' + x.errors + ' of ' + x.lines + ' lines)' + (x.partial ? ' (partial hour)' : ''));
      });
    });
  })();

  // Component breakdown: lines with lines (every component's lines are lines; their records are not alike).
  (function () {
    var w = 440, rowH = 34, m = { l: 90, r: 150, t: 8, b: 8 };
    var h = m.t + m.b + Math.max(1, comps.length) * rowH;
    var svg = svgIn('chart-breakdown', w, h);
    var total = comps.reduce(function (a, c) { return a + c.lines; }, 0) || 1;
    comps.forEach(function (c, i) {
      var y = m.t + i * rowH, share = (100 * c.lines) / total, bw = (share / 100) * (w - m.l - m.r);
      var bar = el('rect', { x: m.l, y: y + 6, width: Math.max(1, bw), height: rowH - 12, fill: color(c.component, i), class: 'share-bar', 'data-component': c.component, 'data-lines': c.lines, 'data-share': share.toFixed(1) }, svg);
      tip(bar, c.component + ': ' + fmt(c.lines) + ' of ' + fmt(total) + ' usable lines (' + share.toFixed(1) + ' %)');
      var name = el('text', { x: m.l - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end' }, svg); name.textContent = shortName(c.component);
      var v = el('text', { x: m.l + bw + 6, y: y + rowH / 2 + 4 }, svg); v.textContent = share.toFixed(1) + ' % of lines (' + fmt(c.lines) + ')';
    });
  })();

  function fillLegend(id) {
    var legend = document.getElementById(id);
    comps.forEach(function (c, i) { var s = document.createElement('span'); s.setAttribute('data-component', c.component); s.innerHTML = '<i style="background:' + color(c.component, i) + '"></i>'; s.appendChild(document.createTextNode(c.component)); legend.appendChild(s); });
    if (hourList.some(function (x) { return x.partial; })) {
      var p = document.createElement('span'); p.className = 'partial-note'; p.textContent = '* partial hour (the window covers only part of it): hollow point, pale bar'; legend.appendChild(p);
    }
  }
  fillLegend('legend');
  fillLegend('legend-errors');

  // Whatever a chart drew must lie inside it: anything outside its box would be cut off. The page
  // marks such a chart (data-clipped), and the tests look for the mark in Chromium.
  var clipped = 0;
  Array.prototype.forEach.call(document.querySelectorAll('svg'), function (svg) {
    var vb = svg.viewBox.baseVal, out = [];
    Array.prototype.forEach.call(svg.querySelectorAll('text, rect, circle, line, polyline'), function (e) {
      var b = e.getBBox();
      if (b.x < vb.x - 0.5 || b.y < vb.y - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 || b.y + b.height > vb.y + vb.height + 0.5) out.push(e.tagName + (e.textContent ? ' "' + e.textContent + '"' : ''));
    });
    if (out.length) { svg.setAttribute('data-clipped', out.join('; ')); clipped++; }
  });
  document.body.setAttribute('data-clipped-charts', String(clipped));
  document.body.setAttribute('data-rendered', 'true');
})();
`;

function table(columns: string[], rows: Array<Array<string | number | null | undefined>>, leftCols: number): string {
  const cell = (v: string | number | null | undefined) => (v === null || v === undefined ? '–' : typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 3 }) : escapeHtml(v));
  return `<table><thead><tr>${columns.map((c, i) => `<th${i < leftCols ? ' class="l"' : ''}>${escapeHtml(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((v, i) => `<td${i < leftCols ? ' class="l"' : ''}>${cell(v)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderReportHtml(r: LogReport): string {
  const s = r.summary;
  const fmt = (v: number | null, d = 1) => (v === null ? '–' : v.toLocaleString('en-US', { maximumFractionDigits: d }));
  const cards = [
    ['Total records', fmt(s.total_records, 0), 'total-records'],
    ['Avg latency', s.avg_latency_ms !== null ? `${fmt(s.avg_latency_ms)} ms (${s.latency_components[0]})` : s.latency_components.length > 1 ? 'per component' : '–', 'avg-latency'],
    ['Error rate', s.error_rate_pct === null ? '–' : `${fmt(s.error_rate_pct, 2)} %`, 'error-rate'],
    ['Active components', String(s.active_components.length), 'active-components'],
  ];
  const groupTables = r.components
    .map((c) => {
      const labels = c.group_labels;
      const last = viewOf(c.component).htmlColumn;
      const rows = c.groups.map((g) => [
        ...labels.map((l) => g.group[l]), g.lines, g.records, g.error_rate_pct, g.latency_ms.p50, g.latency_ms.p95, g.latency_ms.p99,
        ...(last ? [last.value(g) as string | number | null] : []),
      ]);
      const l = c.latency_ms;
      const facts = `${c.lines.toLocaleString('en-US')} lines · ${fmt(c.records, 0)} records (${fmt(c.records_per_hour_avg)} per hour)${l.count ? ` · latency mean ${fmt(l.mean)} ms, min ${fmt(l.min)} ms, max ${fmt(l.max)} ms` : ''}`;
      return `<h2>${escapeHtml(c.component)}</h2><div class="sub component-facts" data-component="${escapeHtml(c.component)}" data-records-per-hour="${c.records_per_hour_avg ?? ''}" data-latency-min="${l.min ?? ''}">${escapeHtml(facts)}</div><div class="panel" data-component="${escapeHtml(c.component)}">${table([...labels, 'lines', 'records', 'error %', 'p50 ms', 'p95 ms', 'p99 ms', ...(last ? [last.header] : [])], rows, labels.length)}</div>`;
    })
    .join('\n');
  const skipped = r.skipped.total
    ? `<h2>Skipped lines: ${r.skipped.total.toLocaleString('en-US')}</h2><div class="panel">${table(
        ['reason', 'count', 'first positions'],
        r.skipped.by_reason.map((b) => [b.reason, b.count, b.examples.slice(0, 3).map((e) => `${e.file}:${e.line} (${e.detail})`).join('; ')]),
        1,
      )}</div>`
    : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>pipeobs monitor-logs report ${escapeHtml(r.window.since.slice(0, 16))} – ${escapeHtml(r.window.until.slice(0, 16))}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Pipeline log report</h1>
<div class="sub">${escapeHtml(r.window.since.replace('T', ' ').slice(0, 16))} → ${escapeHtml(r.window.until.replace('T', ' ').slice(0, 16))} UTC (${r.window.hours} h) · ${s.lines_read.toLocaleString('en-US')} lines from ${r.inputs.length} input(s) · generated ${escapeHtml(r.generated_at)}</div>
<div class="cards">${cards.map(([label, value, id]) => `<div class="card" id="card-${id}"><div class="label">${label}</div><div class="value">${escapeHtml(value)}</div></div>`).join('')}</div>
<h2>Records per hour</h2>
<div class="panel"><div class="legend" id="legend"></div><div id="chart-records"></div></div>
<div class="grid2">
<div><h2>Latency distribution (p50–p95 box, p99 whisker, max dashed)</h2><div class="panel" id="chart-latency"></div></div>
<div><h2>Error rate per hour</h2><div class="panel"><div class="legend" id="legend-errors"></div><div id="chart-errors"></div></div></div>
</div>
<h2>Component breakdown: share of usable lines</h2>
<div class="panel" id="chart-breakdown"></div>
${groupTables}
${skipped}
<script type="application/json" id="report-data">${scriptJson({ ...r, rows: undefined })}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
