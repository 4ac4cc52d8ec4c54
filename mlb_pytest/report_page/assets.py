"""The page's inline style sheet and its one script (the item filter), kept out of the section code.

The Content-Security-Policy of the page allows this script by its hash, and nothing else.
"""

CSS = """
:root { --pass: #1a7f37; --fail: #cf222e; --error: #9a6700; --muted: #57606a; --line: #d0d7de;
  --run: #0969da; --base: #8c959f; --bg-soft: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1400px; padding: 1rem 1.5rem 3rem; color: #1f2328; background: #fff;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Noto Sans CJK SC",
  "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
  "WenQuanYi Micro Hei", "Noto Sans CJK JP", sans-serif; }
h1 { font-size: 1.5rem; margin: .5rem 0; } h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--line); }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Noto Sans Mono CJK SC", monospace; font-size: 12.5px; }
.verdict { padding: .75rem 1rem; border-radius: 6px; color: #fff; }
.verdict.pass { background: var(--pass); } .verdict.fail { background: var(--fail); } .verdict.error { background: var(--error); }
.verdict .word { font-size: 1.4rem; font-weight: 700; margin-right: .75rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .3rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--bg-soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.dim-row td { background: #eef3fb; font-weight: 600; } tr.overall-row td { font-weight: 700; border-top: 2px solid var(--line); }
.status-pass { color: var(--pass); font-weight: 600; } .status-fail { color: var(--fail); font-weight: 700; }
.status-other { color: var(--muted); }
.badge { display: inline-block; padding: 0 .4rem; border-radius: 4px; font-size: 12px; background: var(--bg-soft);
  border: 1px solid var(--line); white-space: nowrap; }
.badge.red-line, .badge.regressed, .badge.critical-wrong { background: #ffebe9; border-color: #ff8182; }
.badge.error, .badge.suite-error { background: #fff8c5; border-color: #d4a72c; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; max-height: 16rem; overflow: auto; margin: 0; }
.muted { color: var(--muted); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .5rem 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; overflow-wrap: anywhere; }
.filters { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: .5rem 0; }
.filters label { display: flex; gap: .4rem; align-items: center; }
tr.item-row[hidden] { display: none; }
details > summary { cursor: pointer; color: var(--run); }
.chart { max-width: 760px; } .chart text { font-size: 12px; fill: #1f2328; }
.chart .axis { stroke: #8c959f; } .chart .grid { stroke: #eaeef2; }
.dim-bar { fill: var(--run); } .base-bar { fill: var(--base); } .chart .ci { stroke: #1f2328; stroke-width: 1.5; }
.legend-run { fill: var(--run); } .legend-base { fill: var(--base); }
"""

# The item filter: each <select> names the data-* attribute it matches; rows that miss any choice are hidden.
JS = """
(function () {
  var selects = Array.prototype.slice.call(document.querySelectorAll('select.item-filter'));
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.item-row'));
  var count = document.getElementById('item-count');
  function matches(row, key, want) {
    if (!want) { return true; }
    if (key === 'outcome') {
      return (row.getAttribute('data-outcomes') || row.getAttribute('data-outcome') || '').split(' ').indexOf(want) >= 0;
    }
    return row.getAttribute('data-' + key) === want;
  }
  function apply() {
    var shown = 0;
    rows.forEach(function (row) {
      var ok = selects.every(function (s) { return matches(row, s.getAttribute('data-key'), s.value); });
      row.hidden = !ok;
      if (ok) { shown += 1; }
    });
    if (count) { count.textContent = shown + ' of ' + rows.length + ' items shown'; }
  }
  selects.forEach(function (s) { s.addEventListener('change', apply); });
  apply();
}());
"""
