// The taskbroker dashboard: plain JavaScript, no build step. Every page is drawn from the JSON API
// (the same one scripts use); live data arrives on one event stream per tab, fed by the dashboard
// process's single statistics thread. Text from jobs is only ever set as textContent.
'use strict';

let me = null;
let events = null;
let stats = null;
let onStats = null;
let onJob = null;
let onFinished = null;
// Each navigation's number: a page whose answers arrive after a later navigation began draws
// nothing (two quick clicks could otherwise finish out of order and show the first page).
let generation = 0;

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

async function api(path, options = {}) {
  const headers = Object.assign({ 'Accept': 'application/json' }, options.headers || {});
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (options.method && options.method !== 'GET' && me && me.csrf) headers['X-CSRF-Token'] = me.csrf;
  const res = await fetch('api/' + path, {
    method: options.method || 'GET', headers, credentials: 'same-origin',
    body: options.body === undefined ? undefined : JSON.stringify(options.body)
  });
  const data = res.status === 204 ? {} : await res.json().catch(() => ({ error: res.statusText }));
  if (!res.ok) { const e = new Error(data.error || res.statusText); e.status = res.status; throw e; }
  return data;
}

function toast(text) {
  const t = document.getElementById('toast');
  t.textContent = text; t.classList.add('show');
  clearTimeout(toast.timer); toast.timer = setTimeout(() => t.classList.remove('show'), 4000);
}

function ago(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = Math.round(ms / 1000);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 86400) return (s / 3600).toFixed(1) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}
function time(iso) { return iso ? new Date(iso).toLocaleString() : '—'; }
function statusCell(s) { return h('span', { class: 'status ' + s }, s); }

function confirmDialog(text) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  return new Promise(resolve => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.showModal();
    document.getElementById('confirm-no').focus();
  });
}

async function act(label, path, body) {
  try {
    const out = await api(path, { method: 'POST', body: body || {} });
    toast(label + ': done');
    return out;
  } catch (e) { toast(label + ' refused: ' + e.message); throw e; }
}

function actionButton(label, cls, handler) {
  if (!me || !me.can_act) return null;
  return h('button', { class: cls, type: 'button', onclick: handler }, label);
}

function spark(values) {
  const w = 120, hgt = 24, max = Math.max(1, ...values);
  const pts = values.map((v, i) => (i * w / (values.length - 1)).toFixed(1) + ',' + (hgt - v * hgt / max).toFixed(1));
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`); svg.setAttribute('width', w); svg.setAttribute('height', hgt);
  svg.setAttribute('class', 'spark'); svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'jobs finished per minute, last hour: ' + values.reduce((a, b) => a + b, 0));
  const line = document.createElementNS(svg.namespaceURI, 'polyline');
  line.setAttribute('points', pts.join(' ')); line.setAttribute('fill', 'none');
  line.setAttribute('stroke', '#2d5bd7'); line.setAttribute('stroke-width', '1.5');
  svg.append(line);
  return svg;
}

function chart(series, colors, label) {
  const w = 600, hgt = 150;
  const all = Object.values(series).flat().filter(v => v !== null);
  const max = Math.max(1, ...all);
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${w} ${hgt + 14}`); svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img'); svg.setAttribute('aria-label', label);
  let i = 0;
  for (const [name, values] of Object.entries(series)) {
    const pts = [];
    values.forEach((v, x) => { if (v !== null) pts.push((x * w / (values.length - 1)).toFixed(1) + ',' + (hgt - v * hgt / max).toFixed(1)); });
    const line = document.createElementNS(svg.namespaceURI, 'polyline');
    line.setAttribute('points', pts.join(' ')); line.setAttribute('fill', 'none');
    line.setAttribute('stroke', colors[i++ % colors.length]); line.setAttribute('stroke-width', '2');
    svg.append(line);
  }
  const top = document.createElementNS(svg.namespaceURI, 'text');
  top.setAttribute('x', 2); top.setAttribute('y', 12); top.setAttribute('font-size', 11);
  top.textContent = 'max ' + Math.round(max * 10) / 10;
  svg.append(top);
  return svg;
}

// ---- pages ----

