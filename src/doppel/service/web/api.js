// The API: every call sends the token; a 401 brings up the sign-in form; failures become ApiErrors
// whose message is fit to show. view.js imports TOKEN_KEY from here, so keep this module free of
// work at load time (it must load on the viewer page too, which has none of the main page's elements).
import { $, notice } from './dom.js';

// The token lives in session storage: kept for this tab only, and copied into the viewer tab it opens.
export const TOKEN_KEY = 'doppel.token';

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export const auth = {
  get token() { return sessionStorage.getItem(TOKEN_KEY) || ''; },
  set token(value) {
    if (value) sessionStorage.setItem(TOKEN_KEY, value); else sessionStorage.removeItem(TOKEN_KEY);
    $('#signout').hidden = !value;
  },
};

// The sign-in form belongs to app.js (it hides the current page); it hands its opener over here
// rather than this module importing app.js, which would make the two import each other.
let unauthorized = () => {};
export function onUnauthorized(handler) { unauthorized = handler; }

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

export async function api(path, { method = 'GET', body, raw = false, signal } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth.token) headers.Authorization = `Bearer ${auth.token}`;
  const init = { method, headers, signal, cache: 'no-store' };
  if (body instanceof Blob) { // a file to upload (an export), sent as it is
    headers['Content-Type'] = 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
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
    unauthorized(wasSignedIn ? 'That token is no longer accepted; sign in again.' : '');
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

export const query = (params) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
};

// Shows a failed call in the notice line; a stopped call or a missing sign-in says nothing
// (the sign-in form is already up).
export function report(err, where) {
  if (err && (err.name === 'AbortError' || err.status === 401)) return;
  notice(`${where}: ${err.message || err}`, { error: true });
}

// Follow a queued run (training or evaluation) until it ends; `onUpdate` sees each status.
export async function watchJob(jobId, onUpdate = () => {}, every = 1500) {
  for (;;) {
    const status = await api(`/api/training/status${query({ job_id: jobId })}`);
    onUpdate(status);
    if (!['queued', 'running'].includes(status.state)) return status;
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
