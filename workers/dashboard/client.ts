/**
 * The dashboard client: plain JavaScript the browser runs as /dashboard/app.js (its own file,
 * so the CSP allows no inline script). It keeps the bearer token in sessionStorage only, calls
 * the admin API with it (the API checks every role), and builds the DOM with text nodes only.
 * It is a string here because the Worker serves it as-is: no bundler, no build step. It holds
 * no backtick and no dollar-brace, so the template below is the file byte for byte.
 */
export const CLIENT_JS = String.raw`
"use strict";
(function () {
  var TOKEN_KEY = "gridkey.dashboard.token";
  var WRITERS = ["admin", "operator"];
  var READERS = ["admin", "operator", "auditor"];
  var AUDIT_READERS = ["admin", "auditor"];
  var DAY = 86400;
  var state = { role: null, id: null, view: "fleet" };

  function $(id) { return document.getElementById(id); }

  /** Builds DOM nodes; text only ever goes in as text nodes, so nothing from the API is parsed as HTML. */
  function el(tag, attrs) {
    var node = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v === null || v === undefined || v === false) return;
      if (k === "onclick") node.addEventListener("click", v);
      else if (k === "text") node.textContent = String(v);
      else node.setAttribute(k, v === true ? "" : String(v));
    });
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  function svg(tag, attrs) {
    var node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c !== null && c !== undefined) node.appendChild(typeof c === "object" ? c : document.createTextNode(String(c)));
    }
    return node;
  }
  function fill(id, content) {
    var node = $(id);
    node.replaceChildren();
    append(node, content);
  }
  function table(headers, rows, empty) {
    if (rows.length === 0) return el("p", { class: "hint", text: empty || "Nothing to show." });
    return el("table", null,
      el("thead", null, el("tr", null, headers.map(function (h) {
        return el("th", { class: h.charAt(0) === "#" ? "num" : null, scope: "col" }, h.charAt(0) === "#" ? h.slice(1) : h);
      }))),
      el("tbody", null, rows));
  }
  function num(n) { return el("td", { class: "num" }, typeof n === "number" ? n.toLocaleString("en-US") : n); }
  function when(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC") : "never"; }
  function days(seconds) {
    if (seconds === null || seconds === undefined) return "none";
    var d = seconds / DAY;
    if (d >= 1) return (Math.round(d * 10) / 10) + " d";
    return seconds >= 3600 ? (Math.round(seconds / 360) / 10) + " h" : Math.round(seconds / 60) + " min";
  }

  /** One admin API call, with the session's token as the bearer. Errors carry the API's code. */
  function api(method, path, body) {
    var token = sessionStorage.getItem(TOKEN_KEY);
    var headers = { authorization: "Bearer " + token };
    if (body !== undefined) headers["content-type"] = "application/json";
    return fetch("/v1/admin" + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store", credentials: "omit" })
      .then(function (res) {
        return res.json().catch(function () { return {}; }).then(function (json) {
          if (!res.ok) {
            var e = (json && json.error) || { code: "http_" + res.status, message: res.statusText };
            var err = new Error(e.message);
            err.code = e.code;
            err.status = res.status;
            throw err;
          }
          return { body: json, requestId: res.headers.get("x-request-id") };
        });
      });
  }
  function get(path) { return api("GET", path).then(function (r) { return r.body; }); }

  function can(roles) { return roles.indexOf(state.role) >= 0; }

  function notice(text, isError) {
    var n = $("notice");
    n.textContent = text;
    n.className = isError ? "error" : "";
    n.hidden = !text;
  }
  function failed(err) {
    if (err && err.status === 401) { signOut(); showSignInError(err); return; }
    notice("Error: " + (err && err.message ? err.message : String(err)) + (err && err.code ? " (" + err.code + ")" : ""), true);
  }

  // ----- sign-in -------------------------------------------------------------------------

  function showSignInError(err) {
    var p = $("sign-in-error");
    p.textContent = "Sign-in failed: " + err.message + (err.code ? " (" + err.code + ")" : "");
    p.hidden = false;
  }

  function signIn(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
    return get("/whoami").then(function (me) {
      if (READERS.indexOf(me.role) < 0) {
        var e = new Error("a " + me.role + " token has no dashboard views");
        e.code = "forbidden";
        throw e;
      }
      state.role = me.role;
      state.id = me.id;
      $("token").value = "";
      $("sign-in").hidden = true;
      $("sign-in-error").hidden = true;
      $("app").hidden = false;
      $("who").textContent = "Signed in: " + me.id + " (" + me.role + (can(WRITERS) ? "" : ", read-only") + ")";
      $("who").hidden = false;
      $("sign-out").hidden = false;
      document.querySelectorAll("nav button[data-roles]").forEach(function (b) {
        b.hidden = b.getAttribute("data-roles").split(" ").indexOf(state.role) < 0;
      });
      show(state.view);
    }).catch(function (err) {
      sessionStorage.removeItem(TOKEN_KEY);
      throw err;
    });
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    state.role = null;
    state.id = null;
    ["fleet-summary", "meter-list", "program-list", "key-ages", "group-budgets", "timeline", "audit-list"].forEach(function (id) { $(id).replaceChildren(); });
    $("chain-status").textContent = "";
    $("app").hidden = true;
    $("who").hidden = true;
    $("sign-out").hidden = true;
    $("sign-in").hidden = false;
    notice("");
  }

  // ----- views ---------------------------------------------------------------------------

  var VIEWS = { fleet: loadFleet, programs: loadPrograms, keys: loadKeys, timeline: loadTimeline, audit: loadAudit };

  function show(view) {
    if (view === "audit" && !can(AUDIT_READERS)) view = "fleet";
    state.view = view;
    document.querySelectorAll("nav button").forEach(function (b) {
      if (b.getAttribute("data-view") === view) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    });
    document.querySelectorAll(".view").forEach(function (s) { s.hidden = s.id !== "view-" + view; });
    var section = $("view-" + view);
    section.setAttribute("aria-busy", "true");
    return VIEWS[view]().catch(failed).then(function () { section.setAttribute("aria-busy", "false"); });
  }

  function loadFleet() {
    var filter = new FormData($("meter-filter"));
    var q = new URLSearchParams({ limit: "200" });
    if (filter.get("region")) q.set("region", String(filter.get("region")));
    if (filter.get("state")) q.set("state", String(filter.get("state")));
    return Promise.all([get("/fleet"), get("/meters?" + q.toString())]).then(function (r) {
      fill("fleet-summary", fleetTable(r[0].counts));
      fill("meter-list", meterTable(r[1]));
    });
  }

  function fleetTable(counts) {
    var regions = {};
    var total = { active: 0, suspended: 0, revoked: 0, gateways: 0 };
    counts.forEach(function (c) {
      var r = regions[c.region] || (regions[c.region] = { active: 0, suspended: 0, revoked: 0, gateways: 0 });
      var key = c.kind === "gateway" ? "gateways" : c.state;
      if (c.kind === "gateway" && c.state !== "active") return;
      r[key] += c.count;
      total[key] += c.count;
    });
    var rows = Object.keys(regions).sort().map(function (name) {
      var r = regions[name];
      return el("tr", { "data-region": name }, el("td", null, name), num(r.active), num(r.suspended), num(r.revoked), num(r.active + r.suspended + r.revoked), num(r.gateways));
    });
    if (rows.length > 0) rows.push(el("tr", { class: "total" }, el("th", { scope: "row" }, "All regions"), num(total.active), num(total.suspended), num(total.revoked), num(total.active + total.suspended + total.revoked), num(total.gateways)));
    return table(["Region", "#Active meters", "#Suspended", "#Revoked", "#All meters", "#Active gateways"], rows, "No meters enrolled yet.");
  }

  function meterTable(page) {
    var rows = page.meters.map(function (m) {
      return el("tr", { "data-meter": m.id },
        el("td", { class: "mono" }, m.id), el("td", null, m.kind), el("td", null, m.region), el("td", { class: "mono" }, m.systemTitle), num(m.suite),
        el("td", { class: "state-" + m.state }, m.state), el("td", null, when(m.updatedAt)),
        el("td", { class: "actions" }, can(WRITERS) ? meterActions(m) : el("span", { class: "hint" }, "read-only")));
    });
    return [table(["Id", "Kind", "Region", "System title", "#Suite", "State", "Changed", "Actions"], rows, "No meters match."),
      page.next ? el("p", { class: "hint" }, "Showing the first " + page.meters.length + "; narrow the filter to see others.") : null];
  }

  var TRANSITIONS = {
    suspend: { from: ["active"], label: "Suspend", done: "Suspended", text: "Its sessions end and it leaves the key graph of each of its DR programs (rekeyed, or queued for a batched program). Resuming puts it back." },
    resume: { from: ["suspended"], label: "Resume", done: "Resumed", text: "It may open sessions again and rejoins its DR programs." },
    revoke: { from: ["active", "suspended"], label: "Revoke", done: "Revoked", text: "This is final: its keys are destroyed and its program registrations end." },
  };

  function meterActions(m) {
    return Object.keys(TRANSITIONS).filter(function (op) { return TRANSITIONS[op].from.indexOf(m.state) >= 0; }).map(function (op) {
      var t = TRANSITIONS[op];
      return el("button", { type: "button", class: op === "revoke" ? "danger" : null, "data-action": op, onclick: function () {
        confirmAction(t.label + " " + m.kind + " " + m.id + "?", t.text, function (reason) {
          return api("POST", "/meters/" + encodeURIComponent(m.id) + "/" + op, reason ? { reason: reason } : {});
        }, t.done + " " + m.id);
      } }, t.label);
    });
  }

  function loadPrograms() {
    return get("/programs").then(function (r) {
      return Promise.all(r.programs.map(function (p) {
        return get("/programs/" + encodeURIComponent(p.id) + "/epochs?limit=1").then(function (e) { return { p: p, last: e.epochs[0] || null }; });
      }));
    }).then(function (items) {
      var rows = items.map(function (it) {
        var p = it.p;
        return el("tr", { "data-program": p.id },
          el("td", null, p.name, el("br"), el("span", { class: "mono hint" }, p.id)), el("td", null, p.keying), el("td", null, p.rekeyMode), num(p.degree), num(p.members), num(p.height), num(p.epoch),
          el("td", null, it.last ? when(it.last.at) : "never"), num(p.pending),
          el("td", { class: "actions" }, can(WRITERS) ? el("button", { type: "button", "data-action": "rekey", disabled: p.pending === 0, title: p.pending === 0 ? "no queued changes" : null, onclick: function () {
            confirmAction("Rekey " + p.name + " now?", "The " + p.pending + " queued membership change(s) are applied as one signed bundle, now rather than at the end of the batch window.", function () {
              return api("POST", "/programs/" + encodeURIComponent(p.id) + "/rekey");
            }, "Rekeyed " + p.name);
          } }, "Rekey now") : el("span", { class: "hint" }, "read-only")));
      });
      fill("program-list", table(["Program", "Keying", "Rekey mode", "#Tree degree", "#Members", "#Height", "#Epoch", "Last rekey", "#Pending changes", "Actions"], rows, "No DR programs."));
    });
  }

  function loadKeys() {
    return get("/key-ages").then(function (r) {
      var names = { unicast: "unicast (GUEK)", authentication: "authentication (AK)", kek: "KEK", broadcast: "broadcast (GBEK)" };
      var rows = r.keys.map(function (k) {
        var now = Date.parse(r.at);
        var oldest = k.oldestCreatedAt ? (now - Date.parse(k.oldestCreatedAt)) / 1000 : null;
        return el("tr", { "data-keys": k.region + "/" + k.keyClass },
          el("td", null, k.region), el("td", null, names[k.keyClass] || k.keyClass), num(k.active), el("td", null, days(k.rotationSeconds)), el("td", null, oldest === null ? "none" : days(oldest)),
          num(k.ok), el("td", { class: k.dueSoon ? "num warn" : "num" }, k.dueSoon), el("td", { class: k.due ? "num warn" : "num" }, k.due), el("td", { class: k.pastDue ? "num bad" : "num" }, k.pastDue), num(k.rotating),
          el("td", null, k.counter ? budget(k.counter.highest, k.counter.budget) : "n/a"));
      });
      fill("key-ages", [table(["Region", "Class", "#Active", "Rotation period", "Oldest", "#OK", "#Due in 7 d", "#Due", "#Past due", "#Rotating", "Counter budget used"], rows, "No active keys."),
        el("p", { class: "hint" }, "Due: the rotation period is over (the scheduler starts a rotation at its next run). Past due: the grace period is over too. Counters: the highest DLMS invocation counter used under an active GUEK, against its budget (rotated at 90 %).")]);
      fill("group-budgets", table(["Program", "#Epoch", "#Commands sealed", "Counter budget used"], r.groups.map(function (g) {
        return el("tr", { "data-group": g.program }, el("td", null, g.name), num(g.epoch), num(g.invocations), el("td", null, budget(g.invocations, g.budget)));
      }), "No DR programs."));
    });
  }

  function budget(used, max) {
    var share = max > 0 ? used / max : 0;
    var pct = share * 100;
    var text = used.toLocaleString("en-US") + " / " + max.toLocaleString("en-US") + " (" + (pct > 0 && pct < 0.01 ? "<0.01" : pct.toFixed(2)) + " %)";
    return [el("progress", { value: Math.min(used, max), max: max }), " ", el("span", { class: share >= 0.9 ? "bad" : share >= 0.5 ? "warn" : null }, text)];
  }

  function loadTimeline() {
    return get("/programs").then(function (r) {
      return Promise.all(r.programs.map(function (p) {
        return get("/programs/" + encodeURIComponent(p.id) + "/epochs?limit=200").then(function (e) { return { p: p, epochs: e.epochs }; });
      }));
    }).then(function (items) {
      if (items.length === 0) { fill("timeline", el("p", { class: "hint" }, "No DR programs.")); return; }
      var times = [];
      items.forEach(function (it) { it.epochs.forEach(function (e) { times.push(Date.parse(e.at)); }); });
      var t0 = times.length ? Math.min.apply(null, times) : Date.now();
      var t1 = times.length ? Math.max.apply(null, times) : t0;
      if (t1 - t0 < 60000) { t0 -= 30000; t1 += 30000; }
      fill("timeline", items.map(function (it) { return programChart(it.p, it.epochs, t0, t1); }));
    });
  }

  function programChart(p, epochs, t0, t1) {
    var W = 960, H = 120, left = 48, right = 12, top = 22, bottom = 22;
    var maxWraps = Math.max(1, Math.max.apply(null, epochs.map(function (e) { return e.wraps; }).concat([0])));
    var x = function (t) { return left + (W - left - right) * (t - t0) / (t1 - t0); };
    var y = function (w) { return top + (H - top - bottom) * (1 - w / maxWraps); };
    var chart = svg("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": p.name + ": " + epochs.length + " rekey bundles" },
      svg("text", { x: left, y: 14, class: "label" }, p.name + " (epoch " + p.epoch + "; " + epochs.length + (epochs.length === 1 ? " bundle" : " bundles") + " shown)"),
      svg("line", { x1: left, y1: H - bottom, x2: W - right, y2: H - bottom, class: "axis" }),
      svg("line", { x1: left, y1: top, x2: left, y2: H - bottom, class: "axis" }),
      svg("text", { x: left - 6, y: top + 4, "text-anchor": "end" }, maxWraps),
      svg("text", { x: left - 6, y: H - bottom, "text-anchor": "end" }, 0),
      svg("text", { x: left, y: H - 6 }, when(new Date(t0).toISOString())),
      svg("text", { x: W - right, y: H - 6, "text-anchor": "end" }, when(new Date(t1).toISOString())));
    // Bars sit at their bundle's time; one closer than a bar's width to the previous is moved
    // just right of it, so bundles applied within moments of each other stay countable.
    var prev = -Infinity;
    epochs.forEach(function (e) {
      var cx = Math.max(x(Date.parse(e.at)), prev + 8);
      prev = cx;
      var yy = e.wraps > 0 ? y(e.wraps) : H - bottom - 3;
      chart.appendChild(svg("rect", { x: cx - 3, y: yy, width: 6, height: H - bottom - yy, class: e.wraps > 0 ? "bar" : "bar-zero", "data-epoch": e.epoch },
        svg("title", {}, "epoch " + e.epoch + " at " + when(e.at) + ": " + e.joined + " joined, " + e.left + " left, " + e.wraps + " wraps, " + e.bundleBytes + " bytes")));
      if (epochs.length <= 40) chart.appendChild(svg("text", { x: cx, y: yy - 3, "text-anchor": "middle" }, e.wraps));
    });
    var rows = epochs.slice().reverse().map(function (e) {
      return el("tr", { "data-epoch": e.epoch }, num(e.epoch), el("td", null, when(e.at)), num(e.joined), num(e.left), num(e.wraps), num(e.forwards), num(e.bundleBytes));
    });
    return el("div", { class: "program-timeline", "data-program": p.id }, chart,
      el("details", null, el("summary", null, "Bundles of " + p.name), table(["#Epoch", "Applied", "#Joined", "#Left", "#Wraps", "#Forwards", "#Bundle bytes"], rows, "No epochs recorded yet.")));
  }

  function loadAudit() {
    return get("/audit/verify").then(function (v) {
      var status = $("chain-status");
      status.replaceChildren();
      if (v.ok) append(status, [el("span", { class: "good" }, "Chain verified"), ": " + v.records + " records, head ", el("code", null, v.head.slice(0, 16) + "…")]);
      else append(status, [el("span", { class: "bad" }, "Chain BROKEN"), " at record " + v.firstBroken.seq + ": " + v.firstBroken.reason + " (" + v.records + " records verified before it)"]);
      var count = v.ok ? v.records : v.firstBroken.seq;
      return get("/audit?after=" + Math.max(0, count - 100) + "&limit=100");
    }).then(function (page) {
      var rows = page.records.slice().reverse().map(function (r) {
        return el("tr", { "data-seq": r.seq },
          num(r.seq), el("td", null, when(r.at)), el("td", null, r.actor + " (" + r.role + ")"), el("td", { class: "mono" }, r.action),
          el("td", { class: "mono" }, r.targetType + " " + r.targetId), el("td", { class: "mono details" }, JSON.stringify(r.details)), el("td", { class: "mono" }, r.requestId));
      });
      fill("audit-list", [table(["#Seq", "At", "Actor", "Action", "Target", "Details", "Request id"], rows, "The log is empty."), el("p", { class: "hint" }, "The latest 100 records, newest first.")]);
    });
  }

  // ----- confirmation --------------------------------------------------------------------

  function confirmAction(title, text, run, done) {
    var dialog = $("confirm");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-reason").value = "";
    dialog.returnValue = "";
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue !== "ok") { notice("Cancelled: nothing was changed."); return; }
      run($("confirm-reason").value.trim()).then(function (res) {
        notice(done + ". Audited with request id " + res.requestId + ".");
        return VIEWS[state.view]();
      }).catch(failed);
    });
    dialog.showModal();
  }

  // ----- wiring --------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", function () {
    $("sign-in-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var token = $("token").value.trim();
      $("sign-in-error").hidden = true;
      signIn(token).catch(showSignInError);
    });
    $("sign-out").addEventListener("click", signOut);
    $("meter-filter").addEventListener("submit", function (ev) { ev.preventDefault(); loadFleet().catch(failed); });
    document.querySelectorAll("nav button").forEach(function (b) {
      b.addEventListener("click", function () { notice(""); show(b.getAttribute("data-view")); });
    });
    var saved = sessionStorage.getItem(TOKEN_KEY);
    if (saved) signIn(saved).catch(showSignInError);
  });
})();
`;