function limitsText(l) {
  if (!l) return '—';
  const parts = [];
  if (l.global_concurrency) parts.push('≤ ' + l.global_concurrency + ' running');
  if (l.rate_limit) parts.push(l.rate_limit + ' / ' + ago(l.rate_period_ms));
  if (l.key_concurrency) parts.push(l.key_concurrency + ' per key');
  return parts.length ? parts.join(' · ') : '—';
}

function queuesTable(snapshot) {
  const rows = snapshot.queues.map(q => h('tr', { 'data-queue': q.name },
    h('td', {}, h('a', { href: '#/jobs?queue=' + encodeURIComponent(q.name) }, q.name), q.paused ? h('span', { class: 'muted paused' }, ' (paused)') : null),
    h('td', { class: 'num ready' }, q.ready), h('td', { class: 'num scheduled' }, q.scheduled),
    h('td', { class: 'num running' }, q.running),
    h('td', { class: 'num failed' }, h('a', { href: '#/jobs?status=failed&queue=' + encodeURIComponent(q.name) }, q.failed_1h)),
    h('td', { class: 'num oldest hide-small' }, ago(q.oldest_ready_ms)),
    h('td', { class: 'hide-small' }, spark(q.throughput)),
    h('td', { class: 'limits hide-small' }, limitsText(q.limits)),
    h('td', { class: 'actions' }, q.paused
      ? actionButton('Resume', 'resume', () => act('Resume ' + q.name, 'queues/' + encodeURIComponent(q.name) + '/resume').then(refreshOverview))
      : actionButton('Pause', 'pause', () => act('Pause ' + q.name, 'queues/' + encodeURIComponent(q.name) + '/pause').then(refreshOverview)))));
  return h('table', { id: 'queues' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Queue'), h('th', { class: 'num' }, 'Ready'), h('th', { class: 'num' }, 'Scheduled'),
      h('th', { class: 'num' }, 'Running'), h('th', { class: 'num' }, 'Failed (1 h)'), h('th', { class: 'num hide-small' }, 'Oldest ready'),
      h('th', { class: 'hide-small' }, 'Finished / min (1 h)'), h('th', { class: 'hide-small' }, 'Limits'), h('th', {}, ''))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'No queues yet.'))));
}

// Redraws the queues table on every push; a keyboard user's focus on a row's button moves to the
// same button of the new table (else each push would drop it to the page's top).
function drawQueues(snapshot) {
  const holder = document.getElementById('queues-holder');
  if (!holder) return;
  const focused = holder.contains(document.activeElement) ? document.activeElement : null;
  const row = focused && focused.closest('tr[data-queue]');
  const queue = row && row.getAttribute('data-queue');
  const cell = focused && focused.closest('td');
  const column = cell ? Array.prototype.indexOf.call(row.children, cell) : -1;
  holder.replaceChildren(queuesTable(snapshot));
  if (queue === null || column < 0) return;
  for (const tr of holder.querySelectorAll('tr[data-queue]')) {
    if (tr.getAttribute('data-queue') !== queue) continue;
    const target = tr.children[column] && tr.children[column].querySelector('a, button');
    if (target) target.focus();
  }
}

async function refreshOverview() {
  const gen = generation;
  const fresh = await api('queues');
  if (gen !== generation) return;
  stats = fresh;
  drawQueues(stats);
}

async function overview(main, live) {
  main.replaceChildren(h('h1', {}, 'Overview'), h('div', { class: 'card', id: 'queues-holder' }, 'Loading…'));
  await refreshOverview();
  if (!live()) return;
  onStats = drawQueues;
}

function filterFromHash(params) {
  return { status: params.get('status') || '', queue: params.get('queue') || '', plugin: params.get('plugin') || '',
    from: params.get('from') || '', to: params.get('to') || '', q: params.get('q') || '' };
}

