// Viewer for the honeyhive-trace local collector. Plain DOM, no dependencies.
// Every piece of event data reaches the page through textContent or setAttribute, never as
// parsed HTML, so nothing an event contains can run as markup or script.
//
// Routes (URL-addressable, so a headless browser can check them):
//   #/                         the sessions table; filters as a query: #/?session_name=chat
//   #/events                   the events table; filters as a query: #/events?event_type=tool
//   #/session/<id>[?event=<event_id>]   one session: its trace as a tree and a timeline, and
//                              the selected event (or the session itself) in full
//   #/event/<event_id>         one event, with its session tree
// When a route has rendered, <body data-rendered="<hash>"> says so (tests wait for it).
"use strict";

(function () {
  const KEY_STORAGE = "honeyhive-trace-collector-key";
  const FILTERS = [
    "event_type", "event_name", "session_name", "model", "project", "session_id",
    "since", "until", "has_error", "limit",
  ];
  const SESSION_FILTERS = ["session_name", "project", "since", "until", "has_error"];
  const TIME_FILTERS = new Set(["since", "until"]);
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

  function sessionName(s) {
    return typeof s.session_name === "string" && s.session_name ? s.session_name : "(unnamed session)";
  }

  // Stored events say their type; model events posted to /events/model may not.
  function eventType(ev) {
    const type = ev.event_type;
    return type === "tool" || type === "chain" || type === "session" ? type : "model";
  }

  function badge(type) {
    return el("span", { className: "badge type-" + type, text: type });
  }

  // Tokens of a model event (usage) or of any event that reports them in metadata.
  function eventTokens(ev) {
    const fromUsage = totalTokens(ev.usage);
    return fromUsage !== null ? fromUsage : totalTokens(ev.metadata);
  }

  function eventCost(ev) {
    if (isNumber(ev.cost)) return ev.cost;
    return ev.metadata && isNumber(ev.metadata.cost) ? ev.metadata.cost : null;
  }

  function ttft(ev) {
    const value = ev.metadata && ev.metadata.time_to_first_token_ms;
    return isNumber(value) ? value : null;
  }

  function startOf(ev) {
    return isNumber(ev.start_time) ? ev.start_time : null;
  }

  function endOf(ev) {
    if (isNumber(ev.end_time)) return ev.end_time;
    const start = startOf(ev);
    return start !== null && isNumber(ev.duration) ? start + ev.duration : start;
  }

  // datetime-local values are local wall-clock times; the API takes unix milliseconds.
  function toLocalInput(ms) {
    const d = new Date(Number(ms));
    if (!Number.isFinite(d.getTime())) return "";
    return (
      d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" +
      pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds())
    );
  }

  function fromLocalInput(text) {
    const ms = new Date(text).getTime();
    return Number.isFinite(ms) ? String(ms) : "";
  }

  // ---- filters (shared by the two tables) --------------------------------------------------

  function currentParams() {
    const hash = location.hash || "#/";
    const query = hash.indexOf("?") >= 0 ? hash.slice(hash.indexOf("?") + 1) : "";
    return new URLSearchParams(query);
  }

  function fillForm(form, names, params) {
    for (const name of names) {
      const field = form.elements.namedItem(name);
      if (!field) continue;
      const value = params.get(name) || "";
      if (TIME_FILTERS.has(name)) field.value = value ? toLocalInput(value) : "";
      else field.value = value || (name === "limit" ? "100" : "");
    }
  }

  function formParams(form, names) {
    const params = new URLSearchParams();
    for (const name of names) {
      const field = form.elements.namedItem(name);
      let value = field ? field.value.trim() : "";
      if (value && TIME_FILTERS.has(name)) value = fromLocalInput(value);
      if (value && !(name === "limit" && value === "100")) params.set(name, value);
    }
    return params;
  }

  function go(target) {
    if (location.hash === target) route();
    else location.hash = target;
  }

  // ---- sessions table ----------------------------------------------------------------------

  function sessionRow(s) {
    const errors = (s.error_count || 0) + (typeof s.error === "string" && s.error ? 1 : 0);
    const link = "#/session/" + encodeURIComponent(s.session_id);
    const row = el(
      "tr",
      { className: "session-row" + (errors ? " has-error" : ""), "data-session-id": s.session_id },
      el("td", { className: "col-time", text: fmtTime(s.start_time) }),
      el("td", { className: "col-name" }, el("a", { href: link, text: sessionName(s) })),
      el("td", { className: "col-project", text: s.project || "—" }),
      el("td", { className: "col-duration num", text: fmtDuration(s.duration) }),
      el("td", { className: "col-events num", text: s.event_count }),
      el("td", { className: "col-tokens num", text: isNumber(s.total_tokens) ? s.total_tokens : "—" }),
      el("td", { className: "col-cost num", text: fmtCost(s.cost) }),
      el("td", { className: "col-errors num", text: errors }),
    );
    row.addEventListener("click", (e) => {
      if (!(e.target instanceof HTMLAnchorElement)) location.hash = link;
    });
    return row;
  }

  async function renderSessions() {
    const params = currentParams();
    fillForm($("session-filters"), SESSION_FILTERS, params);
    params.set("limit", "1000");
    const data = await api("/sessions?" + params.toString());
    const body = $("sessions-body");
    clear(body);
    for (const s of data.sessions) body.append(sessionRow(s));
    show("sessions-empty", data.sessions.length === 0);
    $("status").textContent = data.total + " sessions · updated " + fmtTime(Date.now()).slice(11, 19);
  }

  // ---- events table ------------------------------------------------------------------------

  function eventRow(ev) {
    const row = el(
      "tr",
      { className: "event-row" + (hasError(ev) ? " has-error" : ""), "data-event-id": ev.event_id },
      el("td", { className: "col-time", text: fmtTime(ev.start_time) }),
      el("td", { className: "col-type" }, badge(eventType(ev))),
      el("td", { className: "col-name" }, el("a", { href: "#/event/" + encodeURIComponent(ev.event_id), text: eventName(ev) })),
      el("td", { className: "col-model", text: ev.model ?? (ev.config && ev.config.model) ?? "" }),
      el("td", { className: "col-provider", text: ev.provider ?? (ev.config && ev.config.provider) ?? "" }),
      el("td", { className: "col-duration num", text: fmtDuration(ev.duration) }),
      el("td", { className: "col-tokens num", text: eventTokens(ev) ?? "—" }),
      el("td", { className: "col-cost num", text: fmtCost(eventCost(ev)) }),
      el("td", { className: "col-error", text: hasError(ev) ? ev.error.split("\n")[0] : "", title: hasError(ev) ? ev.error : null }),
    );
    row.addEventListener("click", (e) => {
      if (e.target instanceof HTMLAnchorElement) return;
      location.hash = "#/event/" + encodeURIComponent(ev.event_id);
    });
    return row;
  }

  async function renderList() {
    const params = currentParams();
    fillForm($("filters"), FILTERS, params);
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

  // ---- one session: tree, waterfall, event panel --------------------------------------------

  // The session's events nested under it: by parent_id, else by a parent's children_ids,
  // else directly under the session. Returns [{ev, depth}] in tree order (children by start).
  function traceOrder(session, events) {
    const byId = new Map(events.map((ev) => [ev.event_id, ev]));
    const listedBy = new Map();
    for (const ev of events) {
      for (const child of Array.isArray(ev.children_ids) ? ev.children_ids : []) {
        if (!listedBy.has(child)) listedBy.set(child, ev.event_id);
      }
    }
    const children = new Map();
    const rootKey = "\u0000session";
    for (const ev of events) {
      let parent = ev.parent_id;
      if (!(parent && parent !== ev.event_id && byId.has(parent))) parent = listedBy.get(ev.event_id);
      if (!(parent && parent !== ev.event_id && byId.has(parent))) parent = rootKey;
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(ev);
    }
    const byStart = (a, b) => (startOf(a) ?? 0) - (startOf(b) ?? 0);
    const out = [{ ev: session, depth: 0, session: true }];
    const seen = new Set();
    function walk(key, depth) {
      for (const ev of (children.get(key) || []).slice().sort(byStart)) {
        if (seen.has(ev.event_id)) continue;
        seen.add(ev.event_id);
        out.push({ ev, depth });
        walk(ev.event_id, depth + 1);
      }
    }
    walk(rootKey, 1);
    // Events caught in a parent cycle have no root; list them rather than lose them.
    for (const ev of events) if (!seen.has(ev.event_id)) { seen.add(ev.event_id); out.push({ ev, depth: 1 }); }
    return out;
  }

  function selectLink(sessionId, item) {
    const base = "#/session/" + encodeURIComponent(sessionId);
    return item.session ? base : base + "?event=" + encodeURIComponent(item.ev.event_id);
  }

  function renderTraceTree(sessionId, items, selectedId) {
    const tree = $("trace-tree");
    clear(tree);
    const lists = [tree];
    for (const item of items) {
      const ev = item.ev;
      const type = item.session ? "session" : eventType(ev);
      const id = item.session ? sessionId : ev.event_id;
      const name = item.session ? sessionName(ev) : eventName(ev);
      const tokens = item.session ? ev.total_tokens : eventTokens(ev);
      const cost = item.session ? ev.cost : eventCost(ev);
      const meta = [fmtDuration(ev.duration) + " ms"];
      if (isNumber(tokens)) meta.push(tokens + " tok");
      if (isNumber(cost)) meta.push(fmtCost(cost));
      const failed = item.session ? (typeof ev.error === "string" && ev.error !== "") : hasError(ev);
      const node = el(
        "li",
        { className: "tree-node" + (failed ? " has-error" : ""), "data-event-id": id, "data-type": type, "data-depth": item.depth },
        el(
          "span",
          { className: "tree-label" + (id === selectedId ? " selected" : "") },
          badge(type),
          el("a", { href: selectLink(sessionId, item), text: name }),
          el("span", { className: "tree-meta", text: meta.join(" · ") }),
        ),
      );
      while (lists.length > item.depth + 1) lists.pop();
      lists[lists.length - 1].append(node);
      const sub = el("ul", {});
      node.append(sub);
      lists.push(sub);
    }
    for (const empty of tree.querySelectorAll("ul")) if (!empty.firstChild) empty.remove();
  }

  function renderWaterfall(sessionId, items, selectedId) {
    const box = $("waterfall");
    clear(box);
    const starts = items.map((i) => startOf(i.ev)).filter((v) => v !== null);
    const ends = items.map((i) => endOf(i.ev)).filter((v) => v !== null);
    const t0 = starts.length ? Math.min(...starts) : 0;
    const t1 = ends.length ? Math.max(...ends, t0) : t0;
    const span = Math.max(t1 - t0, 1);
    $("waterfall-scale").textContent = "0 – " + fmtDuration(t1 - t0) + " ms";
    for (const item of items) {
      const ev = item.ev;
      const type = item.session ? "session" : eventType(ev);
      const id = item.session ? sessionId : ev.event_id;
      const start = startOf(ev);
      const end = endOf(ev);
      const bar = el("a", {
        className: "wf-bar type-" + type + (!item.session && hasError(ev) ? " has-error" : ""),
        href: selectLink(sessionId, item),
        title: (item.session ? sessionName(ev) : eventName(ev)) + " · " + fmtDuration(ev.duration) + " ms",
        "data-event-id": id,
      });
      if (start !== null) {
        // CSSOM properties (not a style attribute), so the page's CSP still holds.
        bar.style.left = ((start - t0) / span) * 100 + "%";
        bar.style.width = (Math.max((end ?? start) - start, 0) / span) * 100 + "%";
      } else {
        bar.hidden = true;
      }
      const label = el("span", { className: "wf-label", text: (item.session ? sessionName(ev) : eventName(ev)) });
      label.style.paddingLeft = item.depth * 0.75 + "rem";
      box.append(el(
        "div",
        { className: "wf-row" + (id === selectedId ? " selected" : ""), "data-event-id": id },
        label,
        el("div", { className: "wf-track" }, bar),
      ));
    }
  }

  function jsonInto(id, value) {
    $(id).textContent = value === undefined || value === null ? "—" : fmtJson(value);
  }

  function blocks(id, parts) {
    const box = $(id);
    clear(box);
    let any = false;
    for (const [label, value] of parts) {
      if (value === undefined || value === null) continue;
      any = true;
      if (label === "messages" && Array.isArray(value)) {
        for (const message of value) box.append(messageNode(message));
      } else if (label === "response") {
        box.append(messageNode(value));
      } else {
        box.append(el("pre", { className: "json", "data-part": label, text: fmtJson(value) }));
      }
    }
    if (!any) box.append(el("p", { className: "hint", text: "—" }));
  }

  function renderEventPanel(item, sessionId, updates) {
    const ev = item.ev;
    const type = item.session ? "session" : eventType(ev);
    const id = item.session ? sessionId : ev.event_id;
    const panel = $("event-panel");
    panel.setAttribute("data-event-id", id);
    const title = $("ev-title");
    clear(title);
    title.append(badge(type), item.session ? sessionName(ev) : eventName(ev));

    const summary = $("ev-summary");
    clear(summary);
    summaryRow(summary, item.session ? "session id" : "event id", id);
    summaryRow(summary, "start", fmtTime(startOf(ev)));
    summaryRow(summary, "duration", fmtDuration(ev.duration) + " ms");
    const first = ttft(ev);
    if (first !== null) summaryRow(summary, "time to first token", fmtDuration(first) + " ms");
    summaryRow(summary, "model", ev.model ?? (ev.config && ev.config.model));
    summaryRow(summary, "provider", ev.provider ?? (ev.config && ev.config.provider));
    const tokens = item.session ? ev.total_tokens : eventTokens(ev);
    summaryRow(summary, "tokens", isNumber(tokens) ? tokens : null);
    const cost = item.session ? ev.cost : eventCost(ev);
    summaryRow(summary, "cost", isNumber(cost) ? fmtCost(cost) : null);
    summaryRow(summary, "source", ev.source);
    if (!item.session) summaryRow(summary, "parent", ev.parent_id);

    const failed = typeof ev.error === "string" && ev.error !== "";
    $("ev-error").textContent = failed ? ev.error : "";
    show("ev-error", failed);

    blocks("ev-inputs", [["messages", ev.messages], ["inputs", ev.inputs], ["template_inputs", ev.template_inputs]]);
    blocks("ev-outputs", [["response", ev.response], ["outputs", ev.outputs]]);
    const config = Object.assign({}, ev.config || {});
    if (ev.hyperparameters) config.hyperparameters = ev.hyperparameters;
    if (ev.tools) config.tools = ev.tools;
    jsonInto("ev-config", Object.keys(config).length ? config : null);
    jsonInto("ev-metadata", ev.metadata);
    jsonInto("ev-metrics", ev.metrics);
    jsonInto("ev-feedback", ev.feedback);

    const list = $("ev-updates");
    clear(list);
    const mine = updates.filter((u) => u.event_id === id);
    for (const u of mine) {
      list.append(el("li", { className: "update" },
        el("span", { className: "when", text: "received " + fmtTime(u.received_at) }),
        el("pre", { className: "json", text: fmtJson(u.update) })));
    }
    if (!mine.length) list.append(el("li", { className: "hint", text: "none" }));
  }

  async function renderSession(sessionId, selected) {
    const data = await api("/sessions/" + encodeURIComponent(sessionId));
    const session = data.session;
    const view = $("session-view");
    view.setAttribute("data-session-id", session.session_id);
    $("session-title").textContent = sessionName(session);
    document.title = sessionName(session) + " · honeyhive-trace";
    const summary = $("session-summary");
    clear(summary);
    summaryRow(summary, "session id", session.session_id);
    summaryRow(summary, "project", session.project);
    summaryRow(summary, "start", fmtTime(session.start_time));
    summaryRow(summary, "duration", fmtDuration(session.duration) + " ms");
    summaryRow(summary, "events", session.event_count);
    summaryRow(summary, "tokens", isNumber(session.total_tokens) ? session.total_tokens : null);
    summaryRow(summary, "cost", isNumber(session.cost) ? fmtCost(session.cost) : null);
    summaryRow(summary, "errors", session.error_count);
    if (!session.started) summaryRow(summary, "note", "no /session/start was received for it");
    const failed = typeof session.error === "string" && session.error !== "";
    $("session-error").textContent = failed ? session.error : "";
    show("session-error", failed);

    const items = traceOrder(session, data.events);
    const chosen = items.find((i) => !i.session && i.ev.event_id === selected) || items[0];
    const selectedId = chosen.session ? session.session_id : chosen.ev.event_id;
    renderTraceTree(session.session_id, items, selectedId);
    renderWaterfall(session.session_id, items, selectedId);
    renderEventPanel(chosen, session.session_id, data.updates);
    $("status").textContent = "session " + session.session_id;
  }

  // ---- one event -------------------------------------------------------------------------

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
      badge(eventType(ev)),
      el("a", { href: "#/event/" + encodeURIComponent(ev.event_id), text: eventName(ev) }),
      el("span", { className: "tree-meta", text: (ev.model ? ev.model + " · " : "") + fmtDuration(ev.duration) + " ms" }),
    );
  }

  // Nest the session's events by parent_id; events whose parent is not an event of the
  // session (the session itself, say) become roots, ordered by start time.
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
    const link = $("session-link");
    if (typeof ev.session_id !== "string" || !ev.session_id) {
      link.hidden = true;
      tree.append(el("li", { className: "tree-node current", "data-event-id": ev.event_id }, treeLabel(ev)));
      tree.append(el("li", { className: "hint", text: "not part of a session" }));
      return;
    }
    link.setAttribute("href", safeHref("#/session/" + encodeURIComponent(ev.session_id) + "?event=" + encodeURIComponent(ev.event_id)));
    link.hidden = false;
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
    summaryRow(summary, "type", eventType(ev));
    summaryRow(summary, "model", ev.model);
    summaryRow(summary, "provider", ev.provider);
    summaryRow(summary, "project", ev.project);
    summaryRow(summary, "source", ev.source);
    summaryRow(summary, "start", fmtTime(ev.start_time));
    summaryRow(summary, "duration", fmtDuration(ev.duration) + " ms");
    const first = ttft(ev);
    if (first !== null) summaryRow(summary, "time to first token", fmtDuration(first) + " ms");
    summaryRow(summary, "tokens", eventTokens(ev));
    summaryRow(summary, "cost", isNumber(eventCost(ev)) ? fmtCost(eventCost(ev)) : null);
    summaryRow(summary, "session", ev.session_id);
    summaryRow(summary, "parent", ev.parent_id);

    $("detail-error").textContent = hasError(ev) ? ev.error : "";
    show("detail-error", hasError(ev));

    const messages = $("detail-messages");
    clear(messages);
    const list = Array.isArray(ev.messages) ? ev.messages : [];
    for (const message of list) messages.append(messageNode(message));
    if (ev.inputs !== undefined) messages.append(contentNode(ev.inputs));
    if (!list.length && ev.inputs === undefined) messages.append(el("p", { className: "hint", text: "no messages" }));

    const response = $("detail-response");
    clear(response);
    response.append(messageNode(ev.response || ev.outputs || {}));

    $("detail-hyperparameters").textContent = fmtJson(ev.hyperparameters ?? ev.config);
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

  function parseRoute(hash) {
    const path = hash.split("?")[0];
    let match = /^#\/event\/(.+)$/.exec(path);
    if (match) return { view: "detail-view", id: decodeURIComponent(match[1]) };
    match = /^#\/session\/(.+)$/.exec(path);
    if (match) return { view: "session-view", id: decodeURIComponent(match[1]) };
    if (path === "#/events") return { view: "list-view" };
    return { view: "sessions-view" };
  }

  const VIEWS = ["sessions-view", "list-view", "session-view", "detail-view"];
  const FAILURES = {
    "sessions-view": "Could not load sessions: ",
    "list-view": "Could not load events: ",
    "session-view": "Could not load the session: ",
    "detail-view": "Could not load the event: ",
  };

  async function route(resetPage) {
    if (resetPage !== false) offset = 0;
    stopRefresh();
    show("load-error", false);
    const hash = location.hash || "#/";
    const where = parseRoute(hash);
    for (const view of VIEWS) show(view, view === where.view);
    $("tab-sessions").classList.toggle("active", where.view === "sessions-view" || where.view === "session-view");
    $("tab-events").classList.toggle("active", where.view === "list-view" || where.view === "detail-view");
    try {
      if (where.view === "detail-view") await renderDetail(where.id);
      else if (where.view === "session-view") await renderSession(where.id, currentParams().get("event"));
      else if (where.view === "list-view") { await renderList(); scheduleRefresh(); }
      else { await renderSessions(); scheduleRefresh(); }
      show("auth", false);
    } catch (error) {
      if (error instanceof AuthRequired) {
        show("auth", true);
        $("auth-key").focus();
      } else {
        $("load-error").textContent = FAILURES[where.view] + error.message;
        show("load-error", true);
      }
    }
    document.body.setAttribute("data-rendered", hash);
  }

  function init() {
    $("filters").addEventListener("submit", (e) => {
      e.preventDefault();
      const query = formParams($("filters"), FILTERS).toString();
      go("#/events" + (query ? "?" + query : ""));
    });
    $("session-filters").addEventListener("submit", (e) => {
      e.preventDefault();
      const query = formParams($("session-filters"), SESSION_FILTERS).toString();
      go("#/" + (query ? "?" + query : ""));
    });
    for (const button of document.querySelectorAll(".clear-filters")) {
      button.addEventListener("click", () => go(location.hash.startsWith("#/events") ? "#/events" : "#/"));
    }
    $("auto-refresh").addEventListener("change", () => (location.hash.startsWith("#/events") ? route(false) : null));
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
