// doppel's web page: one hash-routed page over the same HTTP API scripts use.
// No framework, no build step, nothing from outside this server.
'use strict';

(function () {
  const TOKEN_KEY = 'doppel.token';
  const TWIN_KEY = 'doppel.twin';
  const REVIEWER_KEY = 'doppel.reviewer';

  // -- small helpers ------------------------------------------------------------------------------

  const $ = (selector, root = document) => root.querySelector(selector);

  // el('li', {class: 'x', text: 'hi', 'aria-label': '...'}, child, ...): attributes, then children.
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    setAttrs(node, attrs);
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const SVG_NS = 'http://www.w3.org/2000/svg';
  function svgEl(tag, attrs = {}) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    return node;
  }

  function setAttrs(node, attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.setAttribute('class', value);
      else if (key === 'hidden') node.hidden = Boolean(value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
  }

  const isNum = (x) => typeof x === 'number' && Number.isFinite(x);

  function num(x, digits = 3) {
    if (!isNum(x)) return '—';
    if (Number.isInteger(x)) return x.toLocaleString('en');
    return x.toFixed(digits);
  }

  const fixed = (x, digits = 1) => (isNum(x) ? x.toFixed(digits) : '—');

  function pct(x, digits = 0) {
    return isNum(x) ? `${(x * 100).toFixed(digits)}%` : '—';
  }

  function bytes(n) {
    if (!isNum(n)) return '—';
    const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
    return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
  }

  function duration(seconds) {
    if (!isNum(seconds)) return '—';
    seconds = Math.max(0, Math.round(seconds));
    if (seconds < 60) return `${seconds} s`;
    const m = Math.floor(seconds / 60), s = seconds % 60;
    if (m < 60) return s ? `${m} min ${s} s` : `${m} min`;
    const h = Math.floor(m / 60);
    return `${h} h ${m % 60} min`;
  }

  function when(iso) {
    if (!iso) return '—';
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return String(iso);
    return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
  }

  function secondsBetween(a, b) {
    if (!a) return null;
    const end = b ? new Date(b) : new Date();
    return (end - new Date(a)) / 1000;
  }

  function fillFacts(dl, pairs) {
    dl.replaceChildren();
    for (const [term, value] of pairs) {
      if (value === undefined) continue;
      const dd = el('dd');
      if (value instanceof Node) dd.append(value); else dd.textContent = value === null ? '—' : String(value);
      dl.append(el('dt', { text: term }), dd);
    }
  }

  // -- notices --------------------------------------------------------------------------------------

  let noticeTimer = null;
  function notice(text, { error = false, keep = false } = {}) {
    const box = $('#notice');
    box.textContent = text;
    box.classList.toggle('error', error);
    box.hidden = !text;
    clearTimeout(noticeTimer);
    if (text && !keep) noticeTimer = setTimeout(() => { box.hidden = true; }, error ? 12000 : 5000);
  }

  // -- the API: every call sends the token; a 401 brings up the sign-in form ------------------------

  class ApiError extends Error {
    constructor(status, message, body) {
      super(message);
      this.status = status;
      this.body = body;
    }
  }

  const auth = {
    get token() { return sessionStorage.getItem(TOKEN_KEY) || ''; },
    set token(value) {
      if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
      $('#signout').hidden = !value;
    },
  };

  function describeError(body, status) {
    if (!body) return `HTTP ${status}`;
    const detail = body.detail !== undefined ? body.detail : body.error || body;
    if (typeof detail === 'string') return detail;
    if (Array.isArray(detail)) {
      return detail.map((e) => {
        const loc = Array.isArray(e.loc) ? e.loc.filter((p) => p !== 'body').join('.') : '';
        return loc ? `${loc}: ${e.msg}` : e.msg || JSON.stringify(e);
      }).join('; ');
    }
    if (detail && typeof detail === 'object') return detail.message || detail.detail || JSON.stringify(detail);
    return `HTTP ${status}`;
  }

  async function api(path, { method = 'GET', body, raw = false, signal } = {}) {
    const headers = { Accept: 'application/json' };
    if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
    const init = { method, headers, signal, cache: 'no-store' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      if (err.name === 'AbortError') throw err;
      throw new ApiError(0, `the server did not answer (${err.message})`);
    }
    if (response.status === 401) {
      const wasSignedIn = Boolean(auth.token);
      showSignIn(wasSignedIn ? 'That token is no longer accepted; sign in again.' : '');
      throw new ApiError(401, 'sign in first');
    }
    if (!response.ok) {
      let parsed = null;
      try { parsed = await response.json(); } catch (_) { /* not JSON */ }
      let message = describeError(parsed, response.status);
      if (response.status === 403) message = `${message} (sign in with an admin token for this)`;
      throw new ApiError(response.status, message, parsed);
    }
    if (raw) return response;
    if (response.status === 204) return null;
    return response.json();
  }

  const query = (params) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
    const s = q.toString();
    return s ? `?${s}` : '';
  };

  function report(err, where) {
    if (err && (err.name === 'AbortError' || err.status === 401)) return;
    notice(`${where}: ${err.message || err}`, { error: true });
  }

  // -- sign-in --------------------------------------------------------------------------------------

  function showSignIn(message) {
    const box = $('#signin');
    $('#signin-error').textContent = message || '';
    if (!box.hidden) return;
    box.hidden = false;
    $('#main').hidden = true;
    current && current.hide();
    $('#signin-token').focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $('#signin-token').value.trim();
    if (!token) return;
    auth.token = token;
    $('#signin-error').textContent = '';
    try {
      await api('/v1/models'); // any call that needs a token: proves this one works
    } catch (err) {
      if (err.status === 401) {
        auth.token = '';
        $('#signin-error').textContent = 'That token was not accepted.';
        return;
      }
    }
    $('#signin-token').value = '';
    $('#signin').hidden = true;
    $('#main').hidden = false;
    await loadTwins();
    route();
  }

  function signOut() {
    auth.token = '';
    sessionStorage.removeItem(TWIN_KEY);
    showSignIn('Signed out.');
  }

  // -- twins and versions -----------------------------------------------------------------------

  let twins = [];

  async function loadTwins() {
    const select = $('#twin');
    try {
      const models = await api('/v1/models');
      twins = models.data.map((m) => ({ name: m.id, final: m.version }));
    } catch (err) {
      report(err, 'Listing twins');
      return;
    }
    const wanted = sessionStorage.getItem(TWIN_KEY);
    select.replaceChildren(...twins.map((t) => el('option', { value: t.name, text: t.name })));
    if (wanted && twins.some((t) => t.name === wanted)) select.value = wanted;
  }

  const twin = () => $('#twin').value || (twins[0] && twins[0].name) || '';

  async function getVersions() {
    return api(`/api/versions${query({ twin: twin() })}`);
  }

  // Fill a version <select>: "final (v1.2)" first, then every version; keeps the choice when it still exists.
  function fillVersionSelect(select, versions, { withFinal = true } = {}) {
    const before = select.value;
    const final = versions.find((v) => v.final);
    const options = [];
    if (withFinal) options.push(el('option', { value: 'final', text: final ? `final (${final.version})` : 'final' }));
    for (const v of [...versions].reverse()) {
      options.push(el('option', { value: v.version, text: v.final ? `${v.version} (final)` : v.version }));
    }
    select.replaceChildren(...options);
    if ([...select.options].some((o) => o.value === before)) select.value = before;
    return final;
  }

  // Follow a queued run (training or evaluation) until it ends; `onUpdate` sees each status.
  async function watchJob(jobId, onUpdate = () => {}, every = 1500) {
    for (;;) {
      const status = await api(`/api/training/status${query({ job_id: jobId })}`);
      onUpdate(status);
      if (!['queued', 'running'].includes(status.state)) return status;
      await new Promise((resolve) => setTimeout(resolve, every));
    }
  }

  // -- charts: inline SVG drawn here ----------------------------------------------------------------

  // Ticks at round steps; `integer` keeps them on whole numbers (steps, counts).
  function niceTicks(lo, hi, count = 5, integer = false) {
    if (lo === hi) { lo -= 1; hi += 1; }
    const span = hi - lo;
    const mag = 10 ** Math.floor(Math.log10(span / count));
    const factors = integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10];
    let step = factors.map((f) => f * mag).find((s) => span / s <= count) || 10 * mag;
    if (integer) step = Math.max(1, Math.round(step));
    const ticks = [];
    for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toFixed(10)));
    const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9) + (String(step).includes('25') ? 1 : 0));
    return { ticks, label: (t) => t.toFixed(integer ? 0 : decimals) };
  }

  // series: [{name, points: [[x, y], ...]}]; xLabels: names for integer x (a categorical axis).
  // Drawn at the container's own width, so its text stays readable on a phone.
  function lineChart(container, { series, title, xLabel = '', xMax = null, xLabels = null, yMin = null, yMax = null, format = (y) => fixed(y, 2) }) {
    const drawn = series.filter((s) => s.points.some(([, y]) => isNum(y)));
    const total = drawn.reduce((n, s) => n + s.points.filter(([, y]) => isNum(y)).length, 0);
    container.dataset.points = String(total);
    if (!drawn.length) {
      container.replaceChildren(el('p', { class: 'hint', text: 'Nothing to plot yet.' }));
      return;
    }
    const W = Math.max(280, Math.round(container.clientWidth || 640));
    const H = Math.round(Math.min(300, Math.max(190, W * 0.42)));
    const m = { l: 48, r: 14, t: 12, b: xLabel ? 44 : 28 };
    const xs = [], ys = [];
    for (const s of drawn) for (const [x, y] of s.points) if (isNum(y)) { xs.push(x); ys.push(y); }
    let x0, x1;
    if (xLabels) { x0 = -0.5; x1 = xLabels.length - 0.5; } else {
      x0 = Math.min(...xs); x1 = Math.max(...xs);
      if (isNum(xMax) && xMax > x1) x1 = xMax;
      if (x0 === x1) { x0 -= 1; x1 += 1; }
    }
    let y0 = isNum(yMin) ? yMin : Math.min(...ys), y1 = isNum(yMax) ? yMax : Math.max(...ys);
    if (y0 === y1) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
    const yt = niceTicks(y0, y1, H < 220 ? 3 : 4);
    if (!isNum(yMin)) y0 = Math.min(y0, yt.ticks[0]);
    if (!isNum(yMax)) y1 = Math.max(y1, yt.ticks[yt.ticks.length - 1]);
    const sx = (x) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
    const sy = (y) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);

    const svg = svgEl('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': title });
    svg.append(svgEl('title', { text: title }));
    const grid = svgEl('g');
    for (const t of yt.ticks) {
      if (t < y0 - 1e-9 || t > y1 + 1e-9) continue;
      grid.append(svgEl('line', { class: 'grid-line', x1: m.l, x2: W - m.r, y1: sy(t), y2: sy(t) }));
      grid.append(svgEl('text', { x: m.l - 6, y: sy(t) + 4, 'text-anchor': 'end', text: yt.label(t) }));
    }
    if (xLabels) {
      const every = Math.max(1, Math.ceil(xLabels.length / Math.max(1, Math.floor((W - m.l - m.r) / 56))));
      xLabels.forEach((name, i) => {
        if (i % every) return;
        grid.append(svgEl('text', { x: sx(i), y: H - m.b + 16, 'text-anchor': 'middle', text: name }));
      });
    } else {
      const xt = niceTicks(x0, x1, Math.max(2, Math.floor((W - m.l - m.r) / 70)), true);
      for (const t of xt.ticks) {
        if (t < x0 || t > x1) continue;
        grid.append(svgEl('text', { x: sx(t), y: H - m.b + 16, 'text-anchor': 'middle', text: xt.label(t) }));
      }
    }
    grid.append(svgEl('line', { class: 'axis', x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }));
    grid.append(svgEl('line', { class: 'axis', x1: m.l, x2: m.l, y1: m.t, y2: H - m.b }));
    if (xLabel) grid.append(svgEl('text', { x: (m.l + W - m.r) / 2, y: H - 6, 'text-anchor': 'middle', text: xLabel }));
    svg.append(grid);

    const legend = el('ul', { class: 'legend' });
    series.forEach((s, i) => {
      const pts = s.points.filter(([, y]) => isNum(y));
      if (!pts.length) return;
      const cls = `s${i % 5}`;
      const path = pts.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ');
      if (pts.length > 1) svg.append(svgEl('polyline', { class: `series ${cls}`, points: path, 'data-series': s.name }));
      if (pts.length <= 60) {
        for (const [x, y] of pts) {
          const dot = svgEl('circle', { class: `dot ${cls}`, cx: sx(x), cy: sy(y), r: 3.5 });
          dot.append(svgEl('title', { text: `${s.name}: ${format(y)}${xLabels ? ` (${xLabels[x]})` : ` at ${num(x, 0)}`}` }));
          svg.append(dot);
        }
      }
      const last = pts[pts.length - 1];
      legend.append(el('li', { class: cls }, el('span', { text: `${s.name} ${format(last[1])}` })));
    });
    container.replaceChildren(svg, legend);
  }

  // A page marks itself loaded once its first data is on screen (scripts and tests can wait on it).
  const loaded = (name) => { $(`#page-${name}`).dataset.loaded = 'true'; };

  // -- pages ----------------------------------------------------------------------------------------

  const pages = {};
  let current = null;

  // Chat ------------------------------------------------------------------------------------------
  pages.chat = (() => {
    const log = $('#chat-log');
    const form = $('#chat-form');
    const message = $('#chat-message');
    let history = []; // [{role, content}] of this conversation, sent with every chat message
    let aborter = null;
    let contextSeq = 0;

    const mode = () => form.elements.mode.value;

    function setMode() {
      const decide = mode() === 'decide';
      $('#decide-fields').hidden = !decide;
      $('#chat-message-label').textContent = decide ? 'Situation to decide on' : 'Message';
      $('#chat-send').textContent = decide ? 'Decide' : 'Send';
    }

    function addContextRow(key = '', value = '') {
      contextSeq += 1;
      const n = contextSeq;
      const keyInput = el('input', { type: 'text', id: `ctx-key-${n}`, placeholder: 'deal_stage', 'aria-label': `Context key ${n}`, value: key });
      const valueInput = el('input', { type: 'text', id: `ctx-value-${n}`, placeholder: 'negotiation', 'aria-label': `Context value ${n}`, value });
      const remove = el('button', { type: 'button', class: 'quiet small', 'aria-label': `Remove context field ${n}`, text: 'Remove' });
      const row = el('div', { class: 'context-row' }, keyInput, valueInput, remove);
      remove.addEventListener('click', () => { row.remove(); countContext(); });
      keyInput.addEventListener('input', countContext);
      $('#context-rows').append(row);
      countContext();
      return keyInput;
    }

    function contextFields() {
      const context = {};
      for (const row of $('#context-rows').children) {
        const [k, v] = row.querySelectorAll('input');
        if (k.value.trim()) context[k.value.trim()] = v.value.trim();
      }
      return context;
    }

    function countContext() {
      const n = Object.keys(contextFields()).length;
      $('#context-count').textContent = n ? `(${n})` : '';
    }

    function addTurn(cls, who, text) {
      $('#chat-empty').hidden = true;
      const item = el('li', { class: `turn ${cls}` }, el('span', { class: 'who', text: who }), el('div', { class: 'text', text }));
      log.append(item);
      item.scrollIntoView({ block: 'nearest' });
      return item;
    }

    function contextLine(context) {
      const keys = Object.keys(context).sort();
      return keys.length ? el('p', { class: 'ctx', text: keys.map((k) => `${k}: ${context[k]}`).join(' · ') }) : null;
    }

    function busy(on) {
      $('#chat-send').disabled = on;
      $('#chat-stop').hidden = !on;
    }

    function version() {
      const v = $('#chat-version').value;
      return v && v !== 'final' ? v : undefined;
    }

    function parseEvent(chunk) {
      let event = 'message';
      const data = [];
      for (const line of chunk.split('\n')) {
        if (line.startsWith('event:')) event = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
      }
      return { event, data: data.length ? JSON.parse(data.join('\n')) : null };
    }

    async function sendChat(text, context) {
      const user = addTurn('user', 'You', text);
      const ctx = contextLine(context);
      if (ctx) user.insertBefore(ctx, user.querySelector('.text'));
      const reply = addTurn('twin', twin(), '');
      reply.dataset.state = 'streaming';
      const out = reply.querySelector('.text');
      const body = { message: text, personality: twin(), context, history: history.slice(), stream: true };
      if (version()) body.version = version();
      aborter = new AbortController();
      let answer = '';
      let finished = null;
      try {
        const response = await api('/api/chat', { method: 'POST', body, raw: true, signal: aborter.signal });
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const { event, data } = parseEvent(buffer.slice(0, cut));
            buffer = buffer.slice(cut + 2);
            if (event === 'message' && data && typeof data.delta === 'string') {
              answer += data.delta;
              out.textContent = answer;
            } else if (event === 'done') {
              finished = data;
            } else if (event === 'error') {
              throw new ApiError(502, (data && data.detail) || 'the twin failed mid-reply');
            }
          }
        }
        if (!finished) throw new ApiError(0, 'the reply stream ended early');
        out.textContent = finished.reply;
        reply.dataset.state = 'done';
        reply.querySelector('.who').textContent = `${finished.twin} ${finished.version || ''}`.trim();
        const meta = [`${finished.completion_tokens} tokens`, `${Math.round(finished.latency_ms)} ms`];
        if (finished.notice) meta.push(finished.notice);
        reply.append(el('div', { class: 'meta', text: meta.join(' · ') }));
        history.push({ role: 'user', content: text }, { role: 'assistant', content: finished.reply });
      } catch (err) {
        reply.dataset.state = err.name === 'AbortError' ? 'done' : 'error';
        if (err.name === 'AbortError') {
          reply.append(el('div', { class: 'meta', text: 'stopped' }));
          if (answer) history.push({ role: 'user', content: text }, { role: 'assistant', content: answer });
        } else {
          reply.append(el('div', { class: 'meta error', text: `Error: ${err.message}` }));
        }
      }
    }

    async function sendDecide(text, context) {
      const options = $('#decide-options').value.split('\n').map((o) => o.trim()).filter(Boolean);
      const asked = addTurn('user', 'You (decide)', text);
      const ctx = contextLine(context);
      if (ctx) asked.insertBefore(ctx, asked.querySelector('.text'));
      asked.append(el('div', { class: 'meta', text: `Options: ${options.join(' / ')}` }));
      const item = addTurn('twin decision', twin(), 'Deciding…');
      item.dataset.state = 'streaming';
      const body = {
        context: Object.keys(context).length ? { ...context, question: text } : text,
        options, twin: twin(), rationale: $('#decide-rationale').checked,
      };
      if (version()) body.version = version();
      try {
        const d = await api('/api/decide', { method: 'POST', body });
        item.dataset.state = 'done';
        item.querySelector('.who').textContent = `${d.twin} ${d.version || ''}`.trim();
        const choice = el('p', { class: 'choice' }, 'Choice: ', el('strong', { class: 'decision-choice', text: d.choice }),
          d.abstained ? ' (unsure: under the abstain threshold)' : '');
        const bars = el('ul', { class: 'bars', 'aria-label': 'Probability of each option' });
        for (const option of options) {
          const p = d.probabilities[option] || 0;
          const fill = el('span');
          fill.style.width = `${(p * 100).toFixed(1)}%`;
          bars.append(el('li', { class: option === d.choice ? 'chosen' : '' },
            el('span', { class: 'opt', text: option }),
            el('span', { class: 'bar', role: 'img', 'aria-label': `${option}: ${pct(p, 1)}` }, fill),
            el('span', { class: 'pct', text: pct(p, 1) })));
        }
        const parts = [choice, bars];
        if (d.rationale) parts.push(el('p', { class: 'rationale', text: d.rationale }));
        parts.push(el('div', { class: 'meta', text: `${Math.round(d.latency_ms)} ms` }));
        item.querySelector('.text').replaceChildren(...parts);
      } catch (err) {
        item.dataset.state = 'error';
        item.querySelector('.text').textContent = `Error: ${err.message}`;
      }
    }

    async function submit(event) {
      event.preventDefault();
      const text = message.value.trim();
      if (!text || $('#chat-send').disabled) return;
      const context = contextFields();
      message.value = '';
      busy(true);
      try {
        if (mode() === 'decide') await sendDecide(text, context);
        else await sendChat(text, context);
      } finally {
        busy(false);
        aborter = null;
        message.focus();
      }
    }

    function reset() {
      history = [];
      log.replaceChildren();
      $('#chat-empty').hidden = false;
      message.focus();
    }

    form.addEventListener('submit', submit);
    form.addEventListener('change', (e) => { if (e.target.name === 'mode') setMode(); });
    message.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); form.requestSubmit(); }
    });
    $('#context-add').addEventListener('click', () => { $('#context-box').open = true; addContextRow().focus(); });
    $('#chat-stop').addEventListener('click', () => aborter && aborter.abort());
    $('#chat-reset').addEventListener('click', reset);
    addContextRow();
    setMode();

    return {
      async show() {
        try {
          const data = await getVersions();
          fillVersionSelect($('#chat-version'), data.versions);
        } catch (err) { report(err, 'Listing versions'); }
        loaded('chat');
      },
      hide() {},
      twinChanged() { reset(); },
    };
  })();

  // Training ---------------------------------------------------------------------------------------
  pages.training = (() => {
    let timer = null;
    let active = false;
    let lastState = null;
    let lastJob = null;

    function schedule(ms) {
      clearTimeout(timer);
      if (active) timer = setTimeout(refresh, ms);
    }

    function renderJob(job) {
      $('#job-empty').hidden = Boolean(job);
      $('#job-body').hidden = !job;
      const running = job && (job.state === 'running' || job.state === 'queued');
      $('#job-cancel').disabled = !running || job.cancel_requested;
      if (!job) { $('#loss-chart').dataset.points = '0'; return; }
      const badge = $('#job-state');
      badge.textContent = job.cancel_requested && running ? `${job.state}, cancelling` : job.state;
      badge.className = `badge ${job.state}`;
      $('#job').dataset.state = job.state;
      $('#job').dataset.jobId = String(job.job_id);
      $('#job-label').textContent = `run ${job.job_id} · ${job.mode} · ${job.trigger}${job.stage ? ` · ${job.stage}` : ''}`;
      const progress = $('#job-progress');
      if (isNum(job.step) && isNum(job.total_steps) && job.total_steps > 0) {
        progress.max = job.total_steps;
        progress.value = job.step;
        progress.setAttribute('aria-valuetext', `step ${job.step} of ${job.total_steps}`);
      } else if (job.state === 'succeeded') {
        progress.max = 1; progress.value = 1;
      } else {
        progress.removeAttribute('value');
      }
      const epoch = isNum(job.epoch) ? (isNum(job.epochs) ? `${job.epoch} / ${job.epochs}` : String(job.epoch)) : '—';
      const examples = job.examples ? Object.entries(job.examples).map(([k, v]) => `${k} ${num(v)}`).join(' · ') : '—';
      const took = job.started_at ? duration(secondsBetween(job.started_at, job.finished_at)) : '—';
      fillFacts($('#job-facts'), [
        ['Step', isNum(job.step) ? `${num(job.step)} / ${num(job.total_steps)}` : '—'],
        ['Epoch', epoch],
        ['ETA', running && isNum(job.eta_seconds) ? duration(job.eta_seconds) : '—'],
        ['Train loss', num(job.train_loss, 4)],
        ['Val loss', num(job.val_loss, 4)],
        ['Tokens/s', isNum(job.tokens_per_second) ? num(Math.round(job.tokens_per_second)) : '—'],
        ['Examples', examples],
        ['Queued', when(job.queued_at)],
        [job.finished_at ? 'Took' : 'Running for', took],
        ['Version', job.version || '—'],
      ]);
      const msg = $('#job-message');
      msg.textContent = job.error || job.message || '';
      msg.classList.toggle('error', Boolean(job.error));
      lineChart($('#loss-chart'), {
        title: `Training loss by step, run ${job.job_id}`,
        series: [{ name: 'train loss', points: job.loss_history || [] }],
        xLabel: 'step', xMax: job.total_steps, format: (y) => fixed(y, 2),
      });
    }

    function renderJobs(jobs) {
      const rows = jobs.map((j) => el('tr', { 'data-job-id': j.job_id },
        el('td', { text: String(j.job_id) }),
        el('td', { text: j.mode }),
        el('td', { text: j.trigger }),
        el('td', {}, el('span', { class: `badge ${j.state}`, text: j.state })),
        el('td', { text: when(j.queued_at) }),
        el('td', { text: j.started_at ? duration(secondsBetween(j.started_at, j.finished_at)) : '—' }),
        el('td', { text: isNum(j.step) ? `${j.step} / ${num(j.total_steps)}` : '—' }),
        el('td', { text: num(j.train_loss, 4) }),
        el('td', { text: num(j.val_loss, 4) }),
        el('td', { text: j.version || '—' }),
        el('td', { class: 'wrap', text: j.error || j.message || '' })));
      if (!rows.length) rows.push(el('tr', {}, el('td', { colspan: 11, class: 'hint', text: 'No runs yet.' })));
      $('#jobs-table tbody').replaceChildren(...rows);
    }

    async function refreshJobs() {
      try {
        renderJobs(await api(`/api/training/jobs${query({ twin: twin(), limit: 50 })}`));
      } catch (err) { report(err, 'Listing runs'); }
    }

    async function refresh() {
      if (!active) return;
      let job = null;
      try {
        job = await api(`/api/training/status${query({ twin: twin() })}`);
      } catch (err) {
        if (err.status !== 404) { // keep what is shown; try again shortly
          report(err, 'Training status');
          if (err.status !== 401) schedule(4000);
          return;
        }
      }
      if (!active) return;
      renderJob(job);
      const state = job ? `${job.job_id}:${job.state}` : null;
      if (state !== lastState) {
        lastState = state;
        await refreshJobs();
        if (job && lastJob && lastJob.job_id === job.job_id && job.state === 'succeeded' && job.version) {
          notice(`Run ${job.job_id} made ${job.version}.`);
        }
      }
      lastJob = job;
      loaded('training');
      const busy = job && (job.state === 'running' || job.state === 'queued');
      schedule(busy ? 700 : 4000);
    }

    function numberField(id) {
      const raw = $(id).value.trim();
      return raw === '' ? undefined : Number(raw);
    }

    async function start(event) {
      event.preventDefault();
      const mode = (event.submitter && event.submitter.value) || 'full';
      $('#train-error').textContent = '';
      const body = { twin: twin(), mode };
      const fields = { epochs: '#train-epochs', learning_rate: '#train-lr', batch_size: '#train-batch', max_length: '#train-maxlen' };
      for (const [key, id] of Object.entries(fields)) {
        const value = numberField(id);
        if (value !== undefined) body[key] = value;
      }
      const buttons = [$('#train-incremental'), $('#train-full')];
      buttons.forEach((b) => { b.disabled = true; });
      try {
        const queued = await api('/api/train', { method: 'POST', body });
        notice(`Queued run ${queued.job_id} (${queued.mode}).`);
      } catch (err) {
        if (err.status === 409 && err.body) $('#train-error').textContent = `Run ${err.body.job_id} is already ${err.body.state} for this twin.`;
        else if (err.status !== 401) $('#train-error').textContent = err.message;
      } finally {
        buttons.forEach((b) => { b.disabled = false; });
      }
      lastState = null;
      refresh();
    }

    async function cancel() {
      $('#job-cancel').disabled = true;
      try {
        await api('/api/training/cancel', { method: 'POST', body: { twin: twin() } });
        notice('Cancelling: the run stops at its next step.');
      } catch (err) { report(err, 'Cancel'); }
      refresh();
    }

    $('#train-form').addEventListener('submit', start);
    $('#job-cancel').addEventListener('click', cancel);

    return {
      show() { active = true; lastState = null; refresh(); },
      hide() { active = false; clearTimeout(timer); },
      twinChanged() { lastState = null; lastJob = null; refresh(); },
    };
  })();

  // Versions ---------------------------------------------------------------------------------------
  pages.versions = (() => {
    const SCORES = [
      ['style_share', 'Style: judged theirs', pct, 'high'],
      ['similarity', 'Similarity to their replies', (x) => num(x, 3), 'high'],
      ['distinct_replies', 'Distinct replies', pct, 'high'],
      ['relevance', 'Relevance (vs base)', (x) => num(x, 3), 'high'],
      ['decision_accuracy', 'Decision accuracy', pct, 'high'],
      ['human_share_fooled', 'Reviewers fooled', pct, 'high'],
      ['human_mean_score', 'Mean review score (1–10)', (x) => fixed(x), 'high'],
      ['human_reviews', 'Reviews', (x) => num(x), null],
    ];

    function examples(v) {
      const e = v.examples;
      if (!e) return '—';
      if (typeof e === 'object') return Object.entries(e).map(([k, n]) => `${k} ${num(n)}`).join(' · ');
      return num(e);
    }

    function gate(v) {
      const g = v.gate;
      if (!g) return '—';
      const text = g.passed ? 'passed' : 'refused';
      return el('span', { title: g.reason || '', text: g.reason ? `${text}: ${g.reason}` : text });
    }

    // Bold the best number of a row (lower or higher is better).
    function bestIndex(values, better) {
      if (!better) return -1;
      let best = -1;
      values.forEach((x, i) => {
        if (!isNum(x)) return;
        if (best < 0 || (better === 'low' ? x < values[best] : x > values[best])) best = i;
      });
      return values.filter(isNum).length > 1 ? best : -1;
    }

    // The report and the card need the token: the viewer tab (sessionStorage is copied to it) fetches
    // them with it and shows them as a blob URL, under a policy that lets the report's own styles apply.
    function docLink(v, kind, label) {
      const href = `/web/view.html${query({ kind, twin: twin(), version: v.version })}`;
      return el('a', { href, target: '_blank', rel: 'opener', class: `doc-link doc-${kind}`,
        'aria-label': `${v.version}'s ${label} (opens in a new tab)`, text: label[0].toUpperCase() + label.slice(1) });
    }

    async function act(button, path, body, done) {
      button.disabled = true;
      try {
        const result = await api(path, { method: 'POST', body });
        notice(done(result));
      } catch (err) { report(err, button.textContent); }
      button.disabled = false;
      refresh();
    }

    async function evaluateVersion(button, version) {
      button.disabled = true;
      try {
        const queued = await api('/api/evaluate', { method: 'POST', body: { twin: twin(), version } });
        notice(`Evaluating ${version} (run ${queued.job_id})…`, { keep: true });
        const done = await watchJob(queued.job_id, (s) => {
          if (s.stage) notice(`Evaluating ${version} (run ${queued.job_id}): ${s.stage}…`, { keep: true });
        });
        if (done.state === 'succeeded') notice(`${version} is evaluated.`);
        else notice(`The evaluation of ${version} ${done.state}: ${done.error || done.message || ''}`, { error: true });
      } catch (err) { report(err, 'Evaluate'); }
      button.disabled = false;
      refresh();
    }

    function render(data) {
      const versions = data.versions;
      $('#versions-empty').hidden = versions.length > 0;
      const table = $('#versions-table');
      table.hidden = !versions.length;
      const head = el('tr', {}, el('th', { scope: 'col', text: 'Version' }),
        ...versions.map((v) => el('th', { scope: 'col', class: v.final ? 'is-final' : '', 'data-version': v.version },
          v.version, ' ', v.final ? el('span', { class: 'badge final', text: 'final' }) : null)));
      table.tHead.replaceChildren(head);

      const sc = (v, key) => (v.scorecard ? v.scorecard[key] : null);
      const rows = [
        ['Created', (v) => when(v.created_at)],
        ['Mode', (v) => v.mode || '—'],
        ['From', (v) => v.parent || '—'],
        ['Base model', (v) => v.base_model || '—'],
        ['Examples', examples],
        ['Steps', (v) => num(v.steps)],
        ['Train loss', (v) => v.train_loss, 'low', (x) => num(x, 4)],
        ['Val loss', (v) => v.val_loss, 'low', (x) => num(x, 4)],
        ['Val perplexity', (v) => v.val_perplexity, 'low', (x) => num(x, 2)],
        ['Base model val loss', (v) => v.base_val_loss, null, (x) => num(x, 4)],
        ['Gate', gate],
        ['Evaluated', (v) => (v.scorecard && v.scorecard.evaluated_at ? when(v.scorecard.evaluated_at) : 'not yet')],
        ...SCORES.map(([key, label, format, better]) => [label, (v) => sc(v, key), better, format, key]),
      ];
      const body = rows.map(([label, get, better, format, key]) => {
        const values = versions.map(get);
        const best = format ? bestIndex(values, better) : -1;
        return el('tr', key ? { 'data-metric': key } : { 'data-metric': label.toLowerCase().replace(/\W+/g, '_') },
          el('th', { scope: 'row', text: label }),
          ...values.map((value, i) => {
            const shown = format ? format(value) : value;
            return el('td', { class: [versions[i].final ? 'is-final' : '', i === best ? 'best' : ''].join(' ').trim() || null },
              shown instanceof Node ? shown : String(shown));
          }));
      });
      const actions = el('tr', { 'data-metric': 'actions' }, el('th', { scope: 'row', text: 'Actions' }),
        ...versions.map((v) => {
          const cell = el('div', { class: 'cell-actions' });
          if (!v.final) {
            const promote = el('button', { type: 'button', class: 'small', text: 'Make final', 'aria-label': `Make ${v.version} final` });
            promote.addEventListener('click', () => act(promote, `/api/versions/${encodeURIComponent(v.version)}/promote`,
              { twin: twin() }, (r) => `${r.final} is final now.`));
            cell.append(promote);
          }
          const evaluate = el('button', { type: 'button', class: 'small quiet', text: 'Evaluate', 'aria-label': `Evaluate ${v.version}` });
          evaluate.addEventListener('click', () => evaluateVersion(evaluate, v.version));
          cell.append(evaluate, docLink(v, 'report', 'report'), docLink(v, 'card', 'data-set card'));
          return el('td', { class: v.final ? 'is-final' : null }, cell);
        }));
      table.tBodies[0].replaceChildren(...body, actions);
      $('#versions-rollback').disabled = versions.length < 2;

      const labels = versions.map((v) => v.version);
      const series = (get) => versions.map((v, i) => [i, get(v)]);
      lineChart($('#versions-loss-chart'), {
        title: 'Loss by version', xLabels: labels, format: (y) => fixed(y, 2),
        series: [
          { name: 'val loss', points: series((v) => v.val_loss) },
          { name: 'train loss', points: series((v) => v.train_loss) },
          { name: 'base val loss', points: series((v) => v.base_val_loss) },
        ],
      });
      lineChart($('#versions-score-chart'), {
        title: 'Scores by version', xLabels: labels, yMin: 0, yMax: 1, format: (y) => fixed(y, 2),
        series: [
          { name: 'style', points: series((v) => sc(v, 'style_share')) },
          { name: 'similarity', points: series((v) => sc(v, 'similarity')) },
          { name: 'decisions', points: series((v) => sc(v, 'decision_accuracy')) },
          { name: 'reviewers fooled', points: series((v) => sc(v, 'human_share_fooled')) },
          { name: 'review score / 10', points: series((v) => (isNum(sc(v, 'human_mean_score')) ? sc(v, 'human_mean_score') / 10 : null)) },
        ],
      });
    }

    async function refresh() {
      try { render(await getVersions()); } catch (err) { report(err, 'Listing versions'); }
      loaded('versions');
    }

    const rollback = $('#versions-rollback');
    rollback.addEventListener('click', () => act(rollback, '/api/versions/rollback', { twin: twin() },
      (r) => `Rolled back: ${r.final} is final again.`));
    $('#versions-refresh').addEventListener('click', refresh);

    return { show: refresh, hide() {}, twinChanged: refresh };
  })();

  // Review -----------------------------------------------------------------------------------------
  pages.review = (() => {
    const form = $('#review-form');
    let pair = null;
    let active = false;

    const scores = $('#review-scores');
    for (let i = 1; i <= 10; i += 1) {
      const input = el('input', { type: 'radio', name: 'score', id: `score-${i}`, value: i, required: i === 1 });
      scores.append(el('label', { for: `score-${i}` }, input, String(i)));
    }

    const reviewer = () => $('#review-reviewer').value.trim();

    // The version's human numbers so far: from the versions list, then from each recorded review.
    function showScore(version, human) {
      const box = $('#review-score');
      if (!human || !isNum(human.reviews)) { box.textContent = ''; delete box.dataset.reviews; return; }
      box.textContent = `${version} so far: ${num(human.reviews)} review${human.reviews === 1 ? '' : 's'}, `
        + `reviewers fooled ${pct(human.share_fooled)}, mean score ${fixed(human.mean_score)}.`;
      box.dataset.reviews = String(human.reviews);
    }

    async function loadScore() {
      try {
        const versions = (await getVersions()).versions;
        const chosen = $('#review-version').value;
        const v = versions.find((x) => (chosen === 'final' ? x.final : x.version === chosen));
        const sc = v && v.scorecard;
        showScore(v ? v.version : chosen, sc ? { reviews: sc.human_reviews || 0, share_fooled: sc.human_share_fooled, mean_score: sc.human_mean_score } : null);
      } catch (err) { report(err, 'Listing versions'); }
    }

    function showEmpty(text, canEvaluate) {
      form.hidden = true;
      pair = null;
      $('#review-empty').hidden = false;
      $('#review-empty-text').textContent = text;
      $('#review-evaluate').hidden = !canEvaluate;
    }

    function counter(remaining, total) {
      $('#review-counter').textContent = isNum(total) ? `${remaining} of ${total} pairs left to review` : '';
      $('#review-counter').dataset.remaining = String(remaining);
    }

    async function next() {
      const name = reviewer();
      if (!name) {
        showEmpty('Type your name to start: each reviewer sees each pair once.', false);
        $('#review-reviewer').focus();
        return;
      }
      localStorage.setItem(REVIEWER_KEY, name);
      const version = $('#review-version').value || 'final';
      try {
        const data = await api(`/api/review/next${query({ twin: twin(), version, reviewer: name })}`);
        if (!active) return;
        counter(data.remaining, data.total);
        if (data.done) {
          showEmpty(`Nothing left for you to review on ${data.version || version}. Thank you!`, false);
          return;
        }
        pair = data;
        $('#review-empty').hidden = true;
        form.hidden = false;
        form.reset();
        form.dataset.pairId = String(data.pair_id);
        const ctx = data.context && typeof data.context === 'object' ? Object.entries(data.context) : [];
        fillFacts($('#review-context'), ctx.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
        $('#review-context').hidden = !ctx.length;
        $('#review-prompt').textContent = data.prompt || '';
        for (const r of data.replies) {
          const box = $(`#reply-${r.label}`);
          if (box) box.textContent = (r.text || '').trim();
        }
        form.querySelector('#pick-1').focus();
      } catch (err) {
        if (err.status === 404) {
          counter(null, null);
          showEmpty(`${version === 'final' ? 'The final version' : version} has not been evaluated yet, so there is nothing to review.`, true);
        } else {
          report(err, 'Loading a pair');
        }
      }
    }

    async function submit(event) {
      event.preventDefault();
      if (!pair) return;
      const picked = form.elements.picked.value;
      const score = Number(form.elements.score.value);
      if (!picked || !score) {
        $('#review-result').textContent = !picked ? 'Pick the real reply first (1, 2 or c).' : 'Give a score from 1 to 10.';
        return;
      }
      $('#review-submit').disabled = true;
      try {
        const result = await api('/api/review', {
          method: 'POST',
          body: { twin: twin(), version: pair.version, pair_id: pair.pair_id, reviewer: reviewer(), picked, score },
        });
        $('#review-result').textContent = 'Recorded.';
        showScore(pair.version, result.human || result);
        await next();
      } catch (err) {
        report(err, 'Recording the review');
      } finally {
        $('#review-submit').disabled = false;
      }
    }

    // Keys: 1/2 pick, c can't tell; once picked, 1-9 and 0 (10) score; Enter submits.
    function onKey(event) {
      if (!active || form.hidden || event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target;
      if (target.matches('input[type="text"], textarea, select') || target.isContentEditable) return;
      const key = event.key;
      const picked = form.elements.picked.value;
      if (!picked && (key === '1' || key === '2')) {
        $(`#pick-${key}`).checked = true;
      } else if (key === 'c' || key === 'C') {
        $('#pick-cant').checked = true;
      } else if (picked && /^[0-9]$/.test(key)) {
        const score = key === '0' ? 10 : Number(key);
        $(`#score-${score}`).checked = true;
        $(`#score-${score}`).focus();
      } else if (key === 'Enter' && target.tagName !== 'BUTTON') {
        form.requestSubmit();
      } else if (key === 'Escape') {
        form.reset();
      } else {
        return;
      }
      event.preventDefault();
    }

    async function evaluate() {
      const button = $('#review-evaluate');
      button.disabled = true;
      const version = $('#review-version').value;
      const body = { twin: twin() };
      if (version && version !== 'final') body.version = version;
      const text = $('#review-empty-text');
      try {
        const queued = await api('/api/evaluate', { method: 'POST', body });
        text.textContent = `Evaluating ${queued.version || version} (run ${queued.job_id})…`;
        const done = await watchJob(queued.job_id, (s) => {
          text.textContent = `Evaluating (run ${s.job_id}): ${s.state}${s.stage ? `, ${s.stage}` : ''}…`;
        });
        if (done.state === 'succeeded') {
          button.disabled = false;
          if (active) await next();
          return;
        }
        text.textContent = `The evaluation ${done.state}: ${done.error || done.message || ''}`;
      } catch (err) {
        if (err.status === 409 && err.body && err.body.job_id) text.textContent = `Run ${err.body.job_id} is already busy with this twin; try again when it ends.`;
        else report(err, 'Evaluate');
      }
      button.disabled = false;
    }

    $('#review-reviewer').value = localStorage.getItem(REVIEWER_KEY) || '';
    $('#review-setup').addEventListener('submit', (e) => { e.preventDefault(); next(); });
    $('#review-version').addEventListener('change', () => { loadScore(); next(); });
    form.addEventListener('submit', submit);
    $('#review-skip').addEventListener('click', next);
    $('#review-evaluate').addEventListener('click', evaluate);
    document.addEventListener('keydown', onKey);

    return {
      async show() {
        active = true;
        try { fillVersionSelect($('#review-version'), (await getVersions()).versions); } catch (err) { report(err, 'Listing versions'); }
        await Promise.all([loadScore(), next()]);
        loaded('review');
      },
      hide() { active = false; },
      twinChanged() { $('#review-result').textContent = ''; this.show(); },
    };
  })();

  // Health -----------------------------------------------------------------------------------------
  pages.health = (() => {
    let timer = null;
    let active = false;

    const yesNo = (ok, yes, no) => el('span', { class: ok ? 'yes' : 'no', text: ok ? yes : no });

    function meter(label, used, total) {
      const m = el('meter', { min: 0, max: total || 1, value: used || 0, 'aria-label': label, low: (total || 1) * 0.7, high: (total || 1) * 0.9, optimum: 0 });
      return el('div', { class: 'device' },
        el('div', { class: 'meter-label' }, el('span', { text: label }), el('span', { text: `${bytes(used)} used of ${bytes(total)}` })),
        m);
    }

    function render(h) {
      const badge = $('#health-status');
      badge.textContent = h.status;
      badge.className = `badge ${h.status}`;
      const db = h.database || {};
      fillFacts($('#health-db'), [['Reachable', yesNo(db.ok, 'yes', 'no')], ['Detail', db.detail || '—']]);
      const w = h.worker;
      fillFacts($('#health-workers'), w ? [
        ['Alive', yesNo(w.alive, 'yes', 'none alive')],
        ['Workers', num(w.workers)],
        ['Last heartbeat', when(w.last_heartbeat)],
      ] : [['Workers', 'unknown (no database)']]);
      const q = h.queue;
      fillFacts($('#health-queue'), q ? [['Waiting', num(q.depth)], ['Running', num(q.running)]] : [['Queue', 'unknown (no database)']]);
      const gpu = h.gpu || {};
      const gpuBox = $('#health-gpu');
      if (gpu.available && gpu.devices && gpu.devices.length) {
        gpuBox.replaceChildren(...gpu.devices.map((d) => meter(`GPU ${d.index}: ${d.name}`, d.used_bytes, d.total_bytes)));
      } else {
        gpuBox.replaceChildren(el('p', { class: 'hint', text: gpu.detail || 'No GPU.' }));
      }
      const disk = h.disk || {};
      const used = isNum(disk.total_bytes) ? disk.total_bytes - disk.free_bytes : null;
      $('#health-disk').replaceChildren(meter(disk.path || 'home', used, disk.total_bytes),
        el('p', { class: 'hint', text: `${bytes(disk.free_bytes)} free` }));
      $('#health-updated').textContent = `Last update ${new Date().toLocaleTimeString()}.`;
    }

    async function refresh() {
      if (!active) return;
      try { render(await api('/api/health')); } catch (err) { report(err, 'Health'); }
      loaded('health');
      clearTimeout(timer);
      if (active) timer = setTimeout(refresh, 5000);
    }

    return {
      show() { active = true; refresh(); },
      hide() { active = false; clearTimeout(timer); },
      twinChanged() {},
    };
  })();

  // -- routing --------------------------------------------------------------------------------------

  function route() {
    const match = location.hash.match(/^#\/([a-z]+)/);
    if (!match && current && location.hash) return; // an in-page anchor such as #main
    const name = match && pages[match[1]] ? match[1] : 'chat';
    if (!$('#signin').hidden) return;
    if (current && current !== pages[name]) current.hide();
    for (const section of document.querySelectorAll('.page')) {
      section.hidden = section.dataset.page !== name;
      if (section.dataset.page === name) delete section.dataset.loaded;
    }
    for (const link of document.querySelectorAll('[data-nav]')) {
      if (link.dataset.nav === name) link.setAttribute('aria-current', 'page'); else link.removeAttribute('aria-current');
    }
    document.title = `${name[0].toUpperCase()}${name.slice(1)} · doppel`;
    current = pages[name];
    current.show();
  }

  async function boot() {
    auth.token = auth.token; // shows "Sign out" when a token is stored
    $('#signin-form').addEventListener('submit', signIn);
    $('#signout').addEventListener('click', signOut);
    $('#twin').addEventListener('change', () => {
      sessionStorage.setItem(TWIN_KEY, $('#twin').value);
      if (current) current.twinChanged();
    });
    window.addEventListener('hashchange', route);
    await loadTwins();
    route();
    document.body.dataset.ready = 'true';
  }

  boot();
})();