async function jobs(main, params, live) {
  const f = filterFromHash(params);
  const input = (id, label, value, type) => h('label', { for: id }, label, h('input', { id, name: id, value, type: type || 'text' }));
  const statusSelect = h('select', { id: 'f-status', name: 'status' },
    ['', 'pending', 'running', 'completed', 'failed', 'cancelled'].map(s => h('option', { value: s, selected: s === f.status }, s || 'any')));
  const form = h('form', { class: 'filters', id: 'filters', onsubmit: e => {
    e.preventDefault();
    const p = new URLSearchParams();
    const put = (k, v) => { if (v) p.set(k, v); };
    put('status', statusSelect.value); put('queue', form.querySelector('#f-queue').value.trim());
    put('plugin', form.querySelector('#f-plugin').value.trim()); put('q', form.querySelector('#f-q').value.trim());
    const from = form.querySelector('#f-from').value, to = form.querySelector('#f-to').value;
    if (from) put('from', new Date(from).toISOString()); if (to) put('to', new Date(to).toISOString());
    location.hash = '#/jobs?' + p.toString();
  } },
    h('label', { for: 'f-status' }, 'Status', statusSelect),
    input('f-queue', 'Queue', f.queue), input('f-plugin', 'Plugin', f.plugin),
    input('f-from', 'Created from', f.from ? localInput(f.from) : '', 'datetime-local'),
    input('f-to', 'Created before', f.to ? localInput(f.to) : '', 'datetime-local'),
    input('f-q', 'Error contains', f.q),
    h('button', { id: 'f-apply', type: 'submit' }, 'Filter'));
  const tbody = h('tbody', {});
  const more = h('button', { id: 'more', type: 'button', hidden: true }, 'Load more');
  const note = h('p', { class: 'muted', id: 'scan-note' });
  const bulk = h('div', { class: 'actions', id: 'bulk' });
  if (!live()) return;
  main.replaceChildren(h('h1', {}, 'Jobs'), h('div', { class: 'card' }, form), bulk,
    h('div', { class: 'card' }, h('table', { id: 'jobs' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Job'), h('th', {}, 'Status'), h('th', {}, 'Queue'), h('th', {}, 'Plugin'),
        h('th', { class: 'num hide-small' }, 'Attempt'), h('th', { class: 'hide-small' }, 'Created'), h('th', { class: 'hide-small' }, 'Error'))),
      tbody), more, note));

  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(f)) if (v) query.set(k, v);
  let cursor = null;
  async function load() {
    const q = new URLSearchParams(query);
    if (cursor) q.set('cursor', cursor);
    const page = await api('jobs?' + q.toString());
    for (const j of page.jobs) {
      tbody.append(h('tr', { 'data-id': j.id },
        h('td', {}, h('a', { href: '#/jobs/' + j.id }, j.id.slice(0, 8))), h('td', {}, statusCell(j.status)),
        h('td', {}, j.queue), h('td', {}, j.plugin), h('td', { class: 'num hide-small' }, j.attempt + '/' + j.max_attempts),
        h('td', { class: 'hide-small' }, time(j.created_at)), h('td', { class: 'hide-small error' }, j.error || '')));
    }
    cursor = page.next;
    more.hidden = !cursor;
    note.textContent = page.window_ended
      ? `Looked through ${page.scanned.toLocaleString()} more jobs; "Load more" searches further back.` : '';
    if (!tbody.children.length && !cursor) tbody.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No jobs match.')));
  }
  more.addEventListener('click', () => load().catch(e => toast(e.message)));
  await load();
  if (!live()) return;

  if (me.can_act && f.status && !f.q && !f.from && !f.to) {
    const offers = { failed: ['retry', 'delete'], cancelled: ['retry', 'delete'], completed: ['delete'], pending: ['cancel'] }[f.status] || [];
    for (const action of offers) {
      bulk.append(h('button', { id: 'bulk-' + action, type: 'button', class: action === 'retry' ? '' : 'danger', onclick: async () => {
        const p = new URLSearchParams({ status: f.status }); if (f.queue) p.set('queue', f.queue); if (f.plugin) p.set('plugin', f.plugin);
        const c = await api('jobs/bulk/count?' + p.toString());
        const n = (c.more ? 'more than ' : '') + c.count.toLocaleString();
        const where = [f.queue && 'queue ' + f.queue, f.plugin && 'plugin ' + f.plugin].filter(Boolean).join(', ');
        if (!await confirmDialog(`${action[0].toUpperCase() + action.slice(1)} ${n} ${f.status} jobs${where ? ' in ' + where : ''}?`)) return;
        const out = await act('Bulk ' + action, 'jobs/bulk/' + action, { status: f.status, queue: f.queue || null, plugin: f.plugin || null, confirm: true });
        toast(`${action}: ${out.count} jobs`);
        route();
      } }, `${action[0].toUpperCase() + action.slice(1)} all ${f.status}…`));
    }
  } else if (me.can_act && (f.q || f.from || f.to) && f.status) {
    bulk.append(h('p', { class: 'muted' }, 'Bulk actions apply to status, queue and plugin: clear the time and text filters to use them.'));
  }
}

