// Sagaflow's web page: behaviour of web/index.html (served by the gateway as
// /app/app.js). Plain JavaScript, no build step, no dependencies.
//
// Layout of this file:
// - auth:      the JWT from the token field or the URL fragment `#token=...`
//              (kept in sessionStorage; the fragment is removed from the URL);
// - api:       fetch with `Authorization: Bearer`, the API's error body
//              `{"error": {"code", "message", "field"}}` turned into ApiError and
//              shown next to the form (the named field marked invalid);
// - sse:       a `text/event-stream` parser over a fetch body (EventSource cannot
//              send headers);
// - timeline:  a saga's events live from `GET /v1/sagas/{id}/stream` (reconnects
//              with Last-Event-ID; falls back to polling `GET /v1/sagas/{id}/events`
//              when the gateway has no stream route);
// - catalogue: `GET /v1/products` (search, pages) and `GET /v1/products/{sku}`,
//              public (sent with the token when there is one); prices shown are
//              the catalogue's, never sent back;
// - checkout:  `POST /v1/checkouts` ({sku, quantity} and a shipping country, no
//              price) with an Idempotency-Key, then its timeline;
// - documents: `POST /v1/generations`, `GET /v1/history`, downloads of
//              `GET /v1/documents/{id}/{format}`;
// - tracker:   `/v1/applications` (+ interviews), `/v1/tracker/analytics`,
//              `/v1/tracker/preferences`; a clear notice when the gateway has none.
'use strict';

