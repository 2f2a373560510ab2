/// The operator dashboard served at /ui: one self-contained page (no CDN; the server may have no
/// internet) that logs in with the master key and draws its charts as inline SVG from the admin API.
enum DashboardPage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>RouterShift dashboard</title>
        <style>
        :root{--bg:#f4f5f7;--card:#fff;--line:#e2e5ea;--text:#1c2230;--muted:#6b7280;--accent:#2f6fde;--soft:#e8eefb;--ok:#1a7f37;--bad:#cf222e;--warn:#b26b00}
        *{box-sizing:border-box}
        body{margin:0;background:var(--bg);color:var(--text);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
        header{display:flex;align-items:center;gap:12px;padding:10px 24px;background:var(--card);border-bottom:1px solid var(--line);flex-wrap:wrap}
        header h1{font-size:17px;margin:0 auto 0 0;font-weight:650;letter-spacing:-.01em}
        header h1 span{color:var(--accent)}
        select,button,input{font:inherit;color:inherit}
        select,input{border:1px solid var(--line);border-radius:6px;padding:5px 8px;background:#fff}
        button{border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:6px;padding:5px 12px;cursor:pointer}
        button:hover{filter:brightness(1.08)}
        a{color:var(--accent)}
        .muted{color:var(--muted)}
        .small{font-size:12px}
        main{padding:20px 24px;max-width:1500px;margin:0 auto}
        .grid{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:16px}
        .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;min-width:0}
        .card h2{font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 8px;font-weight:600;display:flex;justify-content:space-between;gap:8px}
        .wide{grid-column:span 2}.full{grid-column:1/-1}
        .big{font-size:28px;font-weight:650;letter-spacing:-.02em;line-height:1.15}
        .subs{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:6px;margin-top:10px;border-top:1px solid var(--line);padding-top:8px}
        .subs div{font-size:11px;color:var(--muted);overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
        .subs b{display:block;font-size:14px;color:var(--text);font-weight:600}
        .scroll{overflow-x:auto}
        table{width:100%;border-collapse:collapse;font-size:13px}
        th{font-weight:600;color:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.04em;text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
        td{padding:6px 8px;border-bottom:1px solid #f0f1f4;vertical-align:middle}
        tr:last-child td{border-bottom:0}
        .num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        .name{max-width:260px;min-width:110px;overflow-wrap:anywhere}
        .name small{display:block;color:var(--muted);font-size:11px}
        .barcell{width:32%;min-width:80px}
        .hbar{display:block;width:100%;height:10px}
        .pill{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;white-space:nowrap}
        .closed{background:#dafbe1;color:var(--ok)}.open{background:#ffebe9;color:var(--bad)}.half-open{background:#fff4d6;color:var(--warn)}
        .status{font-weight:600;color:var(--bad)}
        .empty{color:var(--muted);padding:10px 0;margin:0}
        .err{color:var(--bad);margin:4px 0}
        svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;fill:var(--muted)}
        #login{max-width:360px;margin:12vh auto;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:28px}
        #login h1{font-size:20px;margin:0 0 4px}
        #login form{display:flex;flex-direction:column;gap:10px;margin-top:16px}
        #login-error{min-height:1.4em;margin:6px 0 0}
        body[data-view="login"] header,body[data-view="login"] main{display:none}
        body:not([data-view="login"]) #login{display:none}
        @media (max-width:1000px){.grid{grid-template-columns:repeat(2,minmax(0,1fr))}.wide{grid-column:1/-1}}
        @media (max-width:600px){.grid{grid-template-columns:1fr}main,header{padding-left:12px;padding-right:12px}}
        </style>
        </head>
        <body data-view="login">
        <section id="login">
          <h1>Router<span style="color:var(--accent)">Shift</span></h1>
          <div class="muted">Operator dashboard. Sign in with the master key.</div>
          <form id="login-form" autocomplete="off">
            <input type="text" name="username" autocomplete="username" value="master" hidden>
            <input id="login-key" type="password" autocomplete="current-password" placeholder="Master key" aria-label="Master key" required>
            <button type="submit">Sign in</button>
          </form>
          <p id="login-error" class="err" role="alert"></p>
        </section>
        <header>
          <h1>Router<span>Shift</span> <span class="muted small" style="font-weight:400">dashboard</span></h1>
          <span id="status" class="muted small"></span>
          <select id="window" aria-label="Time window">
            <option value="3600">Last 1 hour</option>
            <option value="86400" selected>Last 24 hours</option>
            <option value="604800">Last 7 days</option>
            <option value="2592000">Last 30 days</option>
          </select>
          <button id="refresh" type="button">Refresh</button>
          <a href="#" id="logout">Log out</a>
        </header>
        <main>
          <div class="grid">
            <div class="card"><h2>Traffic</h2><div class="big" data-figure="requests" data-value="">&ndash;</div><div class="muted small">requests</div>
              <div class="subs"><div><b data-figure="errors" data-value="">&ndash;</b>errors</div><div><b id="error-rate">&ndash;</b>error rate</div><div><b data-figure="tokens_total" data-value="">&ndash;</b>tokens in/out</div></div></div>
            <div class="card"><h2>Cache</h2><div class="big" data-figure="cache_hit_rate" data-value="">&ndash;</div><div class="muted small">hit rate</div>
              <div class="subs"><div><b data-figure="exact_hits" data-value="">&ndash;</b>exact hits</div><div><b data-figure="semantic_hits" data-value="">&ndash;</b>semantic hits</div><div><b data-figure="misses" data-value="">&ndash;</b>misses</div></div></div>
            <div class="card"><h2>Spend</h2><div class="big" data-figure="cost" data-value="">&ndash;</div><div class="muted small">cost</div>
              <div class="subs"><div><b data-figure="cost_saved" data-value="">&ndash;</b>saved by cache</div><div><b data-figure="tokens_saved" data-value="">&ndash;</b>tokens saved</div><div><b id="cost-per-req">&ndash;</b>per request</div></div></div>
            <div class="card"><h2>Latency</h2><div class="big" data-figure="latency_p50" data-value="">&ndash;</div><div class="muted small">p50</div>
              <div class="subs"><div><b data-figure="latency_p90" data-value="">&ndash;</b>p90</div><div><b data-figure="latency_p99" data-value="">&ndash;</b>p99</div><div><b data-figure="ttft_p50" data-value="">&ndash;</b>TTFT p50</div></div></div>
            <div class="card full"><h2><span>Request volume</span><span id="volume-note" class="muted"></span></h2><div id="volume"></div></div>
            <div class="card wide"><h2>Spend by model</h2><div id="spend-model" class="scroll"></div></div>
            <div class="card wide"><h2>Spend by key</h2><div id="spend-key" class="scroll"></div></div>
            <div class="card full"><h2>Deployments &amp; circuit breakers</h2><div id="breakers" class="scroll"></div></div>
            <div class="card full"><h2>Recent errors</h2><div id="errors" class="scroll"></div></div>
            <div class="card wide"><h2>Cache over time</h2><div id="cache-time" class="scroll"></div></div>
            <div class="card wide"><h2>Cosine of recent semantic hits</h2><div id="similarity"></div></div>
            <div class="card full"><h2>Wrong-hit audits</h2><div id="audit" class="scroll"></div></div>
            <div class="card full"><h2>Recent semantic hits</h2><div id="hits" class="scroll"></div></div>
          </div>
        </main>
        <script>
        (function () {
          'use strict';
          var KEY = 'routershift.key', DASH = '\u2013';
          var key = null, generation = 0, lastVolume = null;
          var body = document.body;
          function $(id) { return document.getElementById(id); }
          function esc(s) {
            return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
              return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
            });
          }
          function isNum(v) { return typeof v === 'number' && isFinite(v); }
          function fmtInt(v) { return isNum(v) ? Math.round(v).toLocaleString('en-US') : DASH; }
          function fmtCompact(v, kFrom) {
            if (!isNum(v)) return DASH;
            var a = Math.abs(v);
            if (a >= 1e9) return (v / 1e9).toFixed(1).replace(/\.0$/, '') + 'B';
            if (a >= 1e6) return (v / 1e6).toFixed(1).replace(/\.0$/, '') + 'M';
            if (a >= (kFrom || 1e4)) return (v / 1e3).toFixed(1).replace(/\.0$/, '') + 'k';
            return fmtInt(v);
          }
          function fmtMoney(v) {
            if (!isNum(v)) return DASH;
            var a = Math.abs(v);
            if (a === 0) return '$0';
            if (a >= 1) return '$' + v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
            if (a >= 0.0001) return '$' + v.toFixed(4);
            return '$' + v.toPrecision(2);
          }
          function fmtPct(v) { return isNum(v) ? (v * 100).toFixed(1) + '%' : DASH; }
          function fmtMs(v) {
            if (!isNum(v)) return DASH;
            return v >= 1000 ? (v / 1000).toFixed(2) + ' s' : v.toFixed(1) + ' ms';
          }
          function pad(n) { return (n < 10 ? '0' : '') + n; }
          var MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
          function fmtTime(t, withDate) {
            var d = new Date(t * 1000), hm = pad(d.getHours()) + ':' + pad(d.getMinutes());
            return withDate ? MONTHS[d.getMonth()] + ' ' + d.getDate() + ' ' + hm : hm;
          }
          function fmtDay(t) { var d = new Date(t * 1000); return MONTHS[d.getMonth()] + ' ' + d.getDate(); }

          // ---- login state ----
          function setKey(k) {
            key = k || null;
            try { if (key) sessionStorage.setItem(KEY, key); else sessionStorage.removeItem(KEY); } catch (e) {}
          }
          function showLogin(message) {
            setKey(null);
            generation++;
            body.dataset.view = 'login';
            $('login-error').textContent = message || '';
            $('login-key').value = '';
            body.dataset.ready = 'true';
            setTimeout(function () { $('login-key').focus(); }, 0);
          }
          function showDashboard() {
            body.dataset.view = 'dashboard';
            $('login-error').textContent = '';
            refresh();
          }

          // ---- API ----
          function AuthError(message) { this.auth = true; this.message = message; }
          function api(path) {
            return fetch(path, { headers: { Authorization: 'Bearer ' + key }, cache: 'no-store' }).then(function (r) {
              return r.text().then(function (text) {
                var json = null;
                try { json = text ? JSON.parse(text) : null; } catch (e) {}
                var msg = json && json.error && json.error.message;
                if (r.status === 401 || r.status === 403) throw new AuthError(msg || ('HTTP ' + r.status));
                if (!r.ok) throw new Error(msg || ('HTTP ' + r.status));
                if (json === null) throw new Error('Invalid JSON from ' + path.split('?')[0]);
                return json;
              });
            });
          }

          // ---- figures ----
          function setFigure(name, value, fmt) {
            var els = document.querySelectorAll('[data-figure="' + name + '"]');
            var ok = isNum(value);
            for (var i = 0; i < els.length; i++) {
              els[i].dataset.value = ok ? String(value) : '';
              els[i].textContent = ok ? fmt(value) : DASH;
            }
          }
          function renderStats(s) {
            var c = s.cache || {}, t = s.tokens || {}, l = s.latency_ms || {}, f = s.ttft_ms || {};
            setFigure('requests', s.requests, fmtInt);
            setFigure('errors', s.errors, fmtInt);
            setFigure('cache_hit_rate', c.hit_rate, fmtPct);
            setFigure('exact_hits', c.exact_hits, fmtInt);
            setFigure('semantic_hits', c.semantic_hits, fmtInt);
            setFigure('misses', c.misses, fmtInt);
            setFigure('cost', s.cost, fmtMoney);
            setFigure('cost_saved', s.cost_saved, fmtMoney);
            setFigure('tokens_saved', t.saved, fmtCompact);
            setFigure('latency_p50', l.p50, fmtMs);
            setFigure('latency_p90', l.p90, fmtMs);
            setFigure('latency_p99', l.p99, fmtMs);
            setFigure('ttft_p50', f.p50, fmtMs);
            var tok = isNum(t.input) && isNum(t.output) ? t.input + t.output : null;
            setFigure('tokens_total', tok, fmtCompact);
            var tt = document.querySelector('[data-figure="tokens_total"]');
            if (tok !== null) tt.textContent = fmtCompact(t.input, 1e3) + ' / ' + fmtCompact(t.output, 1e3);
            $('error-rate').textContent = isNum(s.requests) && s.requests > 0 && isNum(s.errors) ? fmtPct(s.errors / s.requests) : DASH;
            $('cost-per-req').textContent = isNum(s.requests) && s.requests > 0 && isNum(s.cost) ? fmtMoney(s.cost / s.requests) : DASH;
          }

          // ---- volume chart (inline SVG) ----
          function niceMax(v) {
            if (!(v > 5)) return 5;
            var p = Math.pow(10, Math.floor(Math.log10(v))), steps = [1, 2, 2.5, 5, 10];
            for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
            return 10 * p;
          }
          function drawVolume(v) {
            var rows = v.rows, step = v.step, from = v.from, to = v.to, counts = {}, costs = {}, total = 0;
            rows.forEach(function (r) {
              if (!isNum(r.period_start)) return;
              counts[r.period_start] = (counts[r.period_start] || 0) + (r.requests || 0);
              costs[r.period_start] = (costs[r.period_start] || 0) + (r.cost || 0);
              total += r.requests || 0;
            });
            var keys = Object.keys(counts).map(Number).sort(function (a, b) { return a - b; });
            var offset = keys.length ? ((keys[0] % step) + step) % step : 0;
            var start = Math.floor((from - offset) / step) * step + offset, seen = {}, periods = [];
            for (var t = start; t <= to; t += step) { periods.push(t); seen[t] = 1; }
            keys.forEach(function (k) { if (!seen[k]) periods.push(k); });
            periods.sort(function (a, b) { return a - b; });

            var host = $('volume'), W = Math.max(320, Math.floor(host.clientWidth || 900)), H = 220;
            var ml = 46, mr = 8, mt = 10, mb = 26, pw = W - ml - mr, ph = H - mt - mb;
            var max = 0; keys.forEach(function (k) { if (counts[k] > max) max = counts[k]; });
            var ymax = niceMax(max), n = periods.length, slot = pw / Math.max(n, 1);
            var bw = Math.max(1, Math.min(slot * 0.72, 48));
            var out = ['<svg data-chart="volume" width="100%" height="' + H + '" viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="Requests per ' + (step === 3600 ? 'hour' : 'day') + '">'];
            for (var i = 0; i <= 5; i++) {
              var yv = ymax * i / 5, y = mt + ph - ph * i / 5;
              out.push('<line x1="' + ml + '" x2="' + (W - mr) + '" y1="' + y.toFixed(1) + '" y2="' + y.toFixed(1) + '" stroke="' + (i ? '#eef0f3' : '#c9ced6') + '"/>');
              out.push('<text x="' + (ml - 6) + '" y="' + (y + 4).toFixed(1) + '" text-anchor="end">' + esc(fmtCompact(yv)) + '</text>');
            }
            var every = Math.max(1, Math.ceil(n / Math.max(2, Math.floor(pw / 70))));
            var dated = step === 3600 && (to - from) > 86400 / 2;
            periods.forEach(function (p, idx) {
              var cx = ml + slot * idx + slot / 2;
              if (idx % every === 0) {
                var label = step === 3600 ? fmtTime(p, dated && (new Date(p * 1000).getHours() < every || idx === 0)) : fmtDay(p);
                out.push('<text x="' + cx.toFixed(1) + '" y="' + (H - 8) + '" text-anchor="middle">' + esc(label) + '</text>');
              }
              if (!(p in counts)) return;
              var val = counts[p], h = ymax ? ph * val / ymax : 0;
              if (val > 0 && h < 2) h = 2;
              out.push('<rect x="' + (cx - bw / 2).toFixed(1) + '" y="' + (mt + ph - h).toFixed(1) + '" width="' + bw.toFixed(1) + '" height="' + h.toFixed(1) +
                '" rx="2" fill="#2f6fde" data-period="' + esc(p) + '" data-value="' + esc(val) + '"><title>' +
                esc((step === 3600 ? fmtTime(p, true) : fmtDay(p)) + ': ' + fmtInt(val) + ' requests, ' + fmtMoney(costs[p])) + '</title></rect>');
            });
            if (!keys.length) out.push('<text x="' + (ml + pw / 2) + '" y="' + (mt + ph / 2) + '" text-anchor="middle">No requests in this window</text>');
            out.push('</svg>');
            host.innerHTML = out.join('');
            $('volume-note').textContent = fmtInt(total) + ' requests, per ' + (step === 3600 ? 'hour' : 'day');
          }

          // ---- tables ----
          function hbar(frac) {
            var w = Math.max(0, Math.min(1, frac || 0)) * 100;
            return '<svg class="hbar" viewBox="0 0 100 10" preserveAspectRatio="none"><rect width="100" height="10" rx="2" fill="#e8eefb"/>' +
              (w > 0 ? '<rect width="' + Math.max(w, 0.8).toFixed(2) + '" height="10" rx="2" fill="#2f6fde"/>' : '') + '</svg>';
          }
          function renderSpend(id, attr, rows, isKey) {
            if (!rows.length) { $(id).innerHTML = '<p class="empty">No spend in this window.</p>'; return; }
            rows = rows.slice().sort(function (a, b) { return (b.cost || 0) - (a.cost || 0) || (b.requests || 0) - (a.requests || 0); });
            var max = 0; rows.forEach(function (r) { if ((r.cost || 0) > max) max = r.cost || 0; });
            var h = ['<table><thead><tr><th>' + (isKey ? 'Key' : 'Model') + '</th><th></th><th class="num">Cost</th><th class="num">Requests</th><th class="num">Saved</th></tr></thead><tbody>'];
            rows.forEach(function (r) {
              var g = r.group == null ? '' : String(r.group);
              var label = isKey && r.name ? esc(r.name) + '<small>' + esc(g) + '</small>' : (g ? esc(g) : '<span class="muted">(none)</span>');
              h.push('<tr ' + attr + '="' + esc(g) + '" data-value="' + esc(isNum(r.cost) ? r.cost : '') + '"><td class="name">' + label + '</td><td class="barcell">' +
                hbar(max > 0 ? (r.cost || 0) / max : 0) + '</td><td class="num">' + fmtMoney(r.cost) + '</td><td class="num">' + fmtInt(r.requests) +
                '</td><td class="num">' + fmtMoney(r.cost_saved) + '</td></tr>');
            });
            h.push('</tbody></table>');
            $(id).innerHTML = h.join('');
          }
          function renderBreakers(rows) {
            if (!rows.length) { $('breakers').innerHTML = '<p class="empty">No deployments configured.</p>'; return; }
            var h = ['<table><thead><tr><th>Deployment</th><th>Group</th><th>Breaker</th><th class="num">Latency</th><th class="num">TTFT</th><th class="num">In flight</th><th class="num">Recent error rate</th><th class="num">Total requests</th><th class="num">Failures</th></tr></thead><tbody>'];
            rows.forEach(function (d) {
              var st = String(d.breaker || ''), cls = ['closed', 'open', 'half-open'].indexOf(st) >= 0 ? st : '';
              var re = isNum(d.breaker_reopens_in_s) ? ' <span class="muted small">reopens in ' + Math.ceil(d.breaker_reopens_in_s) + 's</span>' : '';
              h.push('<tr data-breaker="' + esc(d.name) + '" data-value="' + esc(st) + '" data-requests="' + esc(d.total_requests) + '"><td class="name">' + esc(d.name) +
                '</td><td class="name">' + esc(d.group) + '</td><td><span class="pill ' + cls + '">' + esc(st || DASH) + '</span>' + re +
                '</td><td class="num">' + fmtMs(d.latency_ms) + '</td><td class="num">' + fmtMs(d.ttft_ms) +
                '</td><td class="num">' + fmtInt(d.in_flight) + '</td><td class="num">' + fmtPct(d.recent_error_rate) +
                ' <span class="muted small">of ' + fmtInt(d.recent_requests) + '</span></td><td class="num">' + fmtInt(d.total_requests) +
                '</td><td class="num">' + fmtInt(d.total_failures) + '</td></tr>');
            });
            h.push('</tbody></table>');
            $('breakers').innerHTML = h.join('');
          }
          function renderErrors(rows) {
            if (!rows.length) { $('errors').innerHTML = '<p class="empty">No errors in this window.</p>'; return; }
            var h = ['<table><thead><tr><th>Time</th><th>Status</th><th>Model</th><th>Deployment</th><th>Error</th><th>Endpoint</th><th class="num">Retries</th><th class="num">Latency</th></tr></thead><tbody>'];
            rows.forEach(function (e) {
              var dep = e.deployment || e.provider;
              h.push('<tr data-error-id="' + esc(e.id) + '"><td class="num" style="text-align:left">' + (isNum(e.time) ? esc(fmtTime(e.time, true) + ':' + pad(new Date(e.time * 1000).getSeconds())) : DASH) +
                '</td><td class="status">' + esc(e.status) + '</td><td class="name">' + esc(e.model || DASH) + '</td><td class="name">' + esc(dep || DASH) +
                '</td><td>' + esc(e.error_type || DASH) + '</td><td class="muted">' + esc(e.endpoint || '') + '</td><td class="num">' + fmtInt(e.retries) +
                '</td><td class="num">' + fmtMs(e.latency_ms) + '</td></tr>');
            });
            h.push('</tbody></table>');
            $('errors').innerHTML = h.join('');
          }
          // ---- semantic cache ----
          function renderCacheTime(rows) {
            var byPeriod = {};
            rows.forEach(function (r) {
              var p = byPeriod[r.period_start] || (byPeriod[r.period_start] = { hits: 0, saved: 0, requests: 0 });
              p.hits += r.cache_hits || 0; p.saved += r.cost_saved || 0; p.requests += r.requests || 0;
            });
            var periods = Object.keys(byPeriod).map(Number).sort(function (a, b) { return b - a; });
            if (!periods.length) { $('cache-time').innerHTML = '<p class="empty">No requests in this window.</p>'; return; }
            var h = ['<table><thead><tr><th>Period</th><th class="num">Requests</th><th class="num">Cache hits</th><th class="num">Hit rate</th><th class="num">Saved</th></tr></thead><tbody>'];
            periods.forEach(function (t) {
              var p = byPeriod[t];
              h.push('<tr data-cache-period="' + t + '" data-hits="' + p.hits + '" data-saved="' + p.saved + '"><td>' + esc(fmtTime(t, true)) +
                '</td><td class="num">' + fmtInt(p.requests) + '</td><td class="num">' + fmtInt(p.hits) + '</td><td class="num">' +
                (p.requests ? fmtPct(p.hits / p.requests) : DASH) + '</td><td class="num">' + fmtMoney(p.saved) + '</td></tr>');
            });
            h.push('</tbody></table>');
            $('cache-time').innerHTML = h.join('');
          }
          function renderSimilarity(hits) {
            if (!hits.length) { $('similarity').innerHTML = '<p class="empty">No semantic hits yet.</p>'; return; }
            var buckets = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0], low = 0.5;
            hits.forEach(function (x) { buckets[Math.min(9, Math.max(0, Math.floor((x.similarity - low) / 0.05)))]++; });
            var most = Math.max.apply(null, buckets) || 1, h = ['<table><tbody>'];
            buckets.forEach(function (n, i) {
              var from = (low + i * 0.05).toFixed(2);
              h.push('<tr data-similarity-bucket="' + from + '" data-count="' + n + '"><td class="num">' + (i === 0 ? '&lt; ' + (low + 0.05).toFixed(2) : from) +
                '</td><td style="width:80%"><div style="background:#4a7dbd;height:0.8em;width:' + (100 * n / most) + '%"></div></td><td class="num">' + n + '</td></tr>');
            });
            h.push('</tbody></table><p class="muted small">Verifier score, where it judged: ' +
              esc(hits.filter(function (x) { return isNum(x.verifier_score); }).map(function (x) { return x.verifier_score.toFixed(2); }).join(', ') || DASH) +
              '. Near-misses are recorded where audited (cache.audit.near_miss_rate), as labels of source near-miss.</p>');
            $('similarity').innerHTML = h.join('');
          }
          function renderAudit(a) {
            var groups = a.groups || [];
            if (!groups.length) { $('audit').innerHTML = '<p class="empty">No audits yet' + (a.rate ? '' : ' (cache.audit is off)') + '.</p>'; return; }
            var h = ['<table><thead><tr><th>Model</th><th class="num">Audits</th><th class="num">Disagreements</th><th class="num">Estimate</th><th>95% interval</th><th class="num">Tightened by</th><th class="num">Allowed</th><th class="num">Near-miss audits</th><th class="num">Near-misses wrong</th></tr></thead><tbody>'];
            groups.forEach(function (g) {
              var i = g.interval || [null, null], p = g.operating_point || {}, n = g.near_misses || {};
              h.push('<tr data-audit-model="' + esc(g.model) + '" data-audits="' + g.audits + '" data-disagreements="' + g.disagreements +
                '" data-estimate="' + (isNum(g.estimate) ? g.estimate : '') + '" data-upper="' + (isNum(i[1]) ? i[1] : '') +
                '" data-near-miss-audits="' + (n.audits || 0) + '"><td class="name">' + esc(g.model) +
                '</td><td class="num">' + fmtInt(g.audits) + '</td><td class="num">' + fmtInt(g.disagreements) + '</td><td class="num">' + fmtPct(g.estimate) +
                '</td><td>' + fmtPct(i[0]) + ' &ndash; ' + fmtPct(i[1]) + '</td><td class="num">' + (isNum(p.strictness) ? p.strictness.toFixed(2) : DASH) +
                '</td><td class="num">' + fmtPct(g.max_wrong_hit_rate) + '</td><td class="num">' + fmtInt(n.audits || 0) +
                '</td><td class="num">' + fmtPct(n.estimate) + '</td></tr>');
            });
            h.push('</tbody></table>');
            $('audit').innerHTML = h.join('');
          }
          function renderHits(hits) {
            renderSimilarity(hits);
            if (!hits.length) { $('hits').innerHTML = '<p class="empty">No semantic hits yet.</p>'; return; }
            var h = ['<table><thead><tr><th>Time</th><th>Prompt</th><th>Answered from</th><th class="num">Cosine</th><th class="num">Verifier</th><th></th></tr></thead><tbody>'];
            hits.forEach(function (x) {
              h.push('<tr data-hit-request="' + esc(x.request_id) + '" data-similarity="' + x.similarity + '"><td>' + esc(fmtTime(x.time, true)) +
                '</td><td>' + esc(x.prompt) + '</td><td>' + (x.matched_prompt == null ? '<span class="muted">(entry removed)</span>' : esc(x.matched_prompt)) +
                '</td><td class="num">' + x.similarity.toFixed(3) + '</td><td class="num">' + (isNum(x.verifier_score) ? x.verifier_score.toFixed(3) : DASH) +
                '</td><td><button type="button" data-wrong="' + esc(x.request_id) + '">Mark wrong</button> ' +
                (x.matched_prompt == null ? '' : '<button type="button" data-purge="' + x.entry_id + '">Purge entry</button>') + '</td></tr>');
            });
            h.push('</tbody></table>');
            $('hits').innerHTML = h.join('');
          }
          function post(path, payload) {
            return fetch(path, { method: 'POST', headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' }, body: JSON.stringify(payload) })
              .then(function (r) { return r.text().then(function (t) { if (!r.ok) throw new Error(r.status + ' ' + t); return t; }); });
          }
          $('hits').addEventListener('click', function (ev) {
            var b = ev.target;
            if (b.dataset.wrong) post('/v1/cache/feedback', { request_id: b.dataset.wrong, correct: false }).then(refresh, function (e) { $('status').textContent = 'Feedback failed: ' + e.message; });
            if (b.dataset.purge) post('/admin/cache/purge', { id: Number(b.dataset.purge) }).then(refresh, function (e) { $('status').textContent = 'Purge failed: ' + e.message; });
          });

          function fail(id, err) { $(id).innerHTML = '<p class="err">Could not load: ' + esc(err && err.message || err) + '</p>'; }

          // ---- refresh ----
          function refresh() {
            if (!key) { showLogin(''); return; }
            var gen = ++generation;
            delete body.dataset.ready;
            $('status').textContent = 'Loading...';
            var win = Number($('window').value) || 86400;
            // `to` is exclusive: the next whole second, so requests of this very second count.
            var to = Math.floor(Date.now() / 1000) + 1, from = to - win, step = win <= 86400 ? 3600 : 86400;
            var range = 'from=' + from + '&to=' + to;
            var jobs = [
              [api('/admin/stats?' + range), renderStats, function (e) { $('status').textContent = 'Stats failed: ' + (e && e.message); }],
              [api('/admin/spend?' + range + '&interval=' + (step === 3600 ? 'hour' : 'day')), function (j) {
                lastVolume = { rows: j.data || [], step: step, from: from, to: to }; drawVolume(lastVolume);
                renderCacheTime(j.data || []);
              }, function (e) { fail('volume', e); }],
              [api('/admin/cache/audit'), renderAudit, function (e) { fail('audit', e); }],
              [api('/admin/cache/hits?limit=20'), function (j) { renderHits(j.data || []); }, function (e) { fail('hits', e); }],
              [api('/admin/spend?group_by=model&' + range), function (j) { renderSpend('spend-model', 'data-spend-model', j.data || [], false); }, function (e) { fail('spend-model', e); }],
              [api('/admin/spend?group_by=key&' + range), function (j) { renderSpend('spend-key', 'data-spend-key', j.data || [], true); }, function (e) { fail('spend-key', e); }],
              [api('/admin/routing'), function (j) { renderBreakers(j.data || []); }, function (e) { fail('breakers', e); }],
              [api('/admin/logs?errors=true&limit=20&' + range), function (j) { renderErrors(j.data || []); }, function (e) { fail('errors', e); }]
            ];
            var authError = null, failed = 0;
            Promise.all(jobs.map(function (job) {
              return job[0].then(function (json) {
                if (gen !== generation) return;
                try { job[1](json); } catch (e) { failed++; job[2](e); if (window.console) console.error(e); }
              }, function (err) {
                if (gen !== generation) return;
                if (err && err.auth) { authError = authError || err; return; }
                failed++; job[2](err);
              });
            })).then(function () {
              if (gen !== generation) return;
              if (authError) { showLogin(authError.message); return; }
              if (failed === 0 || $('status').textContent === 'Loading...')
                $('status').textContent = (failed ? failed + ' panel(s) failed, ' : '') + 'updated ' + fmtTime(to) + ':' + pad(new Date(to * 1000).getSeconds());
              body.dataset.ready = 'true';
            });
          }

          // ---- wiring ----
          $('login-form').addEventListener('submit', function (ev) {
            ev.preventDefault();
            var k = $('login-key').value.trim();
            if (!k) return;
            setKey(k);
            showDashboard();
          });
          $('logout').addEventListener('click', function (ev) { ev.preventDefault(); showLogin(''); });
          $('refresh').addEventListener('click', refresh);
          $('window').addEventListener('change', function () {
            try { sessionStorage.setItem('routershift.window', $('window').value); } catch (e) {}
            refresh();
          });
          var resizeTimer = null;
          window.addEventListener('resize', function () {
            clearTimeout(resizeTimer);
            resizeTimer = setTimeout(function () { if (lastVolume && body.dataset.view === 'dashboard') drawVolume(lastVolume); }, 150);
          });
          setInterval(function () { if (key && !document.hidden && body.dataset.view === 'dashboard') refresh(); }, 30000);

          try {
            var w = sessionStorage.getItem('routershift.window');
            if (w && $('window').querySelector('option[value="' + w + '"]')) $('window').value = w;
          } catch (e) {}
          var m = /^#key=(.+)$/.exec(location.hash);
          if (m) {
            var k = m[1];
            try { k = decodeURIComponent(k); } catch (e) {}
            setKey(k);
            history.replaceState(null, '', location.pathname + location.search);
          } else {
            try { key = sessionStorage.getItem(KEY); } catch (e) { key = null; }
          }
          if (key) showDashboard(); else showLogin('');
        })();
        </script>
        </body>
        </html>
        """#
}