function localInput(iso) {
  const d = new Date(iso); const pad = n => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

async function job(main, id, live) {
  let j;
  try { j = await api('jobs/' + encodeURIComponent(id)); } catch (e) {
    if (!live()) return;
    main.replaceChildren(h('h1', {}, 'Job'), h('p', { class: 'error', id: 'job-error' }, e.message)); return;
  }
  if (!live()) return;
  const progress = h('progress', { id: 'job-progress', max: 1, value: j.progress ?? 0 });
  const progressText = h('span', { id: 'job-progress-text' }, progressLabel(j.progress, j.progressMessage));
  const statusEl = h('span', { id: 'job-status', class: 'status ' + j.status }, j.status);
  const facts = h('dl', { class: 'facts' },
    h('dt', {}, 'Id'), h('dd', { id: 'job-id' }, j.id), h('dt', {}, 'Status'), h('dd', {}, statusEl),
    h('dt', {}, 'Queue / plugin'), h('dd', {}, j.queue + ' / ' + j.plugin),
    h('dt', {}, 'Attempt'), h('dd', { id: 'job-attempt' }, j.attempt + ' of ' + j.maxAttempts),
    h('dt', {}, 'Progress'), h('dd', {}, progress, ' ', progressText),
    h('dt', {}, 'Created'), h('dd', {}, time(j.createdAt)), h('dt', {}, 'Run at'), h('dd', {}, time(j.runAt)),
    h('dt', {}, 'Started'), h('dd', {}, time(j.startedAt)), h('dt', {}, 'Finished'), h('dd', {}, time(j.completedAt)),
    h('dt', {}, 'Worker'), h('dd', { id: 'job-worker' }, j.workerId ? (j.workerId + (j.worker ? ` (${j.worker.status}, on ${j.worker.host})` : ' (gone)')) : '—'));
  const actions = h('div', { class: 'actions', id: 'job-actions' },
    ['pending', 'running'].includes(j.status) ? actionButton('Cancel', 'danger', async () => { await act('Cancel', 'jobs/' + j.id + '/cancel'); route(); }) : null,
    ['failed', 'cancelled'].includes(j.status) ? actionButton('Retry', '', async () => { await act('Retry', 'jobs/' + j.id + '/retry'); route(); }) : null,
    ['completed', 'failed', 'cancelled'].includes(j.status) ? actionButton('Delete', 'danger', async () => {
      if (!await confirmDialog('Delete this job for good?')) return;
      await api('jobs/' + j.id, { method: 'DELETE' }); toast('Deleted'); location.hash = '#/jobs';
    }) : null);
  for (const b of actions.querySelectorAll('button')) b.id = 'job-' + b.textContent.toLowerCase();
  const attempts = (j.errors || []).map(e => h('tr', {}, h('td', { class: 'num' }, e.attempt), h('td', {}, time(e.at)),
    h('td', {}, e.kind), h('td', {}, e.worker_id || ''), h('td', { class: 'error' }, e.error || '')));
  main.replaceChildren(h('div', {}, h('h1', {}, 'Job ' + j.id.slice(0, 8)), h('div', { class: 'card' }, facts, h('p', {}), actions),
    h('h2', {}, 'Payload'), h('pre', { id: 'job-payload' }, JSON.stringify(j.payload, null, 2)),
    h('h2', {}, 'Metadata'), h('pre', { id: 'job-metadata' }, JSON.stringify(j.metadata, null, 2)),
    j.result !== null && j.result !== undefined ? [h('h2', {}, 'Result'), h('pre', { id: 'job-result' }, JSON.stringify(j.result, null, 2))] : null,
    j.error ? [h('h2', {}, 'Error'), h('pre', { id: 'job-error-text' }, j.error)] : null,
    h('h2', {}, 'Attempts'), h('div', { class: 'card' }, h('table', { id: 'job-attempts' },
      h('thead', {}, h('tr', {}, h('th', { class: 'num' }, '#'), h('th', {}, 'At'), h('th', {}, 'Kind'), h('th', {}, 'Worker'), h('th', {}, 'Error'))),
      h('tbody', {}, attempts.length ? attempts : h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'No failed attempts.')))))));
  connect(j.id);
  onJob = live => {
    progress.value = live.progress ?? 0;
    progressText.textContent = progressLabel(live.progress, live.progress_message);
    if (live.status !== statusEl.textContent) route();
  };
  onFinished = list => { if (list.some(e => e.id === j.id)) route(); };
}

