// Opens a version's HTML report or data-set card: fetched with the signed-in token, shown as a blob URL.
// A module of its own page (view.html); it shares only where the main page keeps the token.
import { TOKEN_KEY } from './api.js';

const params = new URLSearchParams(location.search);
const kind = params.get('kind') === 'card' ? 'card' : 'report';
const version = params.get('version') || 'final';
const twin = params.get('twin') || '';
const label = kind === 'report' ? 'report' : 'data-set card';
const status = document.getElementById('view-status');
const form = document.getElementById('view-signin');

document.getElementById('view-title').textContent = `${version}: ${label}`;
document.title = `doppel · ${version} ${label}`;

async function open() {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const q = twin ? `?twin=${encodeURIComponent(twin)}` : '';
  status.textContent = `Loading the ${label}…`;
  let response;
  try {
    response = await fetch(`/api/versions/${encodeURIComponent(version)}/${kind}${q}`, { headers, cache: 'no-store' });
  } catch (err) {
    status.textContent = `The server did not answer (${err.message}).`;
    return;
  }
  if (response.status === 401) {
    status.textContent = 'This server needs a token.';
    form.hidden = false;
    document.getElementById('view-token').focus();
    return;
  }
  if (!response.ok) {
    let detail = `HTTP ${response.status}`;
    try {
      const body = await response.json();
      detail = typeof body.detail === 'string' ? body.detail : (body.detail && body.detail.message) || detail;
    } catch (_) { /* not JSON */ }
    status.textContent = response.status === 404 ? `No ${label} for ${version} yet: ${detail}` : detail;
    return;
  }
  const text = await response.text();
  // Markdown is shown as plain text; the report as the HTML page it is (its scripts stay off).
  const type = kind === 'report' ? 'text/html;charset=utf-8' : 'text/plain;charset=utf-8';
  location.replace(URL.createObjectURL(new Blob([text], { type })));
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  const token = document.getElementById('view-token').value.trim();
  if (!token) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  form.hidden = true;
  open();
});

open();
