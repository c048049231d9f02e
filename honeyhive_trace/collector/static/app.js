// Viewer for the honeyhive-trace local collector. Plain DOM, no dependencies.
// Every piece of event data reaches the page through textContent or setAttribute, never as
// parsed HTML, so nothing an event contains can run as markup or script.
//
// Routes (URL-addressable, so a headless browser can check them):
//   #/                         the events table; filters as a query: #/?model=gpt-4o&limit=50
//   #/event/<event_id>         one event, with its session tree
"use strict";

(function () {
  const KEY_STORAGE = "honeyhive-trace-collector-key";
  const FILTERS = ["project", "model", "event_name", "session_id", "has_error", "limit"];
  const REFRESH_MS = 3000;
  let refreshTimer = null;
  let offset = 0;

  const $ = (id) => document.getElementById(id);

  // Build an element; children may be nodes or strings (added as text, never parsed).
  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(props || {})) {
      if (value === undefined || value === null) continue;
      if (name === "className") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else if (name.startsWith("data-")) node.setAttribute(name, String(value));
      else if (name === "href") node.setAttribute("href", safeHref(value));
      else node.setAttribute(name, String(value));
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Only same-page links are ever built from data.
  function safeHref(value) {
    const text = String(value);
    return text.startsWith("#/") ? text : "#/";
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(id, visible) {
    $(id).hidden = !visible;
  }

  // ---- data access -----------------------------------------------------------------------

  class AuthRequired extends Error {}

  async function api(path) {
    const headers = { Accept: "application/json" };
    const key = sessionStorage.getItem(KEY_STORAGE);
    if (key) headers.Authorization = "Bearer " + key;
    const response = await fetch(path, { headers, cache: "no-store" });
    if (response.status === 401) throw new AuthRequired("an API key is required");
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      const errors = body && Array.isArray(body.errors) ? body.errors : [];
      const detail = errors.map((e) => (e.field ? e.field + ": " : "") + e.message).join("; ");
      const error = new Error(detail || "HTTP " + response.status);
      error.status = response.status;
      throw error;
    }
    return body;
  }

  // ---- formatting --------------------------------------------------------------------------

  const isNumber = (v) => typeof v === "number" && Number.isFinite(v);
  const pad = (n, width) => String(n).padStart(width || 2, "0");

  function fmtTime(ms) {
    if (!isNumber(ms)) return "—";
    const d = new Date(ms);
    return (
      d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds()) + "." +
      pad(d.getMilliseconds(), 3)
    );
  }

  function fmtDuration(ms) {
    if (!isNumber(ms)) return "—";
    return ms >= 100 ? Math.round(ms).toLocaleString("en-US") : ms.toFixed(1);
  }

  function totalTokens(usage) {
    if (!usage || typeof usage !== "object") return null;
    if (isNumber(usage.total_tokens)) return usage.total_tokens;
    if (isNumber(usage.prompt_tokens) && isNumber(usage.completion_tokens)) {
      return usage.prompt_tokens + usage.completion_tokens;
    }
    return null;
  }

  function fmtCost(cost) {
    if (!isNumber(cost)) return "—";
    return "$" + (cost >= 0.01 ? cost.toFixed(4) : cost.toPrecision(3));
  }

  function fmtJson(value) {
    if (value === undefined) return "—";
    return JSON.stringify(value, null, 2);
  }

  function hasError(ev) {
    return typeof ev.error === "string" && ev.error !== "";
  }

  function eventName(ev) {
    return typeof ev.event_name === "string" && ev.event_name ? ev.event_name : "(unnamed)";
  }

  // ---- list view ---------------------------------------------------------------------------

  function currentParams() {
    const hash = location.hash || "#/";
    const query = hash.indexOf("?") >= 0 ? hash.slice(hash.indexOf("?") + 1) : "";
    return new URLSearchParams(query);
  }

  function fillFilterForm(params) {
    for (const name of FILTERS) {
      const field = $("filters").elements.namedItem(name);
      if (field) field.value = params.get(name) || (name === "limit" ? "100" : "");
    }
  }

  function filterFormParams() {
    const params = new URLSearchParams();
    for (const name of FILTERS) {
      const field = $("filters").elements.namedItem(name);
      const value = field ? field.value.trim() : "";
      if (value && !(name === "limit" && value === "100")) params.set(name, value);
    }
    return params;
  }

  function eventRow(ev) {
    const row = el(
      "tr",
      { className: "event-row" + (hasError(ev) ? " has-error" : ""), "data-event-id": ev.event_id },
      el("td", { className: "col-time", text: fmtTime(ev.start_time) }),
      el("td", { className: "col-name" }, el("a", { href: "#/event/" + encodeURIComponent(ev.event_id), text: eventName(ev) })),
      el("td", { className: "col-model", text: ev.model }),
      el("td", { className: "col-provider", text: ev.provider }),
      el("td", { className: "col-duration num", text: fmtDuration(ev.duration) }),
      el("td", { className: "col-tokens num", text: totalTokens(ev.usage) ?? "—" }),
      el("td", { className: "col-cost num", text: fmtCost(ev.cost) }),
      el("td", { className: "col-error", text: hasError(ev) ? ev.error : "", title: hasError(ev) ? ev.error : null }),
    );
    row.addEventListener("click", (e) => {
      if (e.target instanceof HTMLAnchorElement) return;
      location.hash = "#/event/" + encodeURIComponent(ev.event_id);
    });
    return row;
  }

  async function renderList() {
    const params = currentParams();
    fillFilterForm(params);
    const limit = Number(params.get("limit") || "100");
    params.set("limit", String(limit));
    params.set("offset", String(offset));
    const data = await api("/events?" + params.toString());
    const body = $("events-body");
    clear(body);
    for (const ev of data.events) body.append(eventRow(ev));
    show("empty", data.events.length === 0);
    const first = data.total === 0 ? 0 : offset + 1;
    $("page-info").textContent = first + "–" + (offset + data.events.length) + " of " + data.total;
    $("prev-page").disabled = offset === 0;
    $("next-page").disabled = offset + data.events.length >= data.total;
    $("status").textContent = data.total + " events · updated " + fmtTime(Date.now()).slice(11, 19);
  }

  // ---- detail view -------------------------------------------------------------------------

  function contentNode(content) {
    return el("pre", { className: "content", text: typeof content === "string" ? content : fmtJson(content) });
  }

  function messageNode(message) {
    const role = message && typeof message.role === "string" ? message.role : "message";
    const roleClass = "role-" + role.toLowerCase().replace(/[^a-z0-9-]/g, "");
    const node = el("div", { className: "message " + roleClass }, el("span", { className: "role", text: role }));
    if (message && typeof message === "object" && "content" in message) node.append(contentNode(message.content));
    const rest = {};
    for (const [k, v] of Object.entries(message || {})) if (k !== "role" && k !== "content") rest[k] = v;
    if (Object.keys(rest).length) node.append(contentNode(rest));
    return node;
  }

  function summaryRow(list, label, value) {
    if (value === undefined || value === null || value === "") return;
    list.append(el("dt", { text: label }), el("dd", { text: value }));
  }

  function treeLabel(ev) {
    return el(
      "span",
      { className: "tree-label" },
      el("a", { href: "#/event/" + encodeURIComponent(ev.event_id), text: eventName(ev) }),
      el("span", { className: "tree-meta", text: ev.model + " · " + fmtDuration(ev.duration) + " ms" }),
    );
  }

  // Nest the session's events by parent_id; events whose parent is not a model event of the
  // session (a chain or tool span, say) become roots, ordered by start time.
  function buildTree(events, currentId) {
    const byId = new Map(events.map((ev) => [ev.event_id, ev]));
    const children = new Map();
    const roots = [];
    const byStart = (a, b) => (a.start_time || 0) - (b.start_time || 0);
    for (const ev of events) {
      const parent = ev.parent_id;
      if (parent && parent !== ev.event_id && byId.has(parent)) {
        if (!children.has(parent)) children.set(parent, []);
        children.get(parent).push(ev);
      } else {
        roots.push(ev);
      }
    }
    const seen = new Set();
    function node(ev) {
      seen.add(ev.event_id);
      const item = el("li", {
        className: "tree-node" + (ev.event_id === currentId ? " current" : "") + (hasError(ev) ? " has-error" : ""),
        "data-event-id": ev.event_id,
      }, treeLabel(ev));
      const kids = (children.get(ev.event_id) || []).filter((k) => !seen.has(k.event_id)).sort(byStart);
      if (kids.length) item.append(el("ul", {}, ...kids.map(node)));
      return item;
    }
    const nodes = roots.sort(byStart).map(node);
    // Events caught in a parent_id cycle have no root; list them flat rather than lose them.
    for (const ev of events) if (!seen.has(ev.event_id)) nodes.push(node(ev));
    return nodes;
  }

  async function renderTree(ev) {
    const tree = $("session-tree");
    clear(tree);
    if (typeof ev.session_id !== "string" || !ev.session_id) {
      tree.append(el("li", { className: "tree-node current", "data-event-id": ev.event_id }, treeLabel(ev)));
      tree.append(el("li", { className: "hint", text: "not part of a session" }));
      return;
    }
    const params = new URLSearchParams({ session_id: ev.session_id, limit: "1000" });
    const data = await api("/events?" + params.toString());
    const events = data.events.some((e) => e.event_id === ev.event_id) ? data.events : [ev, ...data.events];
    tree.append(...buildTree(events, ev.event_id));
    if (data.total > data.events.length) {
      tree.append(el("li", { className: "hint", text: "showing the newest " + data.events.length + " of " + data.total }));
    }
  }

  async function renderDetail(eventId) {
    const ev = await api("/events/" + encodeURIComponent(eventId));
    const view = $("detail-view");
    view.setAttribute("data-event-id", ev.event_id);
    $("detail-title").textContent = eventName(ev);
    document.title = eventName(ev) + " · honeyhive-trace";

    const summary = $("detail-summary");
    clear(summary);
    summaryRow(summary, "event id", ev.event_id);
    summaryRow(summary, "model", ev.model);
    summaryRow(summary, "provider", ev.provider);
    summaryRow(summary, "project", ev.project);
    summaryRow(summary, "source", ev.source);
    summaryRow(summary, "start", fmtTime(ev.start_time));
    summaryRow(summary, "duration", fmtDuration(ev.duration) + " ms");
    summaryRow(summary, "tokens", totalTokens(ev.usage));
    summaryRow(summary, "cost", isNumber(ev.cost) ? fmtCost(ev.cost) : null);
    summaryRow(summary, "session", ev.session_id);
    summaryRow(summary, "parent", ev.parent_id);

    $("detail-error").textContent = hasError(ev) ? ev.error : "";
    show("detail-error", hasError(ev));

    const messages = $("detail-messages");
    clear(messages);
    const list = Array.isArray(ev.messages) ? ev.messages : [];
    for (const message of list) messages.append(messageNode(message));
    if (!list.length) messages.append(el("p", { className: "hint", text: "no messages" }));

    const response = $("detail-response");
    clear(response);
    response.append(messageNode(ev.response || {}));

    $("detail-hyperparameters").textContent = fmtJson(ev.hyperparameters);
    $("detail-usage").textContent = fmtJson(ev.usage);
    $("detail-metadata").textContent = fmtJson(ev.metadata);
    $("detail-raw").textContent = fmtJson(ev);
    $("status").textContent = "event " + ev.event_id;
    await renderTree(ev);
  }

  // ---- routing -----------------------------------------------------------------------------

  function stopRefresh() {
    if (refreshTimer !== null) clearTimeout(refreshTimer);
    refreshTimer = null;
  }

  function scheduleRefresh() {
    stopRefresh();
    if ($("auto-refresh").checked) refreshTimer = setTimeout(() => route(false), REFRESH_MS);
  }

  async function route(resetPage) {
    if (resetPage !== false) offset = 0;
    stopRefresh();
    show("load-error", false);
    const hash = location.hash || "#/";
    const match = /^#\/event\/([^?]+)/.exec(hash);
    show("list-view", !match);
    show("detail-view", !!match);
    try {
      if (match) {
        await renderDetail(decodeURIComponent(match[1]));
      } else {
        await renderList();
        scheduleRefresh();
      }
      show("auth", false);
    } catch (error) {
      if (error instanceof AuthRequired) {
        show("auth", true);
        $("auth-key").focus();
      } else {
        $("load-error").textContent = (match ? "Could not load the event: " : "Could not load events: ") + error.message;
        show("load-error", true);
      }
    }
  }

  function init() {
    $("filters").addEventListener("submit", (e) => {
      e.preventDefault();
      const query = filterFormParams().toString();
      const target = "#/" + (query ? "?" + query : "");
      if (location.hash === target) route(); else location.hash = target;
    });
    $("clear-filters").addEventListener("click", () => {
      if (location.hash === "#/") route(); else location.hash = "#/";
    });
    $("auto-refresh").addEventListener("change", () => (location.hash.startsWith("#/event/") ? null : route(false)));
    $("prev-page").addEventListener("click", () => {
      offset = Math.max(0, offset - Number(currentParams().get("limit") || "100"));
      route(false);
    });
    $("next-page").addEventListener("click", () => {
      offset += Number(currentParams().get("limit") || "100");
      route(false);
    });
    $("auth").addEventListener("submit", (e) => {
      e.preventDefault();
      sessionStorage.setItem(KEY_STORAGE, $("auth-key").value.trim());
      $("auth-key").value = "";
      route(false);
    });
    window.addEventListener("hashchange", () => route());
    route();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