function progressLabel(p, message) {
  return (p === null || p === undefined ? '—' : Math.round(p * 100) + ' %') + (message ? ' · ' + message : '');
}

async function workers(main, live) {
  const data = await api('workers');
  if (!live()) return;
  const rows = data.workers.map(w => h('tr', { 'data-worker': w.id },
    h('td', {}, w.id), h('td', {}, statusCell(w.status)), h('td', { class: 'hide-small' }, Object.entries(w.queues).map(([q, c]) => q + ':' + c).join(', ')),
    h('td', { class: 'num' }, w.running + ' / ' + w.concurrency), h('td', { class: 'hide-small' }, time(w.last_heartbeat_at)),
    h('td', {}, h('ul', { class: 'units' }, Object.entries(w.units).map(([u, s]) => h('li', {}, u + ': ' + s.state + (s.consecutive_failures ? ` (${s.consecutive_failures} failures: ${s.last_error || ''})` : '')))))));
  main.replaceChildren(h('h1', {}, 'Workers'), h('div', { class: 'card' }, h('table', { id: 'workers' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Worker'), h('th', {}, 'Health'), h('th', { class: 'hide-small' }, 'Queues'),
      h('th', { class: 'num' }, 'Running'), h('th', { class: 'hide-small' }, 'Last heartbeat'), h('th', {}, 'Units'))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 6, class: 'muted' }, 'No live worker.'))))));
}

