// The tsdb web console: SQL, a series explorer with forecasts and anomaly
// windows, and an operations view. Plain JavaScript, no build step; every
// statement goes to /rest/sql with the session token of /rest/login, so
// the console can do what its credentials allow and nothing more. The
// chart is uPlot (vendor/, MIT).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  /** Rows a result page shows. */
  const PAGE_ROWS = 100;
  /** Statements the history keeps (localStorage). */
  const HISTORY_MAX = 100;
  /** Databases the explorer does not offer. */
  const SYSTEM_DBS = new Set(['information_schema', 'performance_schema']);
  const NUMERIC = /^(TINYINT|SMALLINT|INT|BIGINT|FLOAT|DOUBLE|TINYINT UNSIGNED|SMALLINT UNSIGNED|INT UNSIGNED|BIGINT UNSIGNED|BOOL)$/;

  let token = sessionStorage.getItem('tsdb.token');
  let user = sessionStorage.getItem('tsdb.user');

  // --- talking to the server ----------------------------------------------

  class SqlError extends Error {
    constructor(code, desc) {
      super(desc);
      this.code = code;
      this.desc = desc;
    }
  }

  const hex = (code) => '0x' + ((code >>> 0) & 0xffff).toString(16).toUpperCase().padStart(4, '0');

  /** Runs one statement; resolves to the /rest/sql answer, rejects with a SqlError. */
  async function sql(text) {
    let r;
    try {
      r = await fetch('/rest/sql', {
        method: 'POST',
        headers: { Authorization: 'Taosd ' + token, 'Content-Type': 'text/plain; charset=utf-8' },
        body: text,
      });
    } catch (e) {
      throw new SqlError(-1, 'the server did not answer: ' + e.message);
    }
    let body;
    try {
      body = await r.json();
    } catch (e) {
      throw new SqlError(r.status, `HTTP ${r.status}: the answer is not JSON`);
    }
    if (r.status === 401) {
      signOut(`The server refused this session's credentials (${hex(body.code)}: ${body.desc}). Sign in again.`);
      throw new SqlError(body.code, body.desc);
    }
    if (body.code !== 0) throw new SqlError(body.code, body.desc || `HTTP ${r.status}`);
    return body;
  }

  /** The rows of a statement as objects keyed by column name. */
  async function records(text) {
    const a = await sql(text);
    const names = a.column_meta.map((c) => c[0]);
    return a.data.map((row) => Object.fromEntries(row.map((v, i) => [names[i], v])));
  }

  const errorText = (e) => (e instanceof SqlError ? `[${hex(e.code)}] ${e.desc}` : String(e));

  function showError(el, e) {
    el.textContent = errorText(e);
    el.hidden = false;
  }

  // --- signing in -----------------------------------------------------------

  async function signIn(u, p) {
    const err = $('login-error');
    err.textContent = '';
    let r, body;
    try {
      r = await fetch(`/rest/login/${encodeURIComponent(u)}/${encodeURIComponent(p)}`);
      body = await r.json();
    } catch (e) {
      err.textContent = 'The server did not answer: ' + e.message;
      return;
    }
    if (r.ok && body.code === 0) {
      token = body.desc;
      user = u;
      sessionStorage.setItem('tsdb.token', token);
      sessionStorage.setItem('tsdb.user', user);
      $('login-password').value = '';
      start();
    } else if (r.status === 401) {
      err.textContent = `Sign-in refused: the user or the password is wrong (${hex(body.code)}: ${body.desc}).`;
    } else {
      err.textContent = `Sign-in failed (HTTP ${r.status}, ${hex(body.code)}): ${body.desc}`;
    }
  }

  function signOut(message) {
    token = null;
    sessionStorage.removeItem('tsdb.token');
    $('tabs').hidden = true;
    $('logout').hidden = true;
    $('who').textContent = '';
    for (const v of ['sql', 'explore', 'ops']) $('view-' + v).hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    $('login-password').focus();
  }

  function start() {
    $('login').hidden = true;
    $('tabs').hidden = false;
    $('logout').hidden = false;
    $('who').textContent = `signed in as ${user}`;
    showView(location.hash.slice(1) || 'sql');
  }

  // --- views ------------------------------------------------------------------

  const loaded = {};
  function showView(name) {
    if (!['sql', 'explore', 'ops'].includes(name)) name = 'sql';
    for (const b of document.querySelectorAll('#tabs button')) {
      const on = b.dataset.view === name;
      b.setAttribute('aria-selected', String(on));
      b.tabIndex = on ? 0 : -1;
      $('view-' + b.dataset.view).hidden = !on;
    }
    if (location.hash !== '#' + name) history.replaceState(null, '', '#' + name);
    if (name === 'explore' && !loaded.explore) {
      loaded.explore = true;
      loadExplorer();
    }
    if (name === 'ops') refreshOps();
    if (name === 'sql') $('sql-text').focus();
  }

  // --- result grids -------------------------------------------------------------

  function cell(v, type) {
    const td = document.createElement('td');
    if (v === null || v === undefined) {
      td.textContent = 'NULL';
      td.className = 'null';
    } else {
      td.textContent = typeof v === 'object' ? JSON.stringify(v) : String(v);
      if (typeof v === 'number' || (type && NUMERIC.test(type))) td.className = 'num';
    }
    return td;
  }

  /** Fills `table` with `meta` ([name, type, len]) and `rows`; `extra`
   *  ({heads, cells(row), first}) adds columns of the console's own. */
  function renderGrid(table, meta, rows, extra) {
    table.replaceChildren();
    const head = table.createTHead().insertRow();
    for (const [name, type, len] of meta) {
      const th = document.createElement('th');
      th.scope = 'col';
      th.textContent = name;
      const small = document.createElement('small');
      small.textContent = /CHAR|BINARY/.test(type) ? `${type}(${len})` : type;
      th.append(small);
      head.append(th);
    }
    // extra cells go after the row's own, or (extra.first) before them
    const put = (parent, el) =>
      extra.first ? parent.insertBefore(el, parent.children[extra.at++] || null) : parent.append(el);
    if (extra) {
      extra.at = 0;
      for (const h of extra.heads) put(head, Object.assign(document.createElement('th'), { textContent: h }));
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      row.forEach((v, i) => tr.append(cell(v, meta[i] && meta[i][1])));
      if (extra) {
        extra.at = 0;
        for (const c of extra.cells(row)) put(tr, c);
      }
    }
  }

  // --- SQL view -------------------------------------------------------------------

  const result = { meta: [], rows: [], page: 0 };

  function pastStatements() {
    try {
      return JSON.parse(localStorage.getItem('tsdb.history') || '[]');
    } catch (e) {
      return [];
    }
  }

  function remember(text) {
    const h = [text, ...pastStatements().filter((t) => t !== text)].slice(0, HISTORY_MAX);
    localStorage.setItem('tsdb.history', JSON.stringify(h));
    renderHistory();
  }

  function renderHistory() {
    const sel = $('sql-history');
    sel.replaceChildren(new Option('–', ''));
    for (const t of pastStatements()) sel.append(new Option(t.length > 80 ? t.slice(0, 77) + '...' : t, t));
  }

  /** Statements of `text` split at `;` outside quotes, with their offsets. */
  function statements(text) {
    const out = [];
    let start = 0, quote = null;
    for (let i = 0; i <= text.length; i++) {
      const c = text[i];
      if (quote) {
        if (c === quote) quote = null;
      } else if (c === "'" || c === '"' || c === '`') {
        quote = c;
      } else if (c === ';' || i === text.length) {
        const s = text.slice(start, i);
        if (s.trim()) out.push({ text: s, offset: start });
        start = i + 1;
      }
    }
    return out;
  }

  async function runSql() {
    const area = $('sql-text');
    const text = area.value;
    const err = $('sql-error');
    err.hidden = true;
    const list = statements(text);
    if (!list.length) return;
    $('sql-status').textContent = 'running...';
    remember(text.trim());
    for (const st of list) {
      const t0 = performance.now();
      try {
        const a = await sql(st.text);
        result.meta = a.column_meta;
        result.rows = a.data;
        result.page = 0;
        $('sql-status').textContent =
          `Query OK, ${a.rows} row(s) in set (${((performance.now() - t0) / 1000).toFixed(3)} s)`;
      } catch (e) {
        $('sql-status').textContent = '';
        let msg = errorText(e);
        const at = /\(at position (\d+)\)/.exec(e.desc || '');
        if (at) {
          // the position counts characters of this statement from 0
          const pos = st.offset + Number(at[1]);
          const line = text.slice(text.lastIndexOf('\n', pos - 1) + 1).split('\n')[0];
          const col = pos - (text.lastIndexOf('\n', pos - 1) + 1);
          msg += `\n${line}\n${' '.repeat(col)}^`;
          area.focus();
          area.setSelectionRange(pos, Math.min(text.length, pos + 1));
        }
        err.textContent = msg;
        err.hidden = false;
        result.meta = [];
        result.rows = [];
        break;
      }
    }
    renderPage();
  }

  function renderPage() {
    const { meta, rows } = result;
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_ROWS));
    result.page = Math.min(Math.max(0, result.page), pages - 1);
    const from = result.page * PAGE_ROWS;
    renderGrid($('sql-grid'), meta, rows.slice(from, from + PAGE_ROWS));
    $('sql-pager').hidden = rows.length <= PAGE_ROWS;
    $('sql-page').textContent = `rows ${from + 1}–${Math.min(rows.length, from + PAGE_ROWS)} of ${rows.length}`;
    $('sql-prev').disabled = result.page === 0;
    $('sql-next').disabled = result.page >= pages - 1;
    $('sql-csv').disabled = meta.length === 0;
  }

  function csvField(v) {
    if (v === null || v === undefined) return '';
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  function downloadCsv() {
    const lines = [result.meta.map((m) => csvField(m[0])).join(',')];
    for (const r of result.rows) lines.push(r.map(csvField).join(','));
    const url = URL.createObjectURL(new Blob([lines.join('\n') + '\n'], { type: 'text/csv' }));
    const a = Object.assign(document.createElement('a'), { href: url, download: 'result.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // --- explorer -----------------------------------------------------------------

  const ex = {
    chart: null,
    series: null, // {xs: seconds[], ys: number[]}
    forecast: null, // {xs, val, lo, hi, model}
    windows: [], // [{start, end}] seconds
    ts: 'ts',
  };

  function fillSelect(sel, items, keep) {
    const old = keep ? sel.value : null;
    sel.replaceChildren(...items.map(([value, label]) => new Option(label || value, value)));
    if (old && items.some(([v]) => v === old)) sel.value = old;
  }

  function exStatus(text) {
    $('ex-status').textContent = text;
  }

  async function loadExplorer() {
    try {
      const dbs = (await records('show databases')).map((r) => r.name).filter((n) => !SYSTEM_DBS.has(n));
      fillSelect($('ex-db'), dbs.map((d) => [d]));
      if (dbs.includes('demo')) $('ex-db').value = 'demo';
      const algos = await records('show anodes full');
      const uniq = (type) => [...new Set(algos.filter((a) => a.type === type).map((a) => a.algo))].sort();
      const fc = uniq('forecast');
      const ad = uniq('anomaly-detection');
      fillSelect($('fc-algo'), fc.map((a) => [a]));
      fillSelect($('ad-algo'), ad.map((a) => [a]));
      if (fc.includes('auto')) $('fc-algo').value = 'auto';
      if (ad.includes('iqr')) $('ad-algo').value = 'iqr';
      await loadTables();
    } catch (e) {
      showError($('ex-error'), e);
    }
  }

  async function loadTables() {
    const db = $('ex-db').value;
    if (!db) return;
    const st = (await records(`show ${db}.stables`)).map((r) => [r.name, r.name + ' (super table)']);
    const t = (await records(`show ${db}.tables`)).map((r) => [r.table_name]);
    fillSelect($('ex-table'), [...st, ...t]);
    if (t.some(([n]) => n === 'passengers')) $('ex-table').value = 'passengers';
    await loadColumns();
  }

  async function loadColumns() {
    const db = $('ex-db').value, table = $('ex-table').value;
    if (!db || !table) return;
    const cols = await records(`describe ${db}.${table}`);
    ex.ts = cols.length ? cols[0].Field || cols[0].field : 'ts';
    const values = cols.filter((c, i) => i > 0 && (c.Note || c.note) !== 'TAG' && NUMERIC.test(c.Type || c.type));
    fillSelect($('ex-col'), values.map((c) => [c.Field || c.field]));
  }

  function whereClause() {
    const r = $('ex-range').value;
    if (r === 'all') return '';
    if (r === 'custom') {
      const parts = [];
      const lit = (v) => `'${v.replace('T', ' ')}'`;
      if ($('ex-from').value) parts.push(`${ex.ts} >= ${lit($('ex-from').value)}`);
      if ($('ex-to').value) parts.push(`${ex.ts} <= ${lit($('ex-to').value)}`);
      return parts.length ? ' where ' + parts.join(' and ') : '';
    }
    return ` where ${ex.ts} >= now - ${r}`;
  }

  const target = () => `${$('ex-db').value}.${$('ex-table').value}`;
  const toSeconds = (ts) => (typeof ts === 'number' ? ts / 1000 : Date.parse(ts) / 1000);

  async function draw() {
    $('ex-error').hidden = true;
    const col = $('ex-col').value;
    if (!col) return showError($('ex-error'), 'choose a table with a numeric column');
    const iv = $('ex-interval').value;
    const q = iv
      ? `select _wstart, avg(${col}) from ${target()}${whereClause()} interval(${iv})`
      : `select ${ex.ts}, ${col} from ${target()}${whereClause()}`;
    exStatus('querying...');
    const t0 = performance.now();
    try {
      const a = await sql(q);
      const pts = a.data
        .map((r) => [toSeconds(r[0]), r[1] === null ? null : Number(r[1])])
        .sort((p, q) => p[0] - q[0]);
      ex.series = { xs: pts.map((p) => p[0]), ys: pts.map((p) => p[1]), label: iv ? `avg(${col}) per ${iv}` : col };
      ex.forecast = null;
      ex.windows = [];
      $('fc-model').textContent = '';
      renderGrid($('ad-grid'), [], []);
      $('ad-title').hidden = true;
      plot();
      exStatus(`${pts.length} point(s) in ${((performance.now() - t0) / 1000).toFixed(3)} s`);
    } catch (e) {
      exStatus('');
      showError($('ex-error'), e);
    }
  }

  /** `algo=...` and the user's options as one SQL string literal's text;
   *  null (and the error shown) when they hold a quote. */
  function optionString(algo, opts) {
    opts = opts.trim();
    if (opts.includes("'")) {
      showError($('ex-error'), "options may not contain a quote (')");
      return null;
    }
    return 'algo=' + algo + (opts ? ',' + opts : '');
  }

  async function forecast() {
    $('ex-error').hidden = true;
    if (!ex.series) await draw();
    const col = $('ex-col').value, algo = $('fc-algo').value;
    const option = optionString(algo, $('fc-opts').value);
    if (option === null) return;
    exStatus(`forecasting with ${algo}...`);
    const t0 = performance.now();
    try {
      const a = await sql(`select _frowts, _flow, _fhigh, _fmodel, forecast(${col}, '${option}') from ${target()}${whereClause()}`);
      ex.forecast = {
        xs: a.data.map((r) => toSeconds(r[0])),
        lo: a.data.map((r) => r[1]),
        hi: a.data.map((r) => r[2]),
        val: a.data.map((r) => r[4]),
        model: a.data.length ? a.data[0][3] : '',
        algo,
      };
      plot();
      $('fc-model').textContent = `Forecast by ${algo}${ex.forecast.model ? ': ' + ex.forecast.model : ''} (${a.rows} rows; band = _flow.._fhigh)`;
      exStatus(`forecast in ${((performance.now() - t0) / 1000).toFixed(3)} s` + ($('ex-interval').value ? ' (from the raw rows)' : ''));
    } catch (e) {
      exStatus('');
      showError($('ex-error'), e);
    }
  }

  async function anomalies() {
    $('ex-error').hidden = true;
    if (!ex.series) await draw();
    const col = $('ex-col').value, algo = $('ad-algo').value;
    const option = optionString(algo, $('ad-opts').value);
    if (option === null) return;
    exStatus(`looking for anomalies with ${algo}...`);
    try {
      const a = await sql(
        `select _wstart, _wend, count(*), min(${col}), max(${col}) from ${target()}${whereClause()} anomaly_window(${col}, '${option}')`);
      ex.windows = a.data.map((r) => ({ start: toSeconds(r[0]), end: toSeconds(r[1]) }));
      renderGrid($('ad-grid'), a.column_meta, a.data);
      $('ad-title').hidden = false;
      $('ad-title').textContent = `Anomaly windows (${algo}): ${a.rows}`;
      plot();
      exStatus(`${a.rows} anomaly window(s)`);
    } catch (e) {
      exStatus('');
      showError($('ex-error'), e);
    }
  }

  /** Shades the anomaly windows behind the series. */
  const windowShading = {
    hooks: {
      drawClear: [
        (u) => {
          const { ctx, bbox } = u;
          ctx.save();
          ctx.fillStyle = 'rgba(220, 38, 38, 0.18)';
          for (const w of ex.windows) {
            const x0 = u.valToPos(w.start, 'x', true);
            const x1 = u.valToPos(w.end, 'x', true);
            ctx.fillRect(Math.min(x0, x1), bbox.top, Math.max(Math.abs(x1 - x0), 3), bbox.height);
          }
          ctx.restore();
        },
      ],
    },
  };

  /** Wheel zooms around the pointer; Shift-drag pans. */
  function wheelAndPan() {
    return {
      hooks: {
        ready: [
          (u) => {
            const over = u.over;
            over.addEventListener('wheel', (e) => {
              e.preventDefault();
              const { min, max } = u.scales.x;
              const at = u.posToVal(e.offsetX, 'x');
              const f = e.deltaY < 0 ? 0.8 : 1.25;
              u.setScale('x', { min: at - (at - min) * f, max: at + (max - at) * f });
            }, { passive: false });
            over.addEventListener('mousedown', (e) => {
              if (!e.shiftKey) return;
              e.stopPropagation();
              const x0 = e.clientX, { min, max } = u.scales.x;
              const perPx = (max - min) / u.bbox.width * devicePixelRatio;
              const move = (m) => {
                const dx = (m.clientX - x0) * perPx;
                u.setScale('x', { min: min - dx, max: max - dx });
              };
              const up = () => {
                document.removeEventListener('mousemove', move);
                document.removeEventListener('mouseup', up);
              };
              document.addEventListener('mousemove', move);
              document.addEventListener('mouseup', up);
            }, true);
          },
        ],
      },
    };
  }

  /** The series, the forecast continuing it with its band, the windows. */
  function plot() {
    const s = ex.series;
    if (!s) return;
    const f = ex.forecast;
    const n = s.xs.length;
    const xs = f ? s.xs.concat(f.xs) : s.xs.slice();
    const pad = (len) => new Array(len).fill(null);
    const data = [xs, f ? s.ys.concat(pad(f.xs.length)) : s.ys.slice()];
    const series = [{}, { label: s.label, stroke: '#1f6feb', width: 1.5, spanGaps: false }];
    const bands = [];
    if (f) {
      // the forecast starts at the last observed point, so it continues the line
      const join = (arr) => {
        const a = pad(n).concat(arr);
        if (n) a[n - 1] = s.ys[n - 1];
        return a;
      };
      data.push(join(f.val), join(f.hi), join(f.lo));
      series.push(
        { label: `forecast (${f.algo})`, stroke: '#d97706', width: 2, dash: [6, 4] },
        { label: '_fhigh', stroke: 'rgba(217,119,6,0.5)', width: 1 },
        { label: '_flow', stroke: 'rgba(217,119,6,0.5)', width: 1 },
      );
      bands.push({ series: [3, 4], fill: 'rgba(217,119,6,0.15)' });
    }
    const box = $('chart');
    const width = Math.max(280, box.clientWidth);
    const opts = {
      width,
      height: 340,
      series,
      bands,
      scales: { x: { time: true } },
      cursor: { drag: { x: true, y: false, setScale: true } },
      plugins: [windowShading, wheelAndPan()],
    };
    if (ex.chart) ex.chart.destroy();
    box.replaceChildren();
    ex.chart = new uPlot(opts, data, box);
  }

  window.addEventListener('resize', () => {
    if (ex.chart) ex.chart.setSize({ width: Math.max(280, $('chart').clientWidth), height: 340 });
  });

  // --- operations -------------------------------------------------------------------

  const human = (bytes) => {
    const u = ['B', 'KB', 'MB', 'GB', 'TB'];
    let i = 0;
    while (bytes >= 1024 && i < u.length - 1) {
      bytes /= 1024;
      i++;
    }
    return `${bytes.toFixed(i ? 1 : 0)} ${u[i]}`;
  };

  function ago(ms) {
    if (ms < 0) return 'on time';
    const s = ms / 1000;
    if (s < 120) return `${s.toFixed(0)} s behind`;
    if (s < 7200) return `${(s / 60).toFixed(0)} min behind`;
    return `${(s / 3600).toFixed(1)} h behind`;
  }

  async function refreshOps() {
    const err = $('ops-error');
    err.hidden = true;
    $('ops-status').textContent = 'loading...';
    try {
      // SHOW ANODES asks every anode for /status as it answers: the
      // status is as of this moment
      const an = await sql('show anodes');
      const checked = new Date().toLocaleString();
      renderGrid($('ops-anodes'), an.column_meta, an.data, {
        heads: ['status checked'],
        cells: () => [cell(checked)],
      });
      const full = await sql('show anodes full');
      renderGrid($('ops-algos'), full.column_meta, full.data);
      const st = await sql('show streams');
      const next = st.column_meta.findIndex((c) => c[0] === 'next_window');
      renderGrid($('ops-streams'), st.column_meta, st.data, {
        first: true,
        heads: ['', 'lag (now − next_window)'],
        cells: (row) => {
          const lag = cell(row[next] === null ? null : ago(Date.now() - Date.parse(row[next])));
          const td = document.createElement('td');
          const b = Object.assign(document.createElement('button'), { textContent: 'Kill' });
          b.setAttribute('aria-label', `kill stream ${row[1]}`);
          b.addEventListener('click', async () => {
            if (!confirm(`Kill stream ${row[1]} (id ${row[0]})?`)) return;
            try {
              await sql(`kill stream ${row[0]}`);
              refreshOps();
            } catch (e) {
              showError(err, e);
            }
          });
          td.append(b);
          return [td, lag];
        },
      });
      const subs = await sql('select * from information_schema.ins_subscriptions');
      renderGrid($('ops-subs'), subs.column_meta, subs.data);
      const du = await sql('select * from information_schema.ins_disk_usage');
      const bytes = du.column_meta.findIndex((c) => c[0] === 'data_bytes');
      renderGrid($('ops-dbs'), du.column_meta, du.data, { heads: ['size'], cells: (row) => [cell(human(row[bytes]))] });
      $('ops-status').textContent = `as of ${new Date().toLocaleTimeString()}`;
    } catch (e) {
      $('ops-status').textContent = '';
      showError(err, e);
    }
  }

  // --- wiring -------------------------------------------------------------------------

  $('login-form').addEventListener('submit', (e) => {
    e.preventDefault();
    signIn($('login-user').value, $('login-password').value);
  });
  $('logout').addEventListener('click', () => signOut('Signed out.'));
  const tabs = [...document.querySelectorAll('#tabs button')];
  tabs.forEach((b, i) => {
    b.addEventListener('click', () => showView(b.dataset.view));
    b.addEventListener('keydown', (e) => {
      const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
      if (!d) return;
      const t = tabs[(i + d + tabs.length) % tabs.length];
      t.focus();
      showView(t.dataset.view);
    });
  });
  $('sql-run').addEventListener('click', runSql);
  $('sql-text').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      runSql();
    }
  });
  $('sql-history').addEventListener('change', (e) => {
    if (e.target.value) $('sql-text').value = e.target.value;
    $('sql-text').focus();
  });
  $('sql-csv').addEventListener('click', downloadCsv);
  $('sql-prev').addEventListener('click', () => { result.page--; renderPage(); });
  $('sql-next').addEventListener('click', () => { result.page++; renderPage(); });
  $('ex-db').addEventListener('change', () => loadTables().catch((e) => showError($('ex-error'), e)));
  $('ex-table').addEventListener('change', () => loadColumns().catch((e) => showError($('ex-error'), e)));
  $('ex-range').addEventListener('change', () => { $('ex-custom').hidden = $('ex-range').value !== 'custom'; });
  $('ex-draw').addEventListener('click', draw);
  $('fc-run').addEventListener('click', forecast);
  $('ad-run').addEventListener('click', anomalies);
  $('ex-clear').addEventListener('click', () => {
    ex.forecast = null;
    ex.windows = [];
    $('fc-model').textContent = '';
    plot();
  });
  $('ops-refresh').addEventListener('click', refreshOps);

  // what the browser test reads: the chart's data and overlays
  window.tsdbConsole = {
    chart: () => ex.chart,
    chartState() {
      const u = ex.chart;
      return u && {
        points: ex.series ? ex.series.xs.length : 0,
        series: u.series.map((s) => s.label || ''),
        dataLengths: u.data.map((d) => d.length),
        bands: (u.bands || []).length,
        forecastRows: ex.forecast ? ex.forecast.xs.length : 0,
        model: ex.forecast ? ex.forecast.model : '',
        windows: ex.windows.length,
        canvas: [u.ctx.canvas.width, u.ctx.canvas.height],
      };
    },
    /** Canvas points (device pixels) inside the first anomaly window near
     *  the plot's top, inside the forecast band, and in a clear spot. */
    probes() {
      const u = ex.chart, f = ex.forecast, w = ex.windows[0];
      const top = u.bbox.top + 4;
      const probe = {};
      if (w) probe.window = [(u.valToPos(w.start, 'x', true) + u.valToPos(w.end, 'x', true)) / 2 + 1, top];
      if (f) {
        const k = Math.floor(f.xs.length / 2);
        probe.band = [u.valToPos(f.xs[k], 'x', true), u.valToPos((f.hi[k] * 3 + f.val[k]) / 4, 'y', true)];
      }
      probe.plain = [u.bbox.left + 3, top];
      return probe;
    },
  };

  renderHistory();
  if (token) start();
  else signOut();
})();