(() => {
  const TOKEN_KEY = 'sagaflow.token';
  const TERMINAL = new Set(['completed', 'compensated', 'failed', 'compensation_failed']);
  const APPLICATION_STATUSES = ['saved', 'applied', 'interviewing', 'offer', 'accepted', 'rejected', 'withdrawn'];
  const POLL_MS = 1000;
  const RECONNECT_MIN_MS = 500;
  const RECONNECT_MAX_MS = 5000;

  const $ = (id) => document.getElementById(id);

  /** Creates an element with a class and text (never HTML). */
  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function sleep(ms, signal) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      if (signal) signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
    });
  }

  /** A random UUID v4 (crypto.randomUUID needs a secure context; this does not). */
  function uuid() {
    if (window.isSecureContext && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  function formatTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const pad = (n, w = 2) => String(n).padStart(w, '0');
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  }

  function formatDateTime(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? String(iso || '') : d.toLocaleString();
  }

  // ---------------------------------------------------------------- auth

  let memoryToken = '';

  function getToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || '';
    } catch {
      return memoryToken;
    }
  }

  function setToken(value) {
    memoryToken = value;
    try {
      if (value) sessionStorage.setItem(TOKEN_KEY, value);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch {
      // Storage disabled: the token lives in memory for this page only.
    }
  }

  /** Moves `#token=...` from the URL into storage and removes it from the URL. */
  function takeTokenFromFragment() {
    const hash = window.location.hash.replace(/^#/, '');
    if (!hash) return;
    const params = new URLSearchParams(hash);
    const value = params.get('token');
    if (value === null) return;
    setToken(value.trim());
    params.delete('token');
    const rest = params.toString();
    const url = window.location.pathname + window.location.search + (rest ? `#${rest}` : '');
    window.history.replaceState(null, '', url);
  }

  /** The token's claims, unverified (only to tell the user who they are). */
  function claims(token) {
    const parts = token.split('.');
    if (parts.length !== 3) return null;
    try {
      const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
      const json = decodeURIComponent(Array.from(atob(b64), (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join(''));
      const value = JSON.parse(json);
      return value && typeof value === 'object' ? value : null;
    } catch {
      return null;
    }
  }

  function renderTokenStatus() {
    const token = getToken();
    const status = $('token-status');
    $('token').value = token;
    status.classList.remove('warn');
    if (!token) {
      status.textContent = 'Not signed in. Paste an API token to use the page.';
      return;
    }
    const c = claims(token);
    if (!c) {
      status.textContent = 'Token set, but it does not look like a JWT; the gateway will probably refuse it.';
      status.classList.add('warn');
      return;
    }
    const who = `Signed in as ${c.sub || '(no sub)'}${c.tenant_id ? ` of tenant ${c.tenant_id}` : ''}.`;
    if (typeof c.exp === 'number') {
      const exp = new Date(c.exp * 1000);
      if (exp.getTime() <= Date.now()) {
        status.textContent = `${who} The token expired at ${exp.toLocaleString()}; paste a new one.`;
        status.classList.add('warn');
        return;
      }
      status.textContent = `${who} The token expires at ${exp.toLocaleString()}.`;
      return;
    }
    status.textContent = who;
  }

  // ----------------------------------------------------------------- api

  class ApiError extends Error {
    constructor(status, code, message, field, requestId) {
      super(message);
      this.name = 'ApiError';
      this.status = status;
      this.code = code;
      this.field = field || null;
      this.requestId = requestId || null;
    }
  }

  async function errorFrom(response) {
    let body = null;
    try {
      body = await response.json();
    } catch {
      // Not JSON: described by the status alone.
    }
    // Every error is an RFC 9457 problem (application/problem+json):
    // {type, title, status, detail, code, field?, request_id?}.
    if (body && typeof body === 'object' && typeof body.code === 'string') {
      return new ApiError(response.status, body.code, body.detail || body.title || response.statusText, body.field, body.request_id);
    }
    return new ApiError(response.status, `http_${response.status}`, `The gateway answered ${response.status} ${response.statusText}`.trim());
  }

  function authHeaders(extra) {
    const token = getToken();
    if (!token) throw new ApiError(401, 'unauthenticated', 'Sign in first: paste an API token in "Sign in" above.', null);
    return { Authorization: `Bearer ${token}`, ...extra };
  }

  /** Calls the API; resolves to the JSON body (or null), rejects with ApiError. */
  async function api(method, path, options = {}) {
    const headers = authHeaders({ Accept: 'application/json' });
    const init = { method, headers, cache: 'no-store' };
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
    let response;
    try {
      response = await fetch(path, init);
    } catch (err) {
      throw new ApiError(0, 'network', `Could not reach the gateway (${err.message}). Check your connection and try again.`);
    }
    if (!response.ok) throw await errorFrom(response);
    if (response.status === 204) return null;
    const type = response.headers.get('content-type') || '';
    if (type.includes('json')) return response.json();
    const text = await response.text();
    return text === '' ? null : text;
  }

  function describe(err) {
    if (!(err instanceof ApiError)) return `Something went wrong in the page: ${err && err.message ? err.message : err}`;
    let text = err.message;
    if (err.field) text = `${err.field}: ${text.startsWith(`${err.field}: `) ? text.slice(err.field.length + 2) : text}`;
    const extra = [err.code];
    if (err.status) extra.push(`HTTP ${err.status}`);
    if (err.requestId) extra.push(`request ${err.requestId}`);
    text += ` (${extra.join(', ')})`;
    if (err.status === 401) text += ' Check the token under "Sign in".';
    return text;
  }

  /** Shows `err` in `region`; marks the form field it names invalid and focuses it. */
  function showError(region, err, form) {
    region.textContent = describe(err);
    region.hidden = false;
    if (form && err instanceof ApiError && err.field) {
      const input = Array.from(form.querySelectorAll('[data-api-field]')).find((node) => node.dataset.apiField === err.field);
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
        if (!described.includes(region.id) && region.id) described.push(region.id);
        input.setAttribute('aria-describedby', described.join(' '));
        input.focus();
      }
    }
  }

  function clearError(region, form) {
    region.textContent = '';
    region.hidden = true;
    if (form) {
      for (const input of form.querySelectorAll('[aria-invalid="true"]')) {
        input.removeAttribute('aria-invalid');
        const described = (input.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== region.id);
        if (described.length) input.setAttribute('aria-describedby', described.join(' '));
        else input.removeAttribute('aria-describedby');
      }
    }
  }

  /**
   * The form's Idempotency-Key: one per intended submission. It survives a retry
   * after a network failure (so the retry cannot start a second saga) and is
   * dropped once the gateway has answered or the form is edited.
   */
  function idempotencyKey(form) {
    if (!form.dataset.idempotencyKey) form.dataset.idempotencyKey = uuid();
    return form.dataset.idempotencyKey;
  }

  function settleIdempotencyKey(form, err) {
    const retryable = err instanceof ApiError && (err.status === 0 || err.code === 'request_in_progress');
    if (!retryable) delete form.dataset.idempotencyKey;
  }

  /** Runs `action` with the form's submit button disabled and its errors cleared. */
  async function submitting(form, action) {
    const region = $(form.dataset.errorRegion);
    const button = form.querySelector('button[type="submit"]');
    clearError(region, form);
    if (button) button.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      await action();
    } catch (err) {
      showError(region, err, form);
    } finally {
      if (button) button.disabled = false;
      form.removeAttribute('aria-busy');
    }
  }

  // ----------------------------------------------------------------- sse

  /** Incremental `text/event-stream` parser (the WHATWG rules). */
  class SseParser {
    constructor(onEvent) {
      this.onEvent = onEvent;
      this.buffer = '';
      this.data = [];
      this.event = '';
      this.lastEventId = '';
      this.retry = null;
    }

    push(chunk) {
      this.buffer += chunk;
      for (;;) {
        const match = /\r\n|\r|\n/.exec(this.buffer);
        if (!match) return;
        // A lone CR at the end may be the first half of CRLF: wait for more.
        if (match[0] === '\r' && match.index === this.buffer.length - 1) return;
        const line = this.buffer.slice(0, match.index);
        this.buffer = this.buffer.slice(match.index + match[0].length);
        this.line(line);
      }
    }

    line(line) {
      if (line === '') {
        this.dispatch();
        return;
      }
      if (line.startsWith(':')) return;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.event = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
      else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
    }

    dispatch() {
      const type = this.event || 'message';
      this.event = '';
      if (this.data.length === 0) return;
      const data = this.data.join('\n');
      this.data = [];
      this.onEvent({ type, data, id: this.lastEventId });
    }
  }

  // ------------------------------------------------------------ timeline

  const KIND_LABELS = {
    started: 'Saga started',
    command_sent: 'Command sent',
    step_completed: 'Step completed',
    step_failed: 'Step failed',
    step_timed_out: 'Step timed out',
    step_abandoned: 'Step abandoned',
    step_compensated: 'Step compensated',
    paused: 'Paused by an operator',
    resumed: 'Resumed',
    retry_requested: 'Retry requested',
    abort_requested: 'Abort requested',
    completed: 'Saga completed',
    compensated: 'Saga compensated',
    failed: 'Saga failed',
    compensation_failed: 'Compensation failed',
  };

  const FINAL_TEXT = {
    completed: 'Completed: every step succeeded.',
    compensated: 'Compensated: a step failed and the steps before it were undone.',
    failed: 'Failed after the point of no return; an operator has to look at it.',
    compensation_failed: 'A compensation failed; an operator has to look at it.',
  };

  function detailOf(event) {
    const d = event.detail;
    if (d && typeof d === 'object') return d;
    if (typeof d === 'string') {
      try {
        const parsed = JSON.parse(d);
        if (parsed && typeof parsed === 'object') return parsed;
      } catch {
        // Plain text detail.
      }
    }
    return {};
  }

  /** What a timeline row says and how it is classed. */
  function describeEvent(event) {
    const d = detailOf(event);
    const step = event.step || d.step_name || '';
    const compensation = d.phase === 'compensation';
    let category = 'info';
    let text = KIND_LABELS[event.kind] || event.kind;
    switch (event.kind) {
      case 'command_sent':
        category = compensation ? 'compensation' : 'forward';
        text = compensation ? `Compensating ${step}` : `Running ${step}`;
        if (d.message_type) text += `: sent ${d.message_type}`;
        if (d.attempt > 1) text += ` (attempt ${d.attempt})`;
        break;
      case 'step_completed':
        category = 'forward';
        text = `${step} completed`;
        if (d.message_type || d.reply_type) text += ` (${d.message_type || d.reply_type})`;
        break;
      case 'step_compensated':
        category = 'compensation';
        text = `${step} compensated`;
        if (d.message_type || d.reply_type) text += ` (${d.message_type || d.reply_type})`;
        break;
      case 'compensated':
        category = 'compensation';
        break;
      case 'step_failed':
      case 'step_timed_out':
      case 'step_abandoned':
        category = 'failure';
        text = `${KIND_LABELS[event.kind]}: ${step}`;
        if (d.reason) text += ` (${d.reason})`;
        if (event.kind === 'step_timed_out' && d.attempt) text += ` (attempt ${d.attempt})`;
        break;
      case 'failed':
      case 'compensation_failed':
        category = 'failure';
        if (step) text += `: ${step}`;
        if (d.reason) text += ` (${d.reason})`;
        break;
      case 'abort_requested':
      case 'paused':
        category = 'operator';
        if (d.reason) text += ` (${d.reason})`;
        break;
      case 'completed':
        category = 'final';
        break;
      default:
        if (step) text += `: ${step}`;
    }
    return { category, text };
  }

  const timeline = {
    sagaId: null,
    kind: null,
    seqs: new Set(),
    lastSeq: 0,
    status: 'idle',
    startedAt: null,
    controller: null,
    onFinal: null,

    reset(sagaId, kind) {
      this.sagaId = sagaId;
      this.kind = kind || null;
      this.seqs = new Set();
      this.lastSeq = 0;
      this.startedAt = null;
      $('timeline-events').replaceChildren();
      $('timeline-final').replaceChildren();
      $('timeline-saga').textContent = sagaId ? `saga ${sagaId}` : '';
      clearError($('timeline-error'));
      this.setStatus(sagaId ? 'pending' : 'idle');
      this.setConnection('');
    },

    setStatus(status) {
      this.status = status;
      const badge = $('timeline-status');
      badge.textContent = status === 'idle' ? 'no saga' : status.replace(/_/g, ' ');
      badge.dataset.status = status;
      $('timeline').dataset.status = status;
    },

    setConnection(text, transport) {
      $('timeline-connection').textContent = text;
      if (transport !== undefined) $('timeline').dataset.transport = transport;
    },

    /** Adds one projected event (`{seq, kind, step, status, detail, at}`), once. */
    add(event) {
      if (!event || typeof event.seq !== 'number' || this.seqs.has(event.seq)) return;
      this.seqs.add(event.seq);
      const at = new Date(event.at);
      if (!Number.isNaN(at.getTime()) && (this.startedAt === null || at < this.startedAt)) this.startedAt = at;
      const { category, text } = describeEvent(event);
      const item = el('li', `event ${category}`);
      item.dataset.seq = String(event.seq);
      item.dataset.kind = event.kind;
      const time = el('time', 'at', formatTime(event.at));
      time.setAttribute('datetime', String(event.at));
      item.append(time, ' ', el('span', 'what', text), ' ');
      if (this.startedAt && !Number.isNaN(at.getTime())) {
        item.append(el('span', 'since muted', `+${Math.max(0, at - this.startedAt)} ms`), ' ');
      }
      const after = el('span', 'badge small', event.status.replace(/_/g, ' '));
      after.dataset.status = event.status;
      after.title = 'saga status after this event';
      item.append(after);
      const list = $('timeline-events');
      const next = Array.from(list.children).find((li) => Number(li.dataset.seq) > event.seq);
      list.insertBefore(item, next || null);
      if (event.seq > this.lastSeq) {
        this.lastSeq = event.seq;
        this.setStatus(event.status);
      }
    },

    /** The saga is over: say how, with its result when there is one. */
    async finish(end) {
      const status = (end && end.status) || this.status;
      if (status !== this.status) this.setStatus(status);
      const final = $('timeline-final');
      final.replaceChildren(el('span', null, FINAL_TEXT[status] || `Finished: ${status}.`));
      let result = end || {};
      if (!this.kind && (result.definition === 'checkout' || result.definition === 'generation')) this.kind = result.definition;
      try {
        if (this.kind === 'checkout' && !result.order_id) result = { ...result, ...(await api('GET', `/v1/checkouts/${this.sagaId}`)) };
        if (this.kind === 'generation' && !result.document_id) result = { ...result, ...(await api('GET', `/v1/generations/${this.sagaId}`)) };
      } catch {
        // The summary is a nicety; the timeline already shows the outcome.
      }
      if (result.order_id) final.append(' ', el('span', 'result', `Order ${result.order_id}.`));
      if (result.refund_id) final.append(' ', el('span', 'result', `Refund ${result.refund_id}.`));
      if (result.document_id) final.append(' ', downloadButtons(result.document_id, $('timeline-error')));
      if (result.failure && result.failure.kind) {
        const f = result.failure;
        final.append(' ', el('span', 'result', `First failure: ${f.kind}${f.step ? ` in ${f.step}` : ''}.`));
      }
      if (this.onFinal) this.onFinal(status, result);
    },
  };

  /** Stops following the current saga. */
  function stopFollowing() {
    if (timeline.controller) timeline.controller.abort();
    timeline.controller = null;
    $('follow-stop').disabled = true;
  }

  /** Follows saga `sagaId` (`kind`: 'checkout', 'generation' or null) until it ends. */
  function follow(sagaId, kind, onFinal) {
    stopFollowing();
    timeline.reset(sagaId, kind);
    timeline.onFinal = onFinal || null;
    $('saga-id').value = sagaId;
    const controller = new AbortController();
    timeline.controller = controller;
    $('follow-stop').disabled = false;
    streamSaga(sagaId, controller.signal)
      .catch((err) => {
        if (!controller.signal.aborted) showError($('timeline-error'), err);
      })
      .finally(() => {
        if (timeline.controller === controller) {
          timeline.controller = null;
          $('follow-stop').disabled = true;
        }
      });
  }

  /** Reads the saga's SSE stream, reconnecting after drops, until its `end` event. */
  async function streamSaga(sagaId, signal) {
    let delay = RECONNECT_MIN_MS;
    let lastEventId = '';
    while (!signal.aborted) {
      const headers = authHeaders({ Accept: 'text/event-stream' });
      if (lastEventId) headers['Last-Event-ID'] = lastEventId;
      let response;
      try {
        timeline.setConnection(lastEventId ? 'reconnecting…' : 'connecting…');
        response = await fetch(`/v1/sagas/${encodeURIComponent(sagaId)}/stream`, { headers, signal, cache: 'no-store' });
      } catch (err) {
        if (signal.aborted) return;
        timeline.setConnection(`connection lost (${err.message}); retrying…`);
        await sleep(delay, signal);
        delay = Math.min(delay * 2, RECONNECT_MAX_MS);
        continue;
      }
      if (response.status === 404 || response.status === 405) {
        // Either the saga is not the caller's or this gateway has no stream route:
        // the events route tells which.
        await response.body?.cancel();
        await pollSaga(sagaId, signal);
        return;
      }
      if (!response.ok) throw await errorFrom(response);
      timeline.setConnection('live', 'stream');
      delay = RECONNECT_MIN_MS;
      let ended = null;
      let failure = null;
      const parser = new SseParser((message) => {
        if (message.id) lastEventId = message.id;
        let data;
        try {
          data = JSON.parse(message.data);
        } catch {
          return;
        }
        if (message.type === 'end') ended = data || {};
        else if (message.type === 'error') failure = data || {};
        else timeline.add(data);
      });
      try {
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        while (!ended && !failure) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(value);
        }
        if (ended || failure) await reader.cancel();
      } catch (err) {
        if (signal.aborted) return;
        timeline.setConnection(`connection lost (${err.message}); retrying…`);
      }
      if (ended) {
        timeline.setConnection('');
        await timeline.finish(ended);
        return;
      }
      if (failure) {
        timeline.setConnection(`the stream reported an error (${failure.code || 'unknown'}); retrying…`);
      } else if (!signal.aborted) {
        timeline.setConnection('stream closed; reconnecting…');
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, RECONNECT_MAX_MS);
    }
  }

  /** Polls `GET /v1/sagas/{id}/events` until the saga is terminal (no stream route). */
  async function pollSaga(sagaId, signal) {
    timeline.setConnection('polling (no live stream on this gateway)', 'poll');
    while (!signal.aborted) {
      const body = await api('GET', `/v1/sagas/${encodeURIComponent(sagaId)}/events`);
      if (signal.aborted) return;
      for (const event of (body && body.events) || []) timeline.add(event);
      if (TERMINAL.has(timeline.status)) {
        timeline.setConnection('');
        await timeline.finish({ status: timeline.status });
        return;
      }
      await sleep(POLL_MS, signal);
    }
  }

  // ----------------------------------------------------------- catalogue

  const PRODUCTS_PAGE = 12;
  let productsCursor = null;

  /** GET of a public catalogue route; the token is sent when there is one. */
  async function catalogue(path) {
    const token = getToken();
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(path, { headers });
    } catch (err) {
      throw new ApiError(0, 'network', `Could not reach the gateway (${err.message}). Check your connection and try again.`);
    }
    if (response.status === 404) return null;
    if (!response.ok) throw await errorFrom(response);
    return response.json();
  }

  /** `amount_minor` of `currency` as text (two decimals, the ISO code after). */
  function money(amountMinor, currency) {
    return `${(amountMinor / 100).toFixed(2)} ${currency}`;
  }

  function priceOf(product, currency) {
    const price = (product.prices || []).find((p) => p.currency === currency);
    return price ? price.amount_minor : null;
  }

  function productItem(product) {
    const li = el('li', 'card product');
    li.dataset.sku = product.sku;
    const currency = $('co-currency').value.trim();
    const amount = priceOf(product, currency);
    li.append(
      el('strong', 'product-name', product.name),
      el('code', 'product-sku', product.sku),
      el('p', 'help', product.description),
      el('p', 'product-price', amount === null ? `No price in ${currency}` : money(amount, currency)),
    );
    const choose = el('button', 'secondary', 'Choose');
    choose.type = 'button';
    choose.addEventListener('click', () => {
      $('co-sku').value = product.sku;
      const form = $('checkout-form');
      delete form.dataset.idempotencyKey;
      delete form.dataset.body;
      showPrice();
      $('co-quantity').focus();
    });
    li.append(choose);
    return li;
  }

  /** Lists products (from the first page when `reset`). */
  async function loadProducts(reset) {
    const list = $('products');
    const region = $('catalogue-error');
    const more = $('products-more');
    clearError(region);
    if (reset) productsCursor = null;
    const params = new URLSearchParams({ limit: String(PRODUCTS_PAGE) });
    const q = $('catalogue-q').value.trim();
    if (q) params.set('q', q);
    if (productsCursor) params.set('cursor', productsCursor);
    try {
      const page = await catalogue(`/v1/products?${params}`);
      const items = (page && page.items) || [];
      const rows = items.map(productItem);
      if (reset) list.replaceChildren(...rows);
      else list.append(...rows);
      if (reset && !rows.length) list.replaceChildren(el('li', 'status', q ? `No product matches "${q}".` : 'The catalogue is empty.'));
      productsCursor = (page && page.next_cursor) || null;
      more.hidden = !productsCursor;
      list.dataset.loaded = 'true';
    } catch (err) {
      showError(region, err);
    }
  }

  /** Shows the catalogue price of the chosen SKU and quantity (before tax). */
  async function showPrice() {
    const note = $('co-price-note');
    const sku = $('co-sku').value.trim();
    const currency = $('co-currency').value.trim();
    const quantity = Number($('co-quantity').value) || 0;
    delete note.dataset.amount;
    if (!sku) {
      note.textContent = 'Choose a product from the catalogue.';
      return;
    }
    try {
      const product = await catalogue(`/v1/products/${encodeURIComponent(sku)}`);
      if (sku !== $('co-sku').value.trim()) return; // changed meanwhile
      if (!product) {
        note.textContent = `${sku} is not in the catalogue.`;
        return;
      }
      const amount = priceOf(product, currency);
      if (!product.active) note.textContent = `${product.name} is not for sale.`;
      else if (amount === null) note.textContent = `${product.name} has no price in ${currency}.`;
      else {
        note.dataset.amount = String(amount);
        note.textContent = `${product.name}: ${money(amount, currency)} each, ${money(amount * quantity, currency)} for ${quantity}, before the tax of the shipping country (catalogue price).`;
      }
    } catch (err) {
      note.textContent = `Price unavailable: ${describe(err)}`;
    }
  }

  // ------------------------------------------------------------ checkout

  /** The request: what to buy and where to ship it; never a price. */
  function checkoutBody(form) {
    const f = form.elements;
    const body = {
      cart_id: uuid(),
      items: [{
        sku: f.sku.value.trim(),
        quantity: Number(f.quantity.value),
      }],
      currency: f.currency.value.trim(),
      shipping_country: f.shipping_country.value.trim(),
      payment_method: f.payment_method.value,
      customer_email: f.customer_email.value.trim(),
    };
    const discount = f.discount_code.value.trim();
    if (discount) body.discount_code = discount;
    return body;
  }

  async function onCheckout(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const result = $('checkout-result');
    await submitting(form, async () => {
      result.textContent = 'Starting the checkout…';
      // The cart id is part of the body, so it is fixed with the key: a retry of
      // this submission sends the same body under the same key.
      if (!form.dataset.idempotencyKey || !form.dataset.body) form.dataset.body = JSON.stringify(checkoutBody(form));
      const key = idempotencyKey(form);
      let accepted;
      try {
        accepted = await api('POST', '/v1/checkouts', { body: JSON.parse(form.dataset.body), idempotencyKey: key });
      } catch (err) {
        result.textContent = '';
        settleIdempotencyKey(form, err);
        if (!form.dataset.idempotencyKey) delete form.dataset.body;
        throw err;
      }
      delete form.dataset.idempotencyKey;
      delete form.dataset.body;
      const id = accepted.checkout_id;
      result.textContent = `Checkout ${id} accepted; its timeline follows below.`;
      follow(id, 'checkout', () => { loadHistory(); loadOrders(); });
      loadHistory();
    });
  }

  // ----------------------------------------------------------- documents

  const FORMATS = [
    ['pdf', 'PDF'], ['pdf-modern', 'PDF (modern)'], ['pdf-ats', 'PDF (ATS)'],
    ['html', 'HTML'], ['md', 'Markdown'],
  ];

  /** Download buttons for a document (fetched with the token, saved as a file). */
  function downloadButtons(documentId, errorRegion) {
    const group = el('span', 'downloads');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', `Download document ${documentId}`);
    for (const [format, label] of FORMATS) {
      const button = el('button', 'link', label);
      button.type = 'button';
      button.dataset.document = documentId;
      button.dataset.format = format;
      button.setAttribute('aria-label', `Download ${label}`);
      button.addEventListener('click', () => download(documentId, format, button, errorRegion));
      group.append(button, ' ');
    }
    return group;
  }

  async function download(documentId, format, button, errorRegion) {
    clearError(errorRegion);
    button.disabled = true;
    try {
      let response;
      try {
        response = await fetch(`/v1/documents/${encodeURIComponent(documentId)}/${format}`, { headers: authHeaders({}), cache: 'no-store' });
      } catch (err) {
        throw new ApiError(0, 'network', `Could not reach the gateway (${err.message}).`);
      }
      if (!response.ok) throw await errorFrom(response);
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const a = el('a');
      a.href = url;
      a.download = `${documentId}.${format}`;
      a.hidden = true;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60000);
    } catch (err) {
      showError(errorRegion, err);
    } finally {
      button.disabled = false;
    }
  }

  async function onGenerate(event) {
    event.preventDefault();
    const form = event.currentTarget;
    const result = $('generation-result');
    await submitting(form, async () => {
      const f = form.elements;
      const body = { kind: f.kind.value, cv_text: f.cv_text.value, job_description: f.job_description.value };
      if (f.template.value.trim()) body.template = f.template.value;
      if (f.token_budget.value) body.token_budget = Number(f.token_budget.value);
      result.textContent = 'Starting the generation…';
      let accepted;
      try {
        accepted = await api('POST', '/v1/generations', { body, idempotencyKey: idempotencyKey(form) });
      } catch (err) {
        result.textContent = '';
        settleIdempotencyKey(form, err);
        throw err;
      }
      delete form.dataset.idempotencyKey;
      const id = accepted.generation_id;
      result.textContent = `Generation ${id} accepted; its timeline is shown under "Saga timeline".`;
      follow(id, 'generation', () => loadHistory());
      loadHistory();
    });
  }

  let historyLoading = null;

  function loadHistory() {
    if (!getToken()) return Promise.resolve();
    if (!historyLoading) {
      historyLoading = renderHistory().finally(() => { historyLoading = null; });
    }
    return historyLoading;
  }

  async function renderHistory() {
    const region = $('history-error');
    const status = $('history-status');
    clearError(region);
    status.textContent = 'Loading history…';
    try {
      const body = await api('GET', '/v1/history');
      const items = (body && body.items) || [];
      const rows = items.map((item) => historyRow(item, region));
      $('history-body').replaceChildren(...rows);
      status.textContent = items.length ? `${items.length} entr${items.length === 1 ? 'y' : 'ies'}.` : 'Nothing yet: start a checkout or a generation.';
    } catch (err) {
      status.textContent = '';
      showError(region, err);
    }
  }

  function historyRow(item, region) {
    const tr = el('tr');
    tr.dataset.id = item.id;
    const started = el('td');
    const time = el('time', null, formatDateTime(item.created_at));
    time.setAttribute('datetime', String(item.created_at || ''));
    started.append(time);
    const KINDS = { resume: 'Resume', interview_prep: 'Interview preparation', cover_letter: 'Cover letter' };
    const what = item.type === 'generation' ? (KINDS[item.kind] || 'Document') : 'Checkout';
    const whatCell = el('td');
    whatCell.append(el('span', null, what), el('br'), el('span', 'mono small', item.id));
    const statusCell = el('td');
    const badge = el('span', 'badge', String(item.status || '').replace(/_/g, ' '));
    badge.dataset.status = item.status;
    statusCell.append(badge);
    const resultCell = el('td');
    if (item.order_id) resultCell.append(el('span', 'mono small', `order ${item.order_id}`));
    if (item.document_id) resultCell.append(downloadButtons(item.document_id, region));
    const actions = el('td');
    const show = el('button', 'secondary', 'Timeline');
    show.type = 'button';
    show.setAttribute('aria-label', `Show the timeline of ${what.toLowerCase()} ${item.id}`);
    show.addEventListener('click', () => {
      follow(item.id, item.type, () => loadHistory());
      $('timeline-section').scrollIntoView({ block: 'start' });
    });
    actions.append(show);
    tr.append(started, whatCell, statusCell, resultCell, actions);
    return tr;
  }

  // -------------------------------------------------------------- orders
  //
  // Shapes (services/order/src/read.rs, forwarded by the gateway): `GET
  // /v1/orders` is `{orders: [{order_id, status, total_minor, refunded_minor,
  // currency, items: [{sku, quantity, ...}], created_at, refunds:
  // [{refund_id, status, amount_minor, items, created_at}], cancelled_by}],
  // next_before}`.

  let ordersLoading = null;

  function loadOrders() {
    if (!getToken()) return Promise.resolve();
    if (!ordersLoading) {
      ordersLoading = renderOrders().finally(() => { ordersLoading = null; });
    }
    return ordersLoading;
  }

  async function renderOrders() {
    const region = $('orders-error');
    const status = $('orders-status');
    clearError(region);
    status.textContent = 'Loading orders…';
    try {
      const body = await api('GET', '/v1/orders?limit=20');
      const orders = (body && body.orders) || [];
      $('orders').replaceChildren(...orders.map((order) => orderCard(order)));
      status.textContent = orders.length ? `${orders.length} order${orders.length === 1 ? '' : 's'}.` : 'No orders yet: check out above.';
    } catch (err) {
      status.textContent = '';
      showError(region, err);
    }
  }

  /** Units of each SKU already held by a refund (reserved or confirmed). */
  function refundedUnits(order) {
    const held = new Map();
    for (const refund of order.refunds || []) {
      if (refund.status !== 'reserved' && refund.status !== 'confirmed') continue;
      for (const item of refund.items || []) held.set(item.sku, (held.get(item.sku) || 0) + item.quantity);
    }
    return held;
  }

  /**
   * POSTs an order change and follows its saga. The key is kept on `button`
   * until the gateway answers, so a retry after a network failure cannot start
   * a second change.
   */
  async function orderChange(button, path, body) {
    const region = $('orders-error');
    clearError(region);
    if (!button.dataset.idempotencyKey) button.dataset.idempotencyKey = uuid();
    button.disabled = true;
    try {
      const accepted = await api('POST', path, { body, idempotencyKey: button.dataset.idempotencyKey });
      delete button.dataset.idempotencyKey;
      $('orders-status').textContent = `${accepted.kind === 'refund' ? 'Refund' : 'Cancellation'} ${accepted.saga_id} started; its timeline follows below.`;
      follow(accepted.saga_id, null, () => loadOrders());
      $('timeline-section').scrollIntoView({ block: 'start' });
    } catch (err) {
      settleIdempotencyKey(button, err);
      showError(region, err);
    } finally {
      button.disabled = false;
    }
  }

  function orderCard(order) {
    const card = el('li', 'card order');
    card.dataset.orderId = order.order_id;
    card.dataset.status = order.status;
    const head = el('p', 'summary');
    const badge = el('span', 'badge', order.status);
    badge.dataset.status = order.status === 'cancelled' ? 'compensated' : 'completed';
    head.append(el('strong', null, 'Order '), el('span', 'mono small', order.order_id), ' ', badge);
    const paid = el('p', null, `Paid ${money(order.total_minor, order.currency)}`);
    if (order.refunded_minor) paid.append(`, refunded ${money(order.refunded_minor, order.currency)}`);
    paid.append('.');
    if (order.status === 'cancelled') paid.append(' Cancelled: what was left of it is refunded.');
    const held = refundedUnits(order);
    const lines = el('ul', 'lines');
    for (const item of order.items || []) {
      const li = el('li', 'line');
      li.dataset.sku = item.sku;
      const left = item.quantity - (held.get(item.sku) || 0);
      li.append(`${item.quantity} × ${item.sku}`);
      if (order.status === 'created' && left > 0) {
        const form = el('form', 'inline refund');
        const id = `refund-${order.order_id}-${item.sku}`.replace(/[^A-Za-z0-9_-]/g, '_');
        const label = el('label', 'visually-hidden', `Units of ${item.sku} to refund`);
        label.htmlFor = id;
        const quantity = el('input');
        quantity.id = id;
        quantity.type = 'number';
        quantity.min = '1';
        quantity.max = String(left);
        quantity.value = '1';
        quantity.required = true;
        const submit = el('button', 'secondary', 'Refund');
        submit.type = 'submit';
        form.append(label, quantity, submit);
        form.addEventListener('submit', (event) => {
          event.preventDefault();
          orderChange(submit, `/v1/orders/${order.order_id}/refunds`, {
            lines: [{ sku: item.sku, quantity: Number(quantity.value) }],
          });
        });
        li.append(' ', form);
      } else if (left <= 0) {
        li.append(' ', el('span', 'muted', '(refunded)'));
      }
      lines.append(li);
    }
    card.append(head, paid, lines);
    for (const refund of order.refunds || []) {
      card.append(el('p', 'muted small',
        `Refund ${refund.refund_id}: ${money(refund.amount_minor, order.currency)}, ${refund.status}.`));
    }
    if (order.status === 'created') {
      const cancel = el('button', 'secondary cancel-order', 'Cancel order');
      cancel.type = 'button';
      cancel.setAttribute('aria-label', `Cancel order ${order.order_id}`);
      cancel.addEventListener('click', () => orderChange(cancel, `/v1/orders/${order.order_id}/cancel`, {}));
      card.append(cancel);
    }
    return card;
  }

  // ------------------------------------------------------------- tracker
  //
  // Shapes (services/applications/src/http): an application is `{id, company,
  // role, location, remote, salary_min, salary_max, salary_currency, stack,
  // status, allowed_transitions, source_url, notes, applied_at, updated_at,
  // priority: {score, reasons: [{rule, points, message}]}}`; lists are
  // `{items, total, limit, offset}`; bodies refuse unknown fields.

  const tracker = { available: null, applications: [] };

  function listOf(body) {
    if (Array.isArray(body)) return body;
    return (body && Array.isArray(body.items)) ? body.items : [];
  }

  /** "a, b ,c" -> ["a", "b", "c"]. */
  function commaList(text) {
    return text.split(',').map((s) => s.trim()).filter(Boolean);
  }

  /** True when the error means the gateway has no tracker behind it. */
  function trackerMissing(err) {
    return err instanceof ApiError && [0, 404, 501, 502, 503, 504].includes(err.status);
  }

  function setTrackerAvailable(available, err) {
    tracker.available = available;
    const notice = $('tracker-unavailable');
    $('tracker-section').dataset.available = String(available);
    $('tracker-body').hidden = !available;
    if (available) {
      notice.hidden = true;
      notice.textContent = '';
    } else {
      notice.hidden = false;
      notice.textContent = 'The job-application tracker is not available on this gateway right now'
        + ` (${err ? describe(err) : 'no answer'}). Checkouts and documents still work; `;
      const retry = el('button', 'link', 'try again');
      retry.type = 'button';
      retry.addEventListener('click', () => loadTracker());
      notice.append(retry, '.');
    }
  }

  async function loadTracker() {
    if (!getToken()) return;
    const region = $('tracker-error');
    const status = $('tracker-status');
    clearError(region);
    status.textContent = 'Loading applications…';
    const filter = $('tracker-filter').value;
    const query = new URLSearchParams({ sort: 'priority', limit: '100' });
    if (filter) query.set('status', filter);
    try {
      const body = await api('GET', `/v1/applications?${query}`);
      setTrackerAvailable(true);
      tracker.applications = listOf(body);
      $('applications').replaceChildren(...tracker.applications.map(applicationCard));
      const total = body && typeof body.total === 'number' ? body.total : tracker.applications.length;
      status.textContent = `${total} application${total === 1 ? '' : 's'}${filter ? ` ${filter}` : ''}.`;
    } catch (err) {
      status.textContent = '';
      if (trackerMissing(err)) {
        setTrackerAvailable(false, err);
        $('applications').replaceChildren();
        return;
      }
      showError(region, err);
      return;
    }
    await Promise.all([loadAnalytics(), loadPreferences()]);
  }

  function statusOptions(select, statuses, current, allLabel) {
    select.replaceChildren();
    if (allLabel) select.append(new Option(allLabel, ''));
    for (const s of statuses) select.append(new Option(s.replace(/_/g, ' '), s, false, s === current));
  }

  function reasonText(reason) {
    if (typeof reason === 'string') return reason;
    if (reason && typeof reason === 'object') {
      const text = reason.message || reason.rule || JSON.stringify(reason);
      const points = reason.points;
      return typeof points === 'number' ? `${text} (${points > 0 ? '+' : ''}${points})` : text;
    }
    return String(reason);
  }

  function salaryText(app) {
    if (app.salary_min == null && app.salary_max == null) return null;
    const range = app.salary_min != null && app.salary_max != null
      ? `${app.salary_min}–${app.salary_max}`
      : app.salary_min != null ? `from ${app.salary_min}` : `up to ${app.salary_max}`;
    return `${range} ${app.salary_currency || ''}`.trim();
  }

  function applicationCard(app) {
    const id = app.id;
    const card = $('application-template').content.firstElementChild.cloneNode(true);
    card.dataset.id = id;
    const title = `${app.role} at ${app.company}`;
    const heading = card.querySelector('.card-title');
    heading.textContent = title;
    heading.id = `app-title-${id}`;
    card.setAttribute('aria-labelledby', heading.id);
    const badge = card.querySelector('.app-status');
    badge.textContent = String(app.status || '').replace(/_/g, ' ');
    badge.dataset.status = app.status;
    const priority = app.priority || {};
    card.querySelector('.priority').textContent = typeof priority.score === 'number' ? `priority ${priority.score}/100` : '';
    const meta = [
      app.location,
      app.remote ? 'remote possible' : null,
      salaryText(app),
      Array.isArray(app.stack) && app.stack.length ? app.stack.join(', ') : null,
      app.applied_at ? `applied ${formatDateTime(app.applied_at)}` : null,
    ].filter(Boolean);
    const metaNode = card.querySelector('.app-meta');
    metaNode.textContent = meta.join(' · ');
    if (app.source_url && /^https?:\/\//i.test(app.source_url)) {
      const link = el('a', null, 'job ad');
      link.href = app.source_url;
      link.rel = 'noopener noreferrer';
      link.target = '_blank';
      if (meta.length) metaNode.append(' · ');
      metaNode.append(link);
    }
    if (app.notes) card.querySelector('.app-meta').after(el('p', 'notes', app.notes));
    const reasons = card.querySelector('.reasons');
    reasons.setAttribute('aria-label', `Why ${title} has this priority`);
    reasons.replaceChildren(...(Array.isArray(priority.reasons) ? priority.reasons : []).map((r) => el('li', null, reasonText(r))));
    const errorRegion = card.querySelector('.error');
    errorRegion.id = `app-error-${id}`;

    const move = card.querySelector('.app-move');
    const transitions = Array.isArray(app.allowed_transitions) ? app.allowed_transitions : [];
    if (transitions.length) {
      const select = move.elements.status;
      statusOptions(select, transitions, transitions[0], null);
      move.addEventListener('submit', async (event) => {
        event.preventDefault();
        await cardAction(card, errorRegion, async () => {
          await api('PATCH', `/v1/applications/${encodeURIComponent(id)}`, { body: { status: select.value } });
          $('tracker-status').textContent = `${title} moved to ${select.value}.`;
          await loadTracker();
        });
      });
    } else {
      move.replaceChildren(el('span', 'muted', `${app.status} is final.`));
    }
    const del = card.querySelector('.app-delete');
    del.setAttribute('aria-label', `Delete ${title}`);
    del.addEventListener('click', async () => {
      if (!window.confirm(`Delete the application "${title}" and its interviews?`)) return;
      await cardAction(card, errorRegion, async () => {
        await api('DELETE', `/v1/applications/${encodeURIComponent(id)}`);
        $('tracker-status').textContent = `${title} deleted.`;
        await loadTracker();
      });
    });

    const interviews = card.querySelector('.app-interviews');
    interviews.addEventListener('toggle', () => {
      if (interviews.open) loadInterviews(id, card, errorRegion);
    });
    const interviewForm = card.querySelector('.interview-form');
    interviewForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const f = interviewForm.elements;
      const when = new Date(f.scheduled_at.value);
      const body = { scheduled_at: Number.isNaN(when.getTime()) ? f.scheduled_at.value : when.toISOString(), kind: f.kind.value };
      if (f.duration_minutes.value) body.duration_minutes = Number(f.duration_minutes.value);
      for (const name of ['interviewer', 'location', 'notes']) {
        if (f[name].value.trim()) body[name] = f[name].value.trim();
      }
      await cardAction(card, errorRegion, async () => {
        await api('POST', `/v1/applications/${encodeURIComponent(id)}/interviews`, { body });
        interviewForm.reset();
        await loadInterviews(id, card, errorRegion);
        loadAnalytics();
      }, interviewForm);
    });
    return card;
  }

  async function cardAction(card, errorRegion, action, form) {
    clearError(errorRegion, form);
    card.setAttribute('aria-busy', 'true');
    try {
      await action();
    } catch (err) {
      showError(errorRegion, err, form);
    } finally {
      card.removeAttribute('aria-busy');
    }
  }

  async function loadInterviews(id, card, errorRegion) {
    const list = card.querySelector('.interview-list');
    try {
      const items = listOf(await api('GET', `/v1/applications/${encodeURIComponent(id)}/interviews`));
      list.replaceChildren(...(items.length ? items.map((iv) => {
        const li = el('li');
        const time = el('time', null, formatDateTime(iv.scheduled_at));
        time.setAttribute('datetime', String(iv.scheduled_at || ''));
        li.append(time);
        const extra = [
          String(iv.kind || '').replace(/_/g, ' '),
          iv.duration_minutes ? `${iv.duration_minutes} min` : null,
          iv.interviewer,
          iv.location,
          iv.outcome,
          iv.notes,
        ].filter(Boolean).join(' · ');
        if (extra) li.append(` — ${extra}`);
        return li;
      }) : [el('li', 'muted', 'No interviews yet.')]));
    } catch (err) {
      showError(errorRegion, err);
    }
  }

  /** Renders any JSON value as nested description lists. */
  function jsonView(value) {
    if (Array.isArray(value)) {
      const ul = el('ul', 'json');
      for (const item of value) {
        const li = el('li');
        li.append(jsonView(item));
        ul.append(li);
      }
      return ul;
    }
    if (value && typeof value === 'object') {
      const dl = el('dl', 'json');
      for (const [key, inner] of Object.entries(value)) {
        const dd = el('dd');
        dd.append(jsonView(inner));
        dl.append(el('dt', null, key.replace(/_/g, ' ')), dd);
      }
      return dl;
    }
    return el('span', null, value === null || value === undefined ? '—' : String(value));
  }

  function analyticsView(a) {
    const dl = el('dl', 'json');
    const add = (term, value) => {
      const dd = el('dd');
      if (value instanceof Node) dd.append(value);
      else dd.textContent = value === null || value === undefined ? '—' : String(value);
      dl.append(el('dt', null, term), dd);
    };
    add('Applications', a.total);
    if (a.by_status && typeof a.by_status === 'object') {
      add('By status', Object.entries(a.by_status).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ') || 'none');
    }
    add('Sent', a.applied);
    add('Answered', a.responded);
    add('Response rate', typeof a.response_rate === 'number' ? `${Math.round(a.response_rate * 1000) / 10} %` : '—');
    const t = a.time_to_first_interview;
    if (t && typeof t === 'object') {
      add('Days to first interview', t.applications ? `average ${t.average_days}, median ${t.median_days} (over ${t.applications})` : '—');
    }
    if (a.interviews && typeof a.interviews === 'object') add('Interviews', `${a.interviews.total} (${a.interviews.upcoming} upcoming)`);
    return dl;
  }

  async function loadAnalytics() {
    const target = $('analytics');
    try {
      const body = await api('GET', '/v1/tracker/analytics');
      target.replaceChildren(body && typeof body.total === 'number' ? analyticsView(body) : jsonView(body));
    } catch (err) {
      target.replaceChildren(el('p', 'error', describe(err)));
    }
  }

  function fillPreferences(p) {
    const f = $('prefs-form').elements;
    f.locations.value = (p.locations || []).join(', ');
    f.remote_ok.checked = Boolean(p.remote_ok);
    f.salary_target.value = p.salary_target ?? '';
    f.salary_currency.value = p.salary_currency ?? '';
    f.preferred_stack.value = (p.preferred_stack || []).join(', ');
    f.avoided_stack.value = (p.avoided_stack || []).join(', ');
    $('prefs-status').textContent = p.updated_at ? `Saved ${formatDateTime(p.updated_at)}.` : 'Not set yet: every application scores alike.';
  }

  async function loadPreferences() {
    const form = $('prefs-form');
    clearError($('prefs-error'), form);
    try {
      fillPreferences((await api('GET', '/v1/tracker/preferences')) || {});
    } catch (err) {
      showError($('prefs-error'), err);
    }
  }

  async function onSavePreferences(event) {
    event.preventDefault();
    const form = event.currentTarget;
    await submitting(form, async () => {
      const f = form.elements;
      const body = {
        locations: commaList(f.locations.value),
        remote_ok: f.remote_ok.checked,
        preferred_stack: commaList(f.preferred_stack.value),
        avoided_stack: commaList(f.avoided_stack.value),
      };
      if (f.salary_target.value) body.salary_target = Number(f.salary_target.value);
      if (f.salary_currency.value.trim()) body.salary_currency = f.salary_currency.value.trim();
      const saved = await api('PUT', '/v1/tracker/preferences', { body });
      fillPreferences(saved || body);
      await loadTracker();
    });
  }

  async function onCreateApplication(event) {
    event.preventDefault();
    const form = event.currentTarget;
    await submitting(form, async () => {
      const f = form.elements;
      const body = { company: f.company.value.trim(), role: f.role.value.trim(), status: f.status.value, remote: f.remote.checked };
      for (const name of ['location', 'source_url', 'salary_currency', 'job_description', 'notes']) {
        if (f[name].value.trim()) body[name] = f[name].value.trim();
      }
      for (const name of ['salary_min', 'salary_max']) {
        if (f[name].value) body[name] = Number(f[name].value);
      }
      const stack = commaList(f.stack.value);
      if (stack.length) body.stack = stack;
      const created = await api('POST', '/v1/applications', { body });
      form.reset();
      $('tracker-status').textContent = `Added ${created ? `${created.role} at ${created.company}` : 'the application'}.`;
      await loadTracker();
    });
  }

  // --------------------------------------------------------------- start

  function loadAll() {
    loadHistory();
    loadOrders();
    loadTracker();
  }

  function init() {
    takeTokenFromFragment();
    renderTokenStatus();

    $('auth-form').addEventListener('submit', (event) => {
      event.preventDefault();
      setToken($('token').value.trim());
      renderTokenStatus();
      loadAll();
    });
    $('token-clear').addEventListener('click', () => {
      setToken('');
      renderTokenStatus();
      stopFollowing();
      $('history-body').replaceChildren();
      $('orders').replaceChildren();
      $('applications').replaceChildren();
    });

    const checkoutForm = $('checkout-form');
    checkoutForm.addEventListener('submit', onCheckout);
    $('catalogue-form').addEventListener('submit', (event) => {
      event.preventDefault();
      loadProducts(true);
    });
    $('products-more').addEventListener('click', () => loadProducts(false));
    for (const id of ['co-sku', 'co-quantity']) $(id).addEventListener('change', showPrice);
    $('co-currency').addEventListener('change', () => {
      showPrice();
      loadProducts(true);
    });
    $('generation-form').addEventListener('submit', onGenerate);
    $('application-form').addEventListener('submit', onCreateApplication);
    $('prefs-form').addEventListener('submit', onSavePreferences);
    // An edited form is a new request: it gets a new Idempotency-Key.
    for (const form of [checkoutForm, $('generation-form')]) {
      form.addEventListener('input', () => {
        delete form.dataset.idempotencyKey;
        delete form.dataset.body;
      });
    }

    $('follow-form').addEventListener('submit', (event) => {
      event.preventDefault();
      follow($('saga-id').value.trim(), null);
    });
    $('follow-stop').addEventListener('click', () => {
      stopFollowing();
      timeline.setConnection('stopped');
    });
    $('history-refresh').addEventListener('click', () => loadHistory());
    $('orders-refresh').addEventListener('click', () => loadOrders());
    $('tracker-refresh').addEventListener('click', () => loadTracker());
    $('tracker-filter').addEventListener('change', () => loadTracker());
    statusOptions($('app-status'), ['saved', 'applied'], 'saved', null);
    statusOptions($('tracker-filter'), APPLICATION_STATUSES, '', 'All statuses');

    window.addEventListener('hashchange', () => {
      if (/(^#|&)token=/.test(window.location.hash)) {
        takeTokenFromFragment();
        renderTokenStatus();
        loadAll();
      }
    });

    document.body.dataset.ready = 'true';
    loadProducts(true);
    showPrice();
    loadAll();
  }

  // Exposed for the browser test and the console; the page does not need it.
  window.sagaflow = { SseParser, follow, stopFollowing };

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
