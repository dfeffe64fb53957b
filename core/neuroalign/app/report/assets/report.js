// neuroalign report: sorting, filtering, aggregator switch and downloads. No network, no libraries.
(function () {
  'use strict';
  var table = document.getElementById('lb');
  var dataNode = document.getElementById('na-data');
  var DATA = dataNode ? JSON.parse(dataNode.textContent) : {};

  function cellNumber(td) {
    if (!td || td.classList.contains('na')) return NaN;
    if (td.dataset.v !== undefined) return parseFloat(td.dataset.v);
    var text = td.firstChild ? td.firstChild.nodeValue : '';
    return parseFloat(text);
  }

  // rows past the first FIRST_ROWS (page.py) wait as inert text, one <script type="text/html">
  // per chunk: each becomes DOM after the first paint, or all at once before anything reads or
  // reorders the rows
  var pending = Array.prototype.slice.call(document.querySelectorAll('script.lb-rows'));
  function addRows(script) {
    var holder = document.createElement('template'), fragment = document.createDocumentFragment();
    holder.innerHTML = '<table><tbody>' + script.textContent + '</tbody></table>';
    var body = holder.content.querySelector('tbody');
    while (body.firstChild) fragment.appendChild(body.firstChild);
    table.tBodies[0].appendChild(fragment);
    script.remove();
  }
  function ensureAll() { while (pending.length) addRows(pending.shift()); finish(); }
  function finish() {
    var report = window.neuroalignReport;
    if (report && !report.complete && !pending.length) {
      report.complete = true;
      report.completedAt = performance.now();  // ms since navigation: every row is in
    }
  }
  function addChunk() {
    if (pending.length) { addRows(pending.shift()); setTimeout(addChunk, 0); }
    finish();
  }

  function sortBy(th, descending) {
    ensureAll();
    var body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var rows = Array.prototype.slice.call(body.rows);
    var keyed = rows.map(function (r, i) {
      var td = r.cells[col];
      return {r: r, i: i, v: th.classList.contains('model') ? td.textContent : cellNumber(td)};
    });
    keyed.sort(function (a, b) {
      if (typeof a.v === 'string') return (a.v < b.v ? -1 : a.v > b.v ? 1 : 0) * (descending ? -1 : 1);
      var an = isNaN(a.v), bn = isNaN(b.v);
      if (an || bn) return an === bn ? a.i - b.i : (an ? 1 : -1);  // missing last, always
      return ((a.v - b.v) * (descending ? -1 : 1)) || (a.i - b.i);
    });
    var fragment = document.createDocumentFragment();
    keyed.forEach(function (k) { fragment.appendChild(k.r); });
    body.appendChild(fragment);
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    th.dataset.desc = descending ? '1' : '0';
  }

  function selectAggregator(index) {
    table.className = 's' + index;
    var th = table.querySelector('thead th.a' + index);
    if (!th) return;
    sortBy(th, th.dataset.dir !== '0');
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r, i) { r.cells[0].textContent = i + 1; });
  }

  function filterModels(text) {
    ensureAll();
    var needle = text.trim().toLowerCase(), shown = 0, total = 0;
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
      var hit = !needle || r.dataset.m.toLowerCase().indexOf(needle) >= 0;
      r.hidden = !hit; total += 1; shown += hit ? 1 : 0;
    });
    document.querySelectorAll('[data-model-card]').forEach(function (card) {
      card.hidden = !!needle && card.dataset.modelCard.toLowerCase().indexOf(needle) < 0;
    });
    return [shown, total];
  }

  function filterBenchmarks(text) {
    var needle = text.trim().toLowerCase(), rules = [], shown = 0, total = 0;
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, col) {
      if (th.dataset.b === undefined) return;
      var hit = !needle || th.dataset.b.toLowerCase().indexOf(needle) >= 0;
      total += 1; shown += hit ? 1 : 0;
      if (!hit) rules.push('#lb tr>:nth-child(' + (col + 1) + ')');
    });
    document.getElementById('colfilter').textContent = rules.length ? rules.join(',') + '{display:none}' : '';
    document.querySelectorAll('[data-benchmark-section]').forEach(function (s) {
      s.hidden = !!needle && s.dataset.benchmarkSection.toLowerCase().indexOf(needle) < 0;
    });
    return [shown, total];
  }

  function updateCount() {
    var m = filterModels(document.getElementById('fm').value);
    var b = filterBenchmarks(document.getElementById('fb').value);
    document.getElementById('count').textContent = 'showing ' + m[0] + ' of ' + m[1] + ' models, ' + b[0] + ' of ' + b[1] + ' benchmarks';
  }

  function leaderboardData() {
    ensureAll();
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var columns = ['rank', 'model', 'aggregator', 'aggregate', 'benchmark', 'value', 'error', 'layer', 'note'];
    var aggIndex = table.className.replace('s', '');
    var rows = [];
    Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
      if (r.hidden) return;
      var aggCell = r.querySelector('td.a' + aggIndex);
      var aggTh = table.querySelector('thead th.a' + aggIndex);
      heads.forEach(function (th, col) {
        if (th.dataset.b === undefined) return;
        var td = r.cells[col], small = td.querySelector('em'), layer = td.querySelector('i');
        rows.push([parseInt(r.cells[0].textContent, 10), r.dataset.m, aggTh ? aggTh.dataset.agg : null,
          aggCell ? cellNumber(aggCell) : null, th.dataset.b,
          isNaN(cellNumber(td)) ? null : cellNumber(td),
          small ? parseFloat(small.textContent.replace('±', '')) : null,
          layer ? layer.textContent : null, td.title || null]);
      });
    });
    return {columns: columns, rows: rows};
  }

  function csvField(value) {
    if (value === null || value === undefined || (typeof value === 'number' && isNaN(value))) return '';
    var text = String(value);
    return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function toCSV(data) {
    return [data.columns].concat(data.rows).map(function (row) { return row.map(csvField).join(','); }).join('\n') + '\n';
  }

  function toJSON(data) {
    return JSON.stringify(data.rows.map(function (row) {
      var out = {}; data.columns.forEach(function (c, i) { out[c] = row[i]; }); return out;
    }), null, 1);
  }

  // collapsed sections keep their figures as inert text until first opened
  function materialise(details) {
    var inert = details.querySelector(':scope > script[type="text/html"]');
    if (!inert) return;
    details.querySelector(':scope > .section-body').innerHTML = inert.textContent.replace(/<\\\/script/g, '</script');
    inert.remove();
    details.classList.remove('lazy');
  }
  document.addEventListener('toggle', function (e) {
    if (e.target.tagName === 'DETAILS' && e.target.open) materialise(e.target);
  }, true);
  function expandAll() {
    document.querySelectorAll('details.lazy').forEach(function (d) { materialise(d); d.open = true; });
  }

  function figureData(key) { return key === 'leaderboard' ? leaderboardData() : DATA[key]; }

  document.addEventListener('click', function (event) {
    var link = event.target.closest ? event.target.closest('a[data-download]') : null;
    if (link) {
      var data = figureData(link.dataset.download), csv = link.dataset.format === 'csv';
      var blob = new Blob([csv ? toCSV(data) : toJSON(data)], {type: csv ? 'text/csv' : 'application/json'});
      if (link.href && link.href.indexOf('blob:') === 0) URL.revokeObjectURL(link.href);
      link.href = URL.createObjectURL(blob);
      link.download = link.dataset.download + (csv ? '.csv' : '.json');
      return;
    }
    var th = event.target.closest ? event.target.closest('#lb thead th') : null;
    if (th && !th.classList.contains('rank')) {
      var again = th.hasAttribute('aria-sort');
      sortBy(th, again ? th.dataset.desc !== '1' : th.dataset.dir !== '0');
    }
  });

  if (table) {
    document.getElementById('agg').addEventListener('change', function (e) { selectAggregator(e.target.value); });
    document.getElementById('fm').addEventListener('input', updateCount);
    document.getElementById('fb').addEventListener('input', updateCount);
    table.tHead.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); e.target.click(); }
    });
  }
  window.neuroalignReport = {csv: function (k) { return toCSV(figureData(k)); },
                             json: function (k) { return toJSON(figureData(k)); },
                             selectAggregator: selectAggregator, sortBy: sortBy,
                             complete: !pending.length,
                             expandAll: expandAll};
  if (table) {
    var total = table.tBodies[0].rows.length;
    pending.forEach(function (p) { total += (p.textContent.match(/<tr /g) || []).length; });
    document.getElementById('count').textContent = 'showing ' + total + ' models';
    requestAnimationFrame(function () { setTimeout(addChunk, 0); });
  }
})();
