// neuroalign report: the virtualised leaderboard (sorting, filtering, aggregator switch),
// sections and figures drawn on demand, downloads. No network, no libraries.
(function () {
  'use strict';
  var table = document.getElementById('lb');
  var wrap = document.getElementById('lbwrap');
  // what the page does not need at load -- collapsed sections, deferred figures, every
  // figure's numbers -- is one gzip'd JSON (page.py _store), inflated once, on first need
  var storeNode = document.getElementById('na-store'), store = null, storeError = null;
  function loadStore() {
    if (store) return store;
    store = new Promise(function (resolve) {
      var text = atob(storeNode ? storeNode.textContent.trim() : '');
      var bytes = new Uint8Array(text.length);
      for (var i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
      var inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
      resolve(new Response(inflated).text().then(JSON.parse));
    }).catch(function (error) {
      storeError = 'this browser could not unpack the report\'s figures (it needs '
        + 'DecompressionStream: Chrome 80+, Firefox 113+, Safari 16.4+): ' + error;
      console.error(storeError);
      return {fragments: {}, data: {}};
    });
    return store;
  }
  function fragment(key) {
    return loadStore().then(function (s) {
      return key in s.fragments ? s.fragments[key] : '<p class="notes">' + esc(storeError || 'missing: ' + key) + '</p>';
    });
  }
  var boardNode = document.getElementById('na-board');
  // the leaderboard as columnar data (board_html.py): only the rows in view are DOM
  var B = boardNode ? JSON.parse(boardNode.textContent) : null;

  var ESC = {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;'};
  function esc(text) { return String(text).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
  function range(n) { var out = new Array(n); for (var i = 0; i < n; i++) out[i] = i; return out; }

  var nModels = B ? B.models.length : 0, nBench = B ? B.benchmarks.length : 0;
  var nAgg = B ? B.aggregators.length : 0;
  var notes = {}, stale = {}, shade = [];
  var order = range(nModels);        // every model, in the current sort order
  var shown = order;                 // those passing the model filter, in that order
  var rank = order.map(function (i) { return i + 1; });  // under the current aggregator
  var aggIndex = 0, modelNeedle = '';
  if (B) {
    B.missing.forEach(function (t) { notes[t[0] * nBench + t[1]] = t[2]; });
    B.stale.forEach(function (t) { stale[t[0] * nBench + t[1]] = t[2]; });
    // shade 0..9: position in the benchmark's range, 9 the best (board_html.shades)
    shade = B.values.map(function (column, j) {
      var low = Infinity, high = -Infinity;
      column.forEach(function (v) { if (v !== null) { if (v < low) low = v; if (v > high) high = v; } });
      var span = high > low ? high - low : NaN;
      return column.map(function (v) {
        if (v === null) return 0;
        var t = (v - low) / span;
        if (isNaN(t)) t = 0.5;
        if (!B.higher[j]) t = 1 - t;
        return Math.min(9, Math.max(0, Math.floor(t * 10 + 1e-9)));
      });
    });
  }

  // benchmark columns: those passing the benchmark filter (cols), of which only the ones in
  // view (colFrom..colTo, COL_OVERSCAN more each side) are drawn, between two spacer columns
  var cols = range(nBench), colFrom = 0, colTo = 0, COL_OVERSCAN = 2;
  var rem = parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
  var COL = 8.6 * rem, LEFT = (2.6 + 15 + (nAgg ? 4.6 : 0)) * rem;  // report.css widths
  var sorted = null;  // {b: benchmark} or null, with desc: the sort the header shows

  function cellHTML(i, j) {
    var v = B.values[j][i], key = i * nBench + j;
    if (v === null) return '<td class="na" title="' + esc(notes[key] || 'not scored') + '">–</td>';
    var old = stale[key], e = B.errors[j][i], l = B.layers[j][i];
    return '<td class="q' + shade[j][i] + (old ? ' stale" title="' + esc(old) : '') + '">'
      + v.toFixed(3) + (e === null ? '' : '<em>±' + e.toFixed(3) + '</em>')
      + (l < 0 ? '' : '<i>' + esc(B.layer_names[l]) + '</i>') + '</td>';
  }
  function rowHTML(i) {
    var m = esc(B.models[i]);
    var out = ['<tr data-m="' + m + '"><td class="r">' + rank[i] + '</td><td class="model">' + m + '</td>'];
    for (var k = 0; k < nAgg; k++) {
      var a = B.aggregates[k][i];
      out.push(a === null ? '<td class="agg a' + k + ' na" title="no aggregate">–</td>'
        : '<td class="agg a' + k + '">' + a.toFixed(3) + '</td>');
    }
    out.push('<td class="cpad"></td>');
    for (var c = colFrom; c < colTo; c++) out.push(cellHTML(i, cols[c]));
    out.push('<td class="cpad"></td>');
    return out.join('') + '</tr>';
  }
  function headHTML() {
    var out = ['<th class="cpad" aria-hidden="true" style="width:' + (colFrom * COL) + 'px"></th>'];
    for (var c = colFrom; c < colTo; c++) {
      var j = cols[c], b = esc(B.benchmarks[j]), up = B.higher[j];
      var sort = sorted && sorted.b === B.benchmarks[j]
        ? ' aria-sort="' + (sorted.desc ? 'descending' : 'ascending') + '" data-desc="' + (sorted.desc ? 1 : 0) + '"' : '';
      out.push('<th scope="col" tabindex="0" data-b="' + b + '" data-dir="' + up + '" title="' + b + ': '
        + (up ? 'higher' : 'lower') + ' is better"' + sort + '>' + b + (up ? ' ↑' : ' ↓') + '</th>');
    }
    out.push('<th class="cpad" aria-hidden="true" style="width:' + ((cols.length - colTo) * COL) + 'px"></th>');
    return out.join('');
  }

  // the rows in view, OVERSCAN more above and below, drawn into the tbody; two spacer rows
  // (the thead's second row and the tfoot) stand for the rest so the scrollbar is true.
  // Any change inside a table lays the whole table out again, so drawing never reads layout
  // first: the scroll offset and sizes are read when layout is clean (scroll, resize, frames)
  var OVERSCAN = 10, ROW = 46;  // px: '#lb tbody tr' height in report.css
  var rowHeight = 0, drawnFrom = -1, drawnTo = -1, pending = false;
  var view = {top: 0, left: 0, headTop: 0, height: window.innerHeight * 0.8, width: window.innerWidth};
  var topPad = table ? table.tHead.rows[1].cells[0] : null;
  var bottomPad = null;
  if (table) {
    if (!table.tFoot) {
      table.createTFoot().setAttribute('aria-hidden', 'true');
      var pad = table.tFoot.insertRow();
      pad.className = 'pad';
      pad.insertCell().colSpan = table.tHead.rows[0].cells.length;
    }
    bottomPad = table.tFoot.rows[0].cells[0];
  }
  function measure() {
    view.top = wrap.scrollTop;
    view.left = wrap.scrollLeft;
    view.headTop = topPad.offsetTop;
    view.height = wrap.clientHeight;
    view.width = wrap.clientWidth;
    var body = table.tBodies[0];
    if (!rowHeight && body.rows.length) rowHeight = body.rows[0].getBoundingClientRect().height || ROW;
  }
  function draw(force) {
    pending = false;
    var height = rowHeight || ROW;
    var above = Math.max(0, view.top - view.headTop);
    var from = Math.max(0, Math.floor(above / height / OVERSCAN) * OVERSCAN - OVERSCAN);
    var to = Math.min(shown.length, from + Math.ceil(view.height / height) + 3 * OVERSCAN);
    if (from > 0 && from >= to) from = Math.max(0, to - 3 * OVERSCAN);
    var left = Math.max(0, Math.floor((view.left - LEFT) / COL) - COL_OVERSCAN);
    var right = Math.min(cols.length, left + Math.ceil(view.width / COL) + 2 * COL_OVERSCAN + 1);
    if (left > 0 && left >= right) left = Math.max(0, right - 2 * COL_OVERSCAN - 1);
    // what is drawn still covers what is needed (the view and its margins): nothing to do
    if (!force && drawnFrom >= 0 && from >= drawnFrom && to <= drawnTo && left >= colFrom
        && right <= colTo) return;
    var newCols = force || left < colFrom || right > colTo;
    if (newCols) {
      colFrom = left; colTo = right;
      var head = table.tHead.rows[0];
      while (head.cells.length > 2 + nAgg) head.deleteCell(-1);
      head.insertAdjacentHTML('beforeend', headHTML());
      var span = 2 + nAgg + 2 + (colTo - colFrom);
      topPad.colSpan = span; bottomPad.colSpan = span;
      table.style.width = (LEFT + cols.length * COL) + 'px';
    }
    var html = [];
    for (var p = from; p < to; p++) html.push(rowHTML(shown[p]));
    table.tBodies[0].innerHTML = html.join('');
    drawnFrom = from; drawnTo = to;
    topPad.style.height = (from * height) + 'px';
    bottomPad.style.height = ((shown.length - to) * height) + 'px';
  }
  function schedule() {
    if (!pending) {
      pending = true;
      requestAnimationFrame(function () { measure(); draw(false); });
    }
  }

  function sortKey(th) {
    if (th.classList.contains('model')) return {text: B.models};
    if (th.dataset.agg !== undefined) return {numbers: B.aggregates[B.aggregators.indexOf(th.dataset.agg)]};
    return {numbers: B.values[B.benchmarks.indexOf(th.dataset.b)]};
  }

  // stable: ties keep the current order; missing values last in both directions
  function sortBy(th, descending) {
    var key = sortKey(th), sign = descending ? -1 : 1, position = new Array(nModels);
    order.forEach(function (i, p) { position[i] = p; });
    order = order.slice().sort(function (a, b) {
      if (key.text) {
        var x = key.text[a], y = key.text[b];
        return ((x < y ? -1 : x > y ? 1 : 0) * sign) || (position[a] - position[b]);
      }
      var u = key.numbers[a], v = key.numbers[b], un = u === null, vn = v === null;
      if (un || vn) return un === vn ? position[a] - position[b] : (un ? 1 : -1);
      return ((u - v) * sign) || (position[a] - position[b]);
    });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
    th.dataset.desc = descending ? '1' : '0';
    sorted = th.dataset.b === undefined ? null : {b: th.dataset.b, desc: descending};
    var focused = document.activeElement === th && th.dataset.b !== undefined;
    applyModelFilter();
    draw(true);
    if (focused) {  // the header was redrawn: keep the keyboard where it was
      var again = Array.prototype.find.call(table.tHead.rows[0].cells, function (h) { return h.dataset.b === sorted.b; });
      if (again) again.focus();
    }
  }

  function selectAggregator(index) {
    index = parseInt(index, 10);
    var th = table.querySelector('thead th.a' + index);
    if (!th) return;
    aggIndex = index;
    table.className = 's' + index;
    sortBy(th, th.dataset.dir !== '0');
    order.forEach(function (i, p) { rank[i] = p + 1; });
    draw(true);
  }

  function applyModelFilter() {
    shown = !modelNeedle ? order : order.filter(function (i) {
      return B.models[i].toLowerCase().indexOf(modelNeedle) >= 0;
    });
  }

  function filterModels(text) {
    var needle = text.trim().toLowerCase();
    if (needle !== modelNeedle) {
      modelNeedle = needle;
      applyModelFilter();
      wrap.scrollTop = 0;
      view.top = 0;
      draw(true);
      document.querySelectorAll('[data-model-card]').forEach(function (card) {
        card.hidden = !!needle && card.dataset.modelCard.toLowerCase().indexOf(needle) < 0;
      });
    }
    return [shown.length, nModels];
  }

  function filterBenchmarks(text) {
    var needle = text.trim().toLowerCase();
    var hits = range(nBench).filter(function (j) {
      return !needle || B.benchmarks[j].toLowerCase().indexOf(needle) >= 0;
    });
    if (hits.join() !== cols.join()) {
      cols = hits;
      wrap.scrollLeft = 0;
      view.left = 0;
      draw(true);
      document.querySelectorAll('[data-benchmark-section]').forEach(function (s) {
        s.hidden = !!needle && s.dataset.benchmarkSection.toLowerCase().indexOf(needle) < 0;
      });
    }
    return [cols.length, nBench];
  }

  function updateCount() {
    var m = filterModels(document.getElementById('fm').value);
    var b = filterBenchmarks(document.getElementById('fb').value);
    document.getElementById('count').textContent = 'showing ' + m[0] + ' of ' + m[1] + ' models, ' + b[0] + ' of ' + b[1] + ' benchmarks';
  }

  // every shown model (the model filter applies, the benchmark filter does not), in order
  function leaderboardData() {
    var columns = ['rank', 'model', 'aggregator', 'aggregate', 'benchmark', 'value', 'error', 'layer', 'note'];
    var rows = [], name = nAgg ? B.aggregators[aggIndex] : null;
    shown.forEach(function (i) {
      var aggregate = nAgg ? B.aggregates[aggIndex][i] : null;
      for (var j = 0; j < nBench; j++) {
        var key = i * nBench + j, v = B.values[j][i], l = B.layers[j][i];
        rows.push([rank[i], B.models[i], name, aggregate, B.benchmarks[j], v,
          v === null ? null : B.errors[j][i], v === null || l < 0 ? null : B.layer_names[l],
          v === null ? (notes[key] || 'not scored') : (stale[key] || null)]);
      }
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

  // collapsed sections keep their body in the store until first opened
  function materialise(details) {
    var body = details.querySelector(':scope > .section-body[data-lazy]');
    if (!body) return Promise.resolve();
    var key = body.dataset.lazy;
    body.removeAttribute('data-lazy');
    return fragment(key).then(function (html) {
      body.innerHTML = html;
      details.classList.remove('lazy');
    });
  }
  document.addEventListener('toggle', function (e) {
    if (e.target.tagName === 'DETAILS' && e.target.open) materialise(e.target);
  }, true);

  // deferred figures (page.py _figure) wait in the store until near the viewport
  function drawFigure(figure) {
    var slot = figure.querySelector(':scope > .chart-slot[data-lazy]');
    if (!slot) return Promise.resolve();
    var key = slot.dataset.lazy;
    slot.removeAttribute('data-lazy');
    return fragment(key).then(function (svg) {
      slot.insertAdjacentHTML('beforebegin', svg);
      slot.remove();
      figure.classList.remove('deferred');
    });
  }
  var deferred = Array.prototype.slice.call(document.querySelectorAll('figure.deferred'));
  if (deferred.length && 'IntersectionObserver' in window) {
    var watcher = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        if (e.isIntersecting) { watcher.unobserve(e.target); drawFigure(e.target); }
      });
    }, {rootMargin: '800px 0px'});
    deferred.forEach(function (f) { watcher.observe(f); });
  } else {
    deferred.forEach(drawFigure);
  }
  // every section opened and every figure drawn; resolves when done
  function expandAll() {
    var done = [];
    document.querySelectorAll('details.lazy').forEach(function (d) { done.push(materialise(d)); d.open = true; });
    document.querySelectorAll('figure.deferred').forEach(function (f) { done.push(drawFigure(f)); });
    return Promise.all(done).then(function () { return done.length; });
  }

  // a figure's numbers (a promise unless it is the leaderboard's)
  function figureData(key) {
    if (key === 'leaderboard') return leaderboardData();
    return loadStore().then(function (s) {
      if (!(key in s.data)) throw new Error('no figure ' + key);
      return s.data[key];
    });
  }
  function asText(key, csv) {
    var data = figureData(key);
    var text = function (d) { return csv ? toCSV(d) : toJSON(d); };
    return data.then ? data.then(text) : text(data);
  }
  function setLink(link, text, csv) {
    if (link.href && link.href.indexOf('blob:') === 0) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([text], {type: csv ? 'text/csv' : 'application/json'}));
    link.download = link.dataset.download + (csv ? '.csv' : '.json');
  }

  document.addEventListener('click', function (event) {
    var link = event.target.closest ? event.target.closest('a[data-download]') : null;
    if (link) {
      // the first click of a figure's link waits for its numbers, then follows the link
      if (link.dataset.ready === '1') { link.dataset.ready = ''; return; }
      var csv = link.dataset.format === 'csv', text = asText(link.dataset.download, csv);
      if (!text.then) { setLink(link, text, csv); return; }
      event.preventDefault();
      text.then(function (t) { setLink(link, t, csv); link.dataset.ready = '1'; link.click(); });
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
    wrap.addEventListener('scroll', schedule, {passive: true});
    window.addEventListener('resize', schedule);
    draw(true);  // at the top, the viewport's height: no layout read before the first paint
    // after the first frame with the rows is painted: ready, then measure the real sizes once
    requestAnimationFrame(function () {
      setTimeout(function () {
        window.neuroalignReport.readyAt = performance.now();
        window.neuroalignReport.ready = true;
        schedule();
      }, 0);
    });
    document.getElementById('count').textContent = 'showing ' + nModels + ' models';
  }
  window.neuroalignReport = {
    // CSV / JSON text of a figure's numbers (a promise, except for the leaderboard)
    csv: function (k) { return asText(k, true); },
    json: function (k) { return asText(k, false); },
    selectAggregator: selectAggregator, sortBy: sortBy, expandAll: expandAll,
    // model names in the leaderboard's current order, after the model filter (all, not only drawn)
    order: function () { return shown.map(function (i) { return B.models[i]; }); },
    drawn: function () { return [drawnFrom, drawnTo, colFrom, colTo]; },
    redraw: function () { measure(); draw(false); },
    // ready: the leaderboard's first rows are painted and it answers sorting and filtering;
    // readyAt: when (ms since navigation)
    ready: !table, readyAt: table ? null : performance.now()
  };
})();
