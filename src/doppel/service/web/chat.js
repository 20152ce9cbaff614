// The Chat page: a streamed conversation with the twin (/api/chat), or, in Decide mode, one choice
// among options with a probability for each (/api/decide); both with optional context fields.
import { api, ApiError, report } from './api.js';
import { $, el, loaded } from './dom.js';
import { pct } from './format.js';
import { fillVersionSelect, getVersions, twin } from './twins.js';

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

// What an answer rests on: the person's records retrieval put in the prompt (none: nothing shown).
function sourcesList(sources) {
  if (!sources || !sources.length) return null;
  const list = el('ol', { class: 'source-list' });
  for (const s of sources) {
    const when = (s.written_at || '').slice(0, 10) || 'undated';
    list.append(el('li', {},
      el('span', { class: 'source-key', text: s.key }),
      el('span', { class: 'source-when', text: ` ${when} · ${s.score.toFixed(2)} ` }),
      el('q', { class: 'source-excerpt', text: s.excerpt })));
  }
  return el('details', { class: 'sources' }, el('summary', { text: `Sources (${sources.length}): what they wrote before` }), list);
}

// Feedback on one reply: thumbs up or down, or an edit into what the person would have said (a preference
// pair for `doppel train --preference`). The reviewer is the name given on the Review page.
const REVIEWER_KEY = 'doppel.reviewer';

function feedbackControls(messages, replyText, replyVersion) {
  const n = log.children.length;
  const status = el('span', { class: 'feedback-status', role: 'status' });
  const send = async (extra) => {
    const body = { twin: twin(), messages, reply: replyText, reviewer: localStorage.getItem(REVIEWER_KEY) || 'web', source: 'web', ...extra };
    if (replyVersion) body.version = replyVersion;
    try {
      const r = await api('/api/feedback', { method: 'POST', body });
      status.textContent = r.pair ? `Edit saved: ${r.edits_waiting} waiting to be learned` : 'Thanks: rating saved';
      box.dataset.sent = 'true';
    } catch (err) { status.textContent = `Not saved: ${err.message}`; }
  };
  const up = el('button', { type: 'button', class: 'quiet small', 'aria-label': `Good reply ${n}`, text: '👍' });
  const down = el('button', { type: 'button', class: 'quiet small', 'aria-label': `Bad reply ${n}`, text: '👎' });
  const editButton = el('button', { type: 'button', class: 'quiet small', 'aria-label': `Edit reply ${n}`, text: 'Edit' });
  const area = el('textarea', { rows: 3, 'aria-label': `What they would have said ${n}` });
  const save = el('button', { type: 'button', class: 'small', text: 'Save edit' });
  const editor = el('div', { class: 'feedback-edit', hidden: true }, area, save);
  up.addEventListener('click', () => send({ rating: 'up' }));
  down.addEventListener('click', () => send({ rating: 'down' }));
  editButton.addEventListener('click', () => { area.value = replyText; editor.hidden = false; area.focus(); });
  save.addEventListener('click', () => {
    if (!area.value.trim()) return;
    editor.hidden = true;
    send({ edited: area.value });
  });
  const box = el('div', { class: 'feedback' }, up, down, editButton, status, editor);
  return box;
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
    const sources = sourcesList(finished.sources);
    if (sources) reply.append(sources);
    reply.append(el('div', { class: 'meta', text: meta.join(' · ') }));
    const asked = [...history, { role: 'user', content: text }];
    reply.append(feedbackControls(asked, finished.reply, finished.version));
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
    const sources = sourcesList(d.sources);
    if (sources) parts.push(sources);
    const meta = [`${Math.round(d.latency_ms)} ms`];
    if (d.notice) meta.push(d.notice);
    parts.push(el('div', { class: 'meta', text: meta.join(' · ') }));
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

export default {
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