async function schedules(main, live) {
  const data = await api('schedules');
  if (!live()) return;
  const rows = data.schedules.map(s => {
    const name = s.definition.name, path = 'schedules/' + encodeURIComponent(name) + '/';
    return h('tr', { 'data-schedule': name }, h('td', {}, name), h('td', {}, s.definition.cron), h('td', {}, s.definition.plugin + ' → ' + s.definition.queue),
      h('td', { class: 'next' }, s.paused ? h('span', { class: 'muted' }, 'paused') : time(s.nextRunAt)), h('td', { class: 'hide-small' }, time(s.lastRunAt)),
      h('td', { class: 'hide-small error' }, s.lastError || ''),
      h('td', { class: 'actions' }, s.paused ? actionButton('Resume', 'resume', () => act('Resume ' + name, path + 'resume').then(route))
        : actionButton('Pause', 'pause', () => act('Pause ' + name, path + 'pause').then(route)),
        actionButton('Run now', 'trigger', () => act('Run ' + name, path + 'trigger').then(out => toast('Enqueued job ' + out.job_id)))));
  });
  main.replaceChildren(h('h1', {}, 'Schedules'), h('div', { class: 'card' }, h('table', { id: 'schedules' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Cron'), h('th', {}, 'Job'), h('th', {}, 'Next run'),
      h('th', { class: 'hide-small' }, 'Last run'), h('th', { class: 'hide-small' }, 'Problem'), h('th', {}, ''))),
    h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No schedules.'))))));
}

async function charts(main, live) {
  const s = await api('stats/series');
  if (!live()) return;
  main.replaceChildren(h('h1', {}, 'Charts (last hour, per minute)'),
    h('h2', {}, 'Throughput'), h('div', { class: 'card', id: 'chart-throughput' }, chart({ completed: s.completed, failed: s.failed }, ['#067647', '#b42318'], 'jobs finished per minute'),
      h('p', { class: 'legend' }, h('span', {}, 'green: completed'), h('span', {}, 'red: failed'))),
    h('h2', {}, 'Run time percentiles (ms)'), h('div', { class: 'card', id: 'chart-latency' }, chart(s.run_ms, ['#2d5bd7', '#b54708', '#b42318'], 'run time p50 p95 p99'),
      h('p', { class: 'legend' }, h('span', {}, 'blue: p50'), h('span', {}, 'orange: p95'), h('span', {}, 'red: p99'))),
    h('h2', {}, 'Queue wait percentiles (ms)'), h('div', { class: 'card', id: 'chart-wait' }, chart(s.wait_ms, ['#2d5bd7', '#b54708', '#b42318'], 'queue wait p50 p95 p99')),
    h('h2', {}, 'Failures'), h('div', { class: 'card', id: 'chart-failures' }, chart({ failed: s.failed, cancelled: s.cancelled }, ['#b42318', '#b54708'], 'failed and cancelled per minute')));
}

function signIn(main, message) {
  const token = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { id: 'signin-error', class: 'error', role: 'alert' }, message || '');
  main.replaceChildren(h('form', { class: 'card signin', id: 'signin', onsubmit: async e => {
    e.preventDefault();
    try { me = await api('session', { method: 'POST', body: { token: token.value } }); start(); }
    catch (err) { error.textContent = 'Sign-in refused: ' + err.message; token.select(); }
  } }, h('h1', {}, 'Sign in'), h('label', { for: 'token' }, 'Dashboard token'), token,
    h('button', { id: 'signin-submit', type: 'submit' }, 'Sign in'), error));
  token.focus();
}

function connect(jobId) {
  if (events) events.close();
  events = new EventSource('api/events' + (jobId ? '?job=' + encodeURIComponent(jobId) : ''));
  const live = document.getElementById('live');
  events.onopen = () => live.classList.add('on');
  events.onerror = () => live.classList.remove('on');
  events.addEventListener('stats', e => { stats = JSON.parse(e.data); if (onStats) onStats(stats); });
  events.addEventListener('job', e => { if (onJob) onJob(JSON.parse(e.data)); });
  events.addEventListener('finished', e => { if (onFinished) onFinished(JSON.parse(e.data)); });
}

async function route() {
  const gen = ++generation;
  const live = () => gen === generation;
  const main = document.getElementById('main');
  const [path, query] = (location.hash.slice(1) || '/').split('?');
  const params = new URLSearchParams(query || '');
  onStats = onJob = onFinished = null;
  for (const a of document.querySelectorAll('#nav a')) {
    const target = a.getAttribute('href').slice(1);
    a.toggleAttribute('aria-current', target === '/' ? path === '/' : path.startsWith(target));
    if (a.hasAttribute('aria-current')) a.setAttribute('aria-current', 'page');
  }
  try {
    if (path.startsWith('/jobs/')) { await job(main, decodeURIComponent(path.slice(6)), live); return; }
    connect(null);
    if (path === '/jobs') await jobs(main, params, live);
    else if (path === '/workers') await workers(main, live);
    else if (path === '/schedules') await schedules(main, live);
    else if (path === '/charts') await charts(main, live);
    else await overview(main, live);
  } catch (e) {
    if (!live()) return;
    if (e.status === 401) { me = null; signIn(main, 'Your session ended; sign in again.'); return; }
    main.replaceChildren(h('p', { class: 'error', id: 'page-error' }, e.message));
  }
}

async function start() {
  document.getElementById('nav').hidden = false;
  document.getElementById('who').textContent = me.auth_required ? 'signed in: ' + me.role : 'local (no token)';
  window.onhashchange = route;
  await route();
}

async function boot() {
  try { me = await api('me'); }
  catch (e) {
    if (e.status === 401) { signIn(document.getElementById('main')); return; }
    document.getElementById('main').replaceChildren(h('p', { class: 'error' }, e.message)); return;
  }
  start();
}

document.addEventListener('DOMContentLoaded', boot);
