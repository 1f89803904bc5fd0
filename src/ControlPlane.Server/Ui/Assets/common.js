'use strict';

// What the console and the portal share: sign-in with a bearer token kept in sessionStorage, API calls with it,
// polling and the "last heard" clock, small DOM helpers. No framework, no build step.
const Cp = (() => {
  let pollMs = 3000;
  let settings = null;
  let token = null;
  let heardAt = null;
  let timer = null;

  /** el('td', {class: 'num', text: '3'}, child...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'text') node.textContent = value;
      else if (key === 'class') node.className = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function table(headers, rows, attrs) {
    return el('table', attrs,
      el('thead', {}, el('tr', {}, headers.map(h => typeof h === 'string' ? el('th', { text: h }) : el('th', h)))),
      el('tbody', {}, rows));
  }

  class ApiError extends Error {
    constructor(status, problem) {
      super(describeProblem(status, problem));
      this.status = status;
      this.problem = problem;
    }
  }

  function describeProblem(status, problem) {
    if (!problem) return `The server answered ${status}.`;
    let text = problem.title || `The server answered ${status}.`;
    if (problem.detail) text += ' ' + problem.detail;
    if (problem.errors) {
      for (const [field, messages] of Object.entries(problem.errors)) text += ` ${field}: ${[].concat(messages).join(' ')}`;
    }
    return text;
  }

  async function request(method, path, body, bearer) {
    const headers = { 'Authorization': 'Bearer ' + bearer, 'Accept': 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response;
    try {
      response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    } catch (e) {
      throw new ApiError(0, { title: 'Cannot reach the server.', detail: String(e.message || e) });
    }
    const text = await response.text();
    let json = null;
    if (text) {
      try { json = JSON.parse(text); } catch { json = null; }
    }
    if (!response.ok) throw new ApiError(response.status, json);
    markHeard();
    return json;
  }

  /** Calls the API with the signed-in token; a refused token signs out. */
  async function api(method, path, body) {
    try {
      return await request(method, path, body, token);
    } catch (e) {
      if (e.status === 401) signOut('The server no longer takes this token (expired or revoked): sign in again.');
      throw e;
    }
  }

  function markHeard() {
    heardAt = new Date();
    showHeard();
  }

  function showHeard() {
    const node = document.getElementById('heard');
    if (!node || !heardAt) return;
    const seconds = Math.max(0, Math.round((Date.now() - heardAt.getTime()) / 1000));
    node.textContent = `Last heard from the server ${heardAt.toLocaleTimeString()} (${seconds} s ago)`;
    node.classList.toggle('stale', seconds * 1000 > pollMs * 3);
  }

  function signOut(message) {
    sessionStorage.removeItem(settings.storageKey);
    token = null;
    if (timer) clearInterval(timer);
    timer = null;
    showSignIn(message);
  }

  function showSignIn(message) {
    const input = el('input', { type: 'password', id: 'token', autocomplete: 'off', placeholder: settings.placeholder, 'aria-label': settings.tokenLabel });
    const error = el('div', { class: 'error', id: 'signin-error', role: 'alert', text: message || '' });
    const form = el('form', {
      onsubmit: async event => {
        event.preventDefault();
        error.textContent = '';
        await trySignIn(input.value.trim(), error);
      },
    },
    el('label', { for: 'token', text: settings.tokenLabel }), input,
    el('button', { class: 'action primary', type: 'submit', id: 'signin', text: 'Sign in' }));
    document.body.replaceChildren(el('div', { class: 'signin' }, el('h1', { text: settings.title }), el('p', { class: 'muted', text: settings.signInHelp }), form, error));
    input.focus();
  }

  async function trySignIn(candidate, errorNode) {
    if (!candidate) {
      errorNode.textContent = 'Paste a token first.';
      return;
    }
    try {
      await request('GET', settings.probePath, undefined, candidate);
    } catch (e) {
      errorNode.textContent =
        e.status === 401 ? 'This token was refused: it is not a token of this server, or it expired or was revoked.' :
        e.status === 403 ? settings.wrongRole :
        e.status === 429 ? 'Too many attempts: wait a few seconds and try again.' :
        e.message;
      return;
    }
    token = candidate;
    sessionStorage.setItem(settings.storageKey, token);
    settings.onSignedIn();
    timer = setInterval(() => { showHeard(); }, 1000);
  }

  /** Starts the page: a token in the URL fragment (#token=...) or in sessionStorage signs in at once. */
  function start(options) {
    settings = options;
    pollMs = options.pollMs || pollMs;
    const fragment = new URLSearchParams(location.hash.slice(1));
    const fromUrl = fragment.get('token');
    if (fromUrl) history.replaceState(null, '', location.pathname + location.search);
    const kept = fromUrl || sessionStorage.getItem(settings.storageKey);
    showSignIn('');
    if (kept) {
      document.getElementById('token').value = kept;
      trySignIn(kept, document.getElementById('signin-error'));
    }
  }

  /** The page frame: header with tabs, last-heard clock and sign-out; returns the main element. */
  function frame(title, tabs, onTab) {
    const main = el('main', { id: 'main' });
    const nav = el('nav', {}, tabs.map(t => el('button', {
      'data-tab': t, text: t,
      onclick: event => {
        nav.querySelectorAll('button').forEach(b => b.classList.toggle('active', b === event.currentTarget));
        onTab(t);
      },
    })));
    document.body.replaceChildren(
      el('header', {}, el('h1', { text: title }), nav, el('span', { class: 'spacer' }),
        el('span', { id: 'heard', text: 'Not heard from the server yet' }),
        el('button', { class: 'action', id: 'signout', text: 'Sign out', onclick: () => signOut('Signed out.') })),
      main,
      el('dialog', { id: 'confirm' }));
    const first = nav.querySelector('button');
    if (first) first.classList.add('active');
    return main;
  }

  /** A confirmation in the page (not window.confirm): resolves true when the user confirms. */
  function confirm(message, verb) {
    const dialog = document.getElementById('confirm');
    return new Promise(resolve => {
      const done = answer => { dialog.close(); resolve(answer); };
      dialog.replaceChildren(
        el('p', { text: message }),
        el('menu', {},
          el('button', { class: 'action', type: 'button', id: 'confirm-cancel', text: 'Cancel', onclick: () => done(false) }),
          el('button', { class: 'action primary', type: 'button', id: 'confirm-ok', text: verb || 'Confirm', onclick: () => done(true) })));
      dialog.addEventListener('cancel', () => resolve(false), { once: true });
      dialog.showModal();
    });
  }

  /** Runs fn every poll period while the view is shown; returns a stop function. */
  function every(fn) {
    let stopped = false;
    const run = async () => {
      if (stopped || !token) return;
      try { await fn(); } catch (e) { if (e.status !== 401) console.warn(e); }
      if (!stopped && token) handle = setTimeout(run, pollMs);
    };
    let handle = setTimeout(run, 0);
    return () => { stopped = true; clearTimeout(handle); };
  }

  function usd(text) {
    if (text === null || text === undefined) return '';
    const [whole, cents] = String(text).split('.');
    const sign = whole.startsWith('-') ? '-' : '';
    const digits = whole.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return `${sign}$${digits}.${(cents || '00').padEnd(2, '0')}`;
  }

  function number(value, digits) {
    if (value === null || value === undefined) return '';
    return Number(value).toLocaleString('en-US', { maximumFractionDigits: digits ?? 0 });
  }

  function date(value) {
    return value ? new Date(value).toISOString().slice(0, 10) : '';
  }

  function time(value) {
    return value ? new Date(value).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '';
  }

  return { el, table, api, start, frame, confirm, every, usd, number, date, time, ApiError };
})();
