// doppel's web page: one hash-routed page over the same HTTP API scripts use.
// No framework, no build step, nothing from outside this server: native ES modules, one per page,
// loaded by index.html as <script type="module"> (deferred like any module, so the page's elements exist).
// This entry wires the sign-in form, the twin picker and the navigation between the pages.
import { api, auth, onUnauthorized } from './api.js';
import { $ } from './dom.js';
import { loadTwins, TWIN_KEY } from './twins.js';
// Each page module sets up its own controls when it loads; imported in the order the pages appear.
import chat from './chat.js';
import training from './training.js';
import versions from './versions.js';
import review from './review.js';
import importPage from './import.js';
import privacy from './privacy.js';
import health from './health.js';

// Each page: show() when opened (loads its data), hide() when left (stops its polling), twinChanged().
const pages = { chat, training, versions, review, import: importPage, privacy, health };
let current = null;

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
  onUnauthorized(showSignIn); // before the first call: any 401 brings up the sign-in form
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
