// Lion Rock dashboard helpers: fetch + WebSocket, no framework, no CDN.
"use strict";
const LR = (() => {
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const fmt = (ticks) => { if (!ticks) return ""; const w = Math.floor(ticks / 1000), f = String(ticks % 1000).padStart(3, "0"); return f.endsWith("0") ? `${w}.${f.slice(0, 2)}` : `${w}.${f}`; };
  // Formatting for people: the twins of gateways/web/formatting.py (held to the same cases by
  // tests/gateways/web/test_formatting.py). Integers in, exact text out: no float arithmetic on money.
  const SYMBOLS = {HKD: "HK$", CNY: "RMB ", USD: "US$"};
  const group = (digits) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  const count = (n) => (n === null || n === undefined || n === "") ? "" : (Number(n) < 0 ? "-" : "") + group(String(Math.abs(Math.trunc(Number(n)))));
  function money(minor, currency = "HKD") {
    if (minor === null || minor === undefined || minor === "") return "";
    const m = Math.trunc(Number(minor)), a = Math.abs(m);
    return `${m < 0 ? "-" : ""}${SYMBOLS[currency] ?? currency + " "}${group(String(Math.floor(a / 100)))}.${String(a % 100).padStart(2, "0")}`;
  }
  const shares = (n) => (n === null || n === undefined || n === "") ? "" : `${count(n)} share${Math.abs(Number(n)) === 1 ? "" : "s"}`;
  function decimals(scaled, places) {  // an integer of 10^-places units -> text, trailing zeros dropped
    const a = Math.abs(scaled), whole = Math.floor(a / 10 ** places), frac = String(a % 10 ** places).padStart(places, "0").replace(/0+$/, "");
    return `${scaled < 0 ? "-" : ""}${group(String(whole))}${frac ? "." + frac : ""}`;
  }
  const percent = (bp) => (bp === null || bp === undefined || bp === "") ? "" : decimals(Math.trunc(Number(bp)), 2) + "%";
  function times(bp) {  // basis points of a multiple, to 0.01x, halves up
    if (bp === null || bp === undefined || bp === "") return "";
    const hundredths = Math.floor((Math.trunc(Number(bp)) + 50) / 100);
    return `${group(String(Math.floor(hundredths / 100)))}.${String(hundredths % 100).padStart(2, "0")}x`;
  }
  const price = (ticks, currency = "HKD") => { if (!ticks) return ""; const [w, f] = fmt(Number(ticks)).split("."); return `${SYMBOLS[currency] ?? currency + " "}${group(w)}${f ? "." + f : ""}`; };
  async function api(path, opts = {}) {
    const r = await fetch(path, {credentials: "same-origin", headers: {"Content-Type": "application/json"}, ...opts});
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw Object.assign(new Error(body.error ? `${body.error.code} ${body.error.reason}: ${body.error.field}: ${body.error.message}` : r.statusText), {body});
    return body;
  }
  function socket(path, onMessage) {
    const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    let ws;
    const open = () => { ws = new WebSocket(url); ws.onmessage = (m) => onMessage(JSON.parse(m.data)); ws.onclose = () => setTimeout(open, 1000); };
    open();
  }
  let lastDepth = {bids: [], asks: []};
  function renderDepth(depth) {
    lastDepth = depth;
    const rows = Math.max(depth.bids.length, depth.asks.length);
    const tb = document.querySelector("#depth tbody");
    let html = "";
    for (let i = 0; i < rows; i++) {
      const b = depth.bids[i] || {}, a = depth.asks[i] || {};
      html += `<tr><td>${esc(count(b.quantity))}</td><td>${esc(b.price_text ?? "")}</td><td>${esc(a.price_text ?? "")}</td><td>${esc(count(a.quantity))}</td></tr>`;
    }
    tb.innerHTML = html;
    const el = document.getElementById("depth-chart");
    if (el && window.Plotly) {
      const cum = (levels) => { let t = 0; return levels.map((l) => (t += l.quantity)); };
      Plotly.react(el, [
        {x: depth.bids.map((l) => l.price / 1000), y: cum(depth.bids), type: "scatter", mode: "lines", line: {shape: "hv"}, name: "bids"},
        {x: depth.asks.map((l) => l.price / 1000), y: cum(depth.asks), type: "scatter", mode: "lines", line: {shape: "hv"}, name: "asks"},
      ], {margin: {t: 10, r: 10, b: 40, l: 70}, xaxis: {title: {text: "price (HK$)"}, tickprefix: "HK$", tickformat: ",.2f"}, yaxis: {title: {text: "cumulative shares"}, tickformat: ","}}, {displayModeBar: false, staticPlot: false});
    }
  }
  function renderTrades(trades) {
    document.querySelector("#trades tbody").innerHTML = trades.slice(0, 30).map((t) =>
      `<tr><td>${esc(t.trade_id)}</td><td>${esc(t.price_text || fmt(t.price))}</td><td>${esc(count(t.quantity))}</td><td>${esc(t.aggressor)}</td></tr>`).join("");
  }
  function renderOrders(orders) {
    document.querySelector("#my-orders tbody").innerHTML = orders.map((o) =>
      `<tr data-order="${esc(o.order_id)}" class="status-${esc(o.status)}"><td>${esc(o.order_id)}</td><td>${esc(o.side)}</td><td>${esc(o.price_text)}</td><td>${esc(count(o.quantity))}</td><td>${esc(count(o.filled))}</td><td class="status">${esc(o.status)}</td>` +
      `<td>${["new", "partially_filled"].includes(o.status) ? `<button data-cancel="${esc(o.order_id)}">Cancel</button>` : ""}</td></tr>`).join("");
  }
  function marketPage(instrument, depth, trades, orders, rules) {
    let tape = trades.slice();
    let recheck = () => {};
    const refreshOrders = () => api(`/v1/orders?instrument=${encodeURIComponent(instrument)}&limit=50`).then(renderOrders).catch(() => {});
    document.addEventListener("DOMContentLoaded", () => {
      renderDepth(depth); renderTrades(tape); renderOrders(orders);
      if (rules) recheck = bindTicket(document.getElementById("order-form"), rules, () => lastDepth, document.getElementById("ticket-checks"));
      socket(`/v1/ws/market/${encodeURIComponent(instrument)}`, (m) => {
        if (m.type === "snapshot") { renderDepth(m.depth); tape = m.trades; renderTrades(tape); return; }
        if (m.event && m.event.type === "TradeExecuted") { tape.unshift({...m.event, price_text: fmt(m.event.price)}); renderTrades(tape); }
        if (m.depth) { renderDepth(m.depth); recheck(); }
      });
      socket("/v1/ws/me", (m) => { if (m.event && m.event.instrument === instrument) refreshOrders(); });
      document.getElementById("order-form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const f = new FormData(ev.target), out = document.getElementById("order-result");
        const body = {instrument, side: f.get("side"), quantity: Number(f.get("quantity")), price: f.get("price") || null,
                      order_type: f.get("order_type"), client_order_id: "web-" + Date.now() + "-" + Math.floor(Math.random() * 1e6)};
        if (f.get("account")) body.account = f.get("account");
        try { const r = await api("/v1/orders", {method: "POST", body: JSON.stringify(body)}); out.textContent = `Order ${r.order.order_id}: ${r.order.status}`; out.className = "ok"; }
        catch (e) { out.textContent = e.message; out.className = "error"; }
        refreshOrders();
      });
      document.getElementById("my-orders").addEventListener("click", async (ev) => {
        const id = ev.target.getAttribute("data-cancel");
        if (!id) return;
        try { await api(`/v1/orders/${id}`, {method: "DELETE"}); } catch (e) { document.getElementById("order-result").textContent = e.message; }
        refreshOrders();
      });
    });
  }
  function demandChart(id, curve, offerPrice) {
    document.addEventListener("DOMContentLoaded", () => {
      const el = document.getElementById(id);
      if (!el || !window.Plotly || !curve.length) return;
      const traces = [{x: curve.map((p) => p.shares), y: curve.map((p) => p.price / 1000), type: "scatter", mode: "lines+markers", line: {shape: "vh"}, name: "demand"}];
      if (curve.some((p) => p.tranche)) {
        traces.push({x: curve.map((p) => p.tranche), y: curve.map((p) => p.price / 1000), type: "scatter", mode: "lines", line: {dash: "dot"}, name: "bookbuilding tranche"});
      }
      const shapes = offerPrice ? [{type: "line", xref: "paper", x0: 0, x1: 1, y0: offerPrice / 1000, y1: offerPrice / 1000, line: {dash: "dash", color: "#c00"}}] : [];
      Plotly.newPlot(el, traces, {margin: {t: 10, r: 10, b: 45, l: 75}, shapes, legend: {orientation: "h"},
        xaxis: {title: {text: "shares demanded at or above the price"}, tickformat: ",~s"}, yaxis: {title: {text: "price"}, tickprefix: "HK$", tickformat: ",.2f"}}, {displayModeBar: false});
      el.dataset.rendered = "1";
    });
  }

  // A grid over rows already on the page: click a header to sort, type to filter, pick a value of
  // a column to keep only those rows, export what is shown as CSV (raw integers: minor units,
  // ticks, shares, so a spreadsheet can add them up). columns: [{key, label, fmt, num, pick}].
  function grid(id, rows, columns, filename) {
    const root = document.getElementById(id);
    if (!root) return;
    let sortKey = null, sortDir = 1;
    const picks = columns.filter((c) => c.pick);
    root.innerHTML = `<div class="grid-tools"><input type="search" class="grid-filter" placeholder="Filter rows" aria-label="Filter rows">` +
      picks.map((c) => `<label>${esc(c.label)} <select data-pick="${esc(c.key)}"><option value="">all</option>` +
        [...new Set(rows.map((r) => String(r[c.key])))].sort().map((v) => `<option>${esc(v)}</option>`).join("") + `</select></label>`).join("") +
      (columns.some((c) => c.min) ? columns.filter((c) => c.min).map((c) => `<label>${esc(c.min)} <input type="number" step="any" min="0" data-min="${esc(c.key)}" class="grid-min"></label>`).join("") : "") +
      `<button type="button" class="grid-export">Export CSV</button> <span class="grid-count muted"></span></div>` +
      `<div class="grid-scroll"><table class="grid"><thead><tr>${columns.map((c) => `<th data-key="${esc(c.key)}" class="${c.num ? "num" : "text"}" tabindex="0">${esc(c.label)}</th>`).join("")}</tr></thead><tbody></tbody></table></div>`;
    const shown = () => {
      const q = root.querySelector(".grid-filter").value.trim().toLowerCase();
      const chosen = [...root.querySelectorAll("[data-pick]")].filter((s) => s.value).map((s) => [s.dataset.pick, s.value]);
      const mins = [...root.querySelectorAll("[data-min]")].filter((s) => s.value !== "").map((s) => [s.dataset.min, Number(s.value)]);
      let out = rows.filter((r) => chosen.every(([k, v]) => String(r[k]) === v)
        && mins.every(([k, v]) => { const c = columns.find((x) => x.key === k); return (c.minValue ? c.minValue(r) : Number(r[k])) >= v; })
        && (!q || columns.some((c) => String(c.fmt ? c.fmt(r[c.key], r) : r[c.key]).toLowerCase().includes(q))));
      if (sortKey) out = out.slice().sort((a, b) => { const x = a[sortKey], y = b[sortKey]; return (typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y))) * sortDir; });
      return out;
    };
    const LIMIT = 500;
    const draw = () => {
      const out = shown();
      root.querySelector("tbody").innerHTML = out.slice(0, LIMIT).map((r) => `<tr>${columns.map((c) => `<td class="${c.num ? "num" : "text"}">${esc(c.fmt ? c.fmt(r[c.key], r) : r[c.key])}</td>`).join("")}</tr>`).join("");
      root.querySelector(".grid-count").textContent = `${count(out.length)} of ${count(rows.length)} rows` + (out.length > LIMIT ? ` (first ${count(LIMIT)} shown; the export has all)` : "");
      root.querySelectorAll("th").forEach((th) => th.setAttribute("aria-sort", th.dataset.key === sortKey ? (sortDir > 0 ? "ascending" : "descending") : "none"));
    };
    root.querySelector("thead").addEventListener("click", (ev) => {
      const k = ev.target.closest("th")?.dataset.key;
      if (!k) return;
      sortDir = sortKey === k ? -sortDir : 1; sortKey = k; draw();
    });
    root.querySelector(".grid-tools").addEventListener("input", draw);
    root.querySelector(".grid-export").addEventListener("click", () => {
      const cell = (v) => /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v);
      const csv = [columns.map((c) => cell(c.key)).join(","), ...shown().map((r) => columns.map((c) => cell(r[c.key] ?? "")).join(","))].join("\n") + "\n";
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([csv], {type: "text/csv"}));
      a.download = filename; document.body.appendChild(a); a.click(); a.remove();
    });
    draw();
  }

  // The order ticket's early warnings, from the rules the venue gives (GET /v1/venue/instruments/
  // {code}/rules) and the live book: board lot, order size, spread table, the 9x nominal check,
  // the 24-spread passive limit and a limit order through the best price. The venue decides.
  function parseTicks(text) {
    const m = /^\s*(\d{1,7})(?:\.(\d{1,3}))?\s*$/.exec(text || "");
    return m ? Number(m[1]) * 1000 + Number((m[2] || "").padEnd(3, "0")) : null;
  }
  function spreadAt(rules, ticks) {
    for (const [upper, spread] of rules.spread_table.bands) if (ticks <= upper) return spread;
    return null;
  }
  function stepTicks(rules, ticks, n) {  // n spreads from a valid price (down if negative), band by band
    let p = ticks;
    for (let i = 0; i < Math.abs(n); i++) {
      const s = n > 0 ? spreadAt(rules, p + 1) : spreadAt(rules, p);
      if (s === null) break;
      p += n > 0 ? s : -s;
      if (p < rules.spread_table.min_price) return rules.spread_table.min_price;
    }
    return p;
  }
  function ticketCheck(rules, book, ticket) {
    const out = [], lot = rules.board_lot, q = Number(ticket.quantity);
    if (!Number.isInteger(q) || q <= 0) out.push({field: "quantity", text: "Quantity: a whole number of shares."});
    else if (q % lot) out.push({field: "quantity", text: `Board lot ${count(lot)}: ${count(q)} is not a whole number of lots (nearest ${count(Math.max(lot, Math.round(q / lot) * lot))}).`});
    else if (q / lot > rules.max_board_lots) out.push({field: "quantity", text: `At most ${count(rules.max_board_lots)} board lots (${shares(rules.max_board_lots * lot)}) per order.`});
    if (ticket.order_type === "AT_AUCTION") return out;
    const t = parseTicks(ticket.price);
    if (t === null || t === 0) { out.push({field: "price", text: "Price: up to three decimals, e.g. 49.95."}); return out; }
    const min = rules.spread_table.min_price, bands = rules.spread_table.bands, max = bands[bands.length - 1][0];
    if (t < min || t > max) { out.push({field: "price", text: `Outside the spread table (${fmt(min)} to ${fmt(max)}).`}); return out; }
    const s = spreadAt(rules, t);
    if (t % s) { const below = t - (t % s); out.push({field: "price", text: `Spread table: ${fmt(s)} steps at this price; nearest ${fmt(below)} or ${fmt(below + s)}.`}); return out; }
    const nominal = rules.nominal_price, k = rules.nominal_multiple;
    if (t >= k * nominal || t * k <= nominal) out.push({field: "price", text: `Price limit: ${k} times or more away from the nominal ${fmt(nominal)} (${rules.nominal_basis}).`});
    const buy = ticket.side === "B", bestBid = book.bids[0]?.price, bestAsk = book.asks[0]?.price;
    const opposite = buy ? bestAsk : bestBid, same = buy ? bestBid : bestAsk;
    if (ticket.order_type === "LIMIT" && opposite && (buy ? t > opposite : t < opposite)) out.push({field: "price", text: `A limit order may not cross the best ${buy ? "ask" : "bid"} ${fmt(opposite)} (use an enhanced limit order).`});
    if (ticket.order_type !== "SPECIAL_LIMIT" && ticket.order_type !== "AT_AUCTION_LIMIT") {
      const base = same || nominal, n = rules.passive_max_spreads, bound = stepTicks(rules, base, buy ? -n : n);
      if (buy ? t < bound : t > bound) out.push({field: "price", text: `Quotation rule: more than ${n} spreads ${buy ? "below" : "above"} the ${same ? "best " + (buy ? "bid" : "ask") : "nominal price"} ${fmt(base)} (limit ${fmt(bound)}).`});
    }
    return out;
  }
  function bindTicket(form, rules, getBook, out) {
    const run = () => {
      const f = new FormData(form);
      const problems = ticketCheck(rules, getBook(), {side: f.get("side"), quantity: f.get("quantity"), price: f.get("price"), order_type: f.get("order_type")});
      form.querySelectorAll("input, select").forEach((el) => el.classList.toggle("invalid", problems.some((p) => p.field === el.name)));
      const t = parseTicks(f.get("price")), q = Number(f.get("quantity"));
      const value = t && Number.isInteger(q) && q > 0 ? ` · value ${money(Math.round(t * q / 10), rules.currency)}` : "";
      out.innerHTML = problems.length ? problems.map((p) => `<li class="error">${esc(p.text)}</li>`).join("")
        : `<li class="ok">Within the venue's checks (board lot ${count(rules.board_lot)}, spread ${fmt(spreadAt(rules, t) || 0)})${esc(value)}.</li>`;
      out.dataset.problems = String(problems.length);
    };
    form.addEventListener("input", run);
    run();
    return run;
  }

  // A button that calls the API; the answer (or the rejection with its code and rule) is shown
  // beside it; on success `then` runs (usually a reload to show the new state from the read model).
  function act(el, call, then) {
    el.addEventListener("click", async (ev) => {
      ev.preventDefault();
      const out = document.getElementById(el.dataset.out || "action-result");
      el.disabled = true;
      try { const r = await call(); out.textContent = "Done."; out.className = "ok"; if (then) await then(r); }
      catch (e) { out.textContent = e.message; out.className = "error"; }
      finally { el.disabled = false; }
    });
  }
  const post = (path, body) => api(path, {method: "POST", body: JSON.stringify(body ?? {})});
  const reloadSoon = () => new Promise(() => setTimeout(() => location.reload(), 300));

  function operatorPage(venue) {
    document.addEventListener("DOMContentLoaded", () => {
      const val = (id) => document.getElementById(id).value.trim();
      const day = () => val("venue-day") || venue.today;
      document.querySelectorAll("[data-disable]").forEach((b) => act(b, () => post(`/v1/users/${encodeURIComponent(b.dataset.disable)}/disable`), reloadSoon));
      const byId = (id, call) => { const el = document.getElementById(id); if (el) act(el, call, reloadSoon); };
      byId("user-create", () => post("/v1/users", {username: val("new-username"), password: val("new-password"), role: val("new-role"),
        participant: val("new-participant"), accounts: val("new-accounts") ? val("new-accounts").split(/[\s,]+/) : []}));
      byId("user-enable", () => post(`/v1/users/${encodeURIComponent(val("enable-username"))}/enable`));
      byId("open-day", () => post("/v1/commands", {type: "StartTradingDay", day: day()}));
      byId("move-clock", () => post("/v1/venue/clock", {to: val("clock-to")}));
      byId("run-settlement", () => post("/v1/commands", {type: "RunSettlement", day: day()}));
    });
  }

  // The allocation summary (the OfferingAllocated event's, or a preview's) and the mechanism
  // comparison (GET …/compare, or a preview's): the same tables before and after allocating.
  function summaryHtml(s, currency, placees) {
    const row = (k, v) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`;
    return `<table class="summary">` +
      row("Offer price", price(s.price, currency)) +
      row("Offer shares", shares(s.offer_shares) + (s.upsize_shares ? ` (incl. ${shares(s.upsize_shares)} offer size adjustment)` : "")) +
      row("Over-allocated", shares(s.over_allocated_shares)) +
      row("Public offer", `${count(s.valid_applications)} valid applications for ${shares(s.public_demand_shares)} (${times(s.subscription_multiple_bp)}); ` +
        `initial ${shares(s.initial_public_shares)}, final ${shares(s.final_public_shares)} (${s.clawback_reason})`) +
      row("Pools A / B", `${shares(s.pool_a_shares)} / ${shares(s.pool_b_shares)}`) +
      row("Placing", `${shares(s.placing_shares)} to ${count(placees ?? s.placees)} placees; cornerstones ${shares(s.cornerstone_shares)}`) +
      row("Ballot seed", s.seed) + row("Allotment digest", s.allotment_digest) + `</table>` +
      `<h4>Basis of allocation (public offer)</h4><table class="basis"><tr><th>Pool</th><th>Shares applied for</th><th>Applications</th><th>Basis</th><th>Allotted</th></tr>` +
      (s.bands || []).map((b) => `<tr><td>${esc(b.pool)}</td><td>${esc(count(b.shares_applied))}</td><td>${esc(count(b.applications))}</td><td class="text">${esc(b.basis)}</td><td>${esc(percent(b.allotted_bp))}</td></tr>`).join("") +
      `</table>`;
  }
  function comparisonHtml(c) {
    const rows = c.rows || [];
    const head = rows.map((r) => `<th class="${r.actual ? "actual" : ""}" title="${esc((r.why || []).join("; "))}">${esc(r.label)}${r.actual ? "<br><small>this deal</small>" : r.available ? "" : "<br><small>not open</small>"}</th>`).join("");
    // percentages and multiples from their integers through the page's formatters (12.5%, 3.50x), like every other figure here
    const cell = (t, v) => v === null || v === undefined ? t : t.endsWith("%") ? percent(v) : t.endsWith("x") ? times(v) : t;
    const body = (c.table || []).map((line) => `<tr><th class="text">${esc(line.figure)}</th>${line.text.map((t, i) => `<td class="${rows[i] && rows[i].actual ? "actual" : ""}">${esc(cell(t, (line.values || [])[i]))}</td>`).join("")}</tr>`).join("");
    const why = rows.filter((r) => !r.available).map((r) => `<li><strong>${esc(r.label)}</strong>: ${esc((r.why || []).join("; "))}</li>`).join("");
    return `<table class="comparison"><tr><th class="text">At ${esc(price(c.price))}, seed ${esc(c.seed)}; public demand ${esc(shares(c.public_demand_shares))}</th>${head}</tr>${body}</table>` +
      (why ? `<ul class="small muted not-open">${why}</ul>` : "");
  }
  const SEED = /^\d{1,19}$/;
  function seedText(el) {  // the seed's digits as typed (a JSON number too large for a double stays exact)
    const t = (el?.value ?? "").trim();
    if (!SEED.test(t) || BigInt(t) > BigInt(el.max || "9223372036854775807")) throw new Error(`Ballot seed: a whole number 0 to ${el?.max || "9223372036854775807"}.`);
    return String(BigInt(t));
  }
  function renderPreview(r, currency) {
    const el = document.getElementById("preview");
    const digest = document.getElementById("digest-input")?.value;
    const stale = digest && r.applications_digest !== digest ? `<p class="error">The application book changed since the close (${esc(r.applications_digest.slice(0, 16))}…).</p>` : "";
    el.innerHTML = `${stale}<h3>Allocation with seed ${esc(r.seed)}</h3>${summaryHtml(r.summary, currency, r.placees.length)}` +
      `<h3>Mechanism comparison</h3>${comparisonHtml(r.comparison)}`;
    el.dataset.seed = String(r.seed);
  }

  function offeringPage(id, iois, allocations, currency, comparison) {
    document.addEventListener("DOMContentLoaded", () => {
      const compared = document.getElementById("comparison");
      if (compared && comparison) compared.innerHTML = comparisonHtml(comparison);
      const limit = (t) => t ? price(t, currency) : "any price";
      grid("ioi-grid", iois, [
        {key: "ioi_id", label: "IOI"}, {key: "investor", label: "Investor"}, {key: "investor_type", label: "Investor type", pick: true},
        {key: "origin", label: "Origin", pick: true}, {key: "tier", label: "Tier", num: true, pick: true},
        {key: "limit_high", label: "Highest limit", num: true, fmt: limit, min: "Limit at least (HK$)", minValue: (r) => r.limit_high ? r.limit_high / 1000 : Infinity},
        {key: "limit_low", label: "Lowest limit", num: true, fmt: limit},
        {key: "shares_max", label: "Shares (top step)", num: true, fmt: count}, {key: "steps", label: "Steps", num: true},
      ], `${id}-iois.csv`);
      grid("allocation-grid", allocations, [
        {key: "account", label: "Account"}, {key: "applications", label: "Applications", num: true, fmt: count},
        {key: "shares_applied", label: "Applied", num: true, fmt: count}, {key: "public_shares", label: "Public", num: true, fmt: count},
        {key: "placing_shares", label: "Placing", num: true, fmt: count}, {key: "cornerstone_shares", label: "Cornerstone", num: true, fmt: count},
        {key: "shares", label: "Shares allotted", num: true, fmt: count, min: "Allotted at least"},
        {key: "consideration_minor", label: "Consideration", num: true, fmt: (v) => money(v, currency)},
      ], `${id}-allocations.csv`);
      const val = (x) => (document.getElementById(x)?.value ?? "").trim();
      const bind = (x, call) => { const el = document.getElementById(x); if (el) act(el, call, reloadSoon); };
      bind("do-close", () => post(`/v1/offerings/${id}/close`));
      bind("do-price", () => post(`/v1/offerings/${id}/price`, {price: val("price-input") || null, upsize_shares: Number(val("upsize-input") || 0)}));
      bind("do-allocate", () => api(`/v1/offerings/${id}/allocate`, {method: "POST",
        body: `{"seed": ${seedText(document.getElementById("seed-input"))}, "applications_digest": ${JSON.stringify(val("digest-input"))}}`}));
      const previewButton = document.getElementById("do-preview");
      if (previewButton) act(previewButton, async () => renderPreview(await api(`/v1/offerings/${id}/allocation-preview?seed=${seedText(document.getElementById("seed-input"))}`), currency));
      bind("do-settle", () => post(`/v1/offerings/${id}/settle`));
    });
  }

  // A request body checked against the JSON schema of its REST Struct (the subset msgspec emits
  // for our models: object, string, integer, boolean, enum, array, anyOf, $ref), so a form refuses
  // what the route would refuse with 400, before sending. Fields are named as the route's 400
  // names them (``steps.0.shares``). The route still decides.
  function schemaProblems(schema, value, root = schema, field = "") {
    if (schema.$ref) return schemaProblems(root.$defs[schema.$ref.split("/").pop()], value, root, field);
    if (schema.anyOf) {
      const each = schema.anyOf.map((s) => schemaProblems(s, value, root, field));
      return each.some((p) => !p.length) ? [] : each[0];
    }
    const bad = (text) => [{field, text}];
    if (schema.enum && !schema.enum.includes(value)) return bad(`one of ${schema.enum.join(", ")}`);
    switch (schema.type) {
      case "null": return value === null ? [] : bad("empty");
      case "boolean": return typeof value === "boolean" ? [] : bad("true or false");
      case "string":
        if (typeof value !== "string") return bad("text");
        if (value === "" && schema.default === "") return [];  // an optional identifier left empty: its default meaning
        if (schema.maxLength !== undefined && value.length > schema.maxLength) return bad(`at most ${schema.maxLength} characters`);
        if (schema.minLength !== undefined && value.length < schema.minLength) return bad(`at least ${schema.minLength} characters`);
        if (schema.pattern && !new RegExp(schema.pattern).test(value)) return bad(value ? (schema.description || `the form ${schema.pattern}`) : "required");
        return [];
      case "integer":
        if (typeof value !== "number" || !Number.isInteger(value)) return bad("a whole number");
        if (schema.minimum !== undefined && value < schema.minimum) return bad(`at least ${count(schema.minimum)}`);
        if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) return bad(`more than ${count(schema.exclusiveMinimum)}`);
        if (schema.maximum !== undefined && value > schema.maximum) return bad(`at most ${count(schema.maximum)}`);
        return [];
      case "array": {
        if (!Array.isArray(value)) return bad("a list");
        if (schema.minItems !== undefined && value.length < schema.minItems) return bad(`at least ${schema.minItems}`);
        if (schema.maxItems !== undefined && value.length > schema.maxItems) return bad(`at most ${schema.maxItems}`);
        return value.flatMap((v, i) => schemaProblems(schema.items, v, root, field ? `${field}.${i}` : String(i)));
      }
      case "object": {
        if (typeof value !== "object" || value === null || Array.isArray(value)) return bad("an object");
        const props = schema.properties || {}, out = [];
        for (const k of schema.required || []) if (!(k in value)) out.push({field: field ? `${field}.${k}` : k, text: "required"});
        for (const [k, v] of Object.entries(value)) {
          const f = field ? `${field}.${k}` : k;
          if (props[k]) out.push(...schemaProblems(props[k], v, root, f));
          else if (schema.additionalProperties === false) out.push({field: f, text: "not a field of this request"});
        }
        return out;
      }
    }
    return [];
  }
  // The twin of lionrock.kernel.price.parse_price: a plain positive decimal (commas may group
  // digits), at most three decimals (trailing zeros aside), at most maxTicks thousandths.
  function priceProblem(text, maxTicks) {
    const raw = String(text ?? "").trim(), cleaned = raw.replace(/,/g, "");
    const m = /^(\d*)(?:\.(\d*))?$/.exec(cleaned);
    if (raw.length > 40 || !m || !(m[1] || m[2])) return "a plain decimal like 12.34 (digits and one point)";
    const frac = m[2] || "";
    if (/[^0]/.test(frac.slice(3))) return "finer than 0.001";
    const whole = m[1].replace(/^0+/, "");
    if (whole.length > 7) return `above the largest price accepted, ${fmt(maxTicks)}`;
    const ticks = Number(whole || "0") * 1000 + Number(frac.slice(0, 3).padEnd(3, "0"));
    if (ticks <= 0) return "must be positive";
    if (ticks > maxTicks) return `above the largest price accepted, ${fmt(maxTicks)}`;
    return "";
  }
  function ioiProblems(schema, body, maxTicks) {
    const out = schemaProblems(schema, body);
    (Array.isArray(body.steps) ? body.steps : []).forEach((st, i) => {
      if (typeof st.limit_price === "string" && st.limit_price !== "" && !out.some((p) => p.field === `steps.${i}.limit_price`)) {
        const why = priceProblem(st.limit_price, maxTicks);
        if (why) out.push({field: `steps.${i}.limit_price`, text: why});
      }
    });
    return out;
  }

  function ioiForm(id, schema, maxTicks, currency) {
    document.addEventListener("DOMContentLoaded", () => {
      const form = document.getElementById("ioi-form"), tbody = form.querySelector("#ioi-steps tbody");
      const out = document.getElementById("ioi-checks"), result = document.getElementById("ioi-result");
      const maxSteps = schema.properties.steps.maxItems;
      const labels = {ioi_id: "IOI id", investor: "Investor", account: "Account", participant: "Participant", investor_type: "Investor type", origin: "Origin", tier: "Tier", steps: "Steps"};
      const whole = (t) => /^\s*\d{1,16}\s*$/.test(t) ? Number(t) : t.trim();  // digits -> a number; anything else stays text (refused as such)
      const addStep = (limit = "", shares = "") => {
        if (tbody.rows.length >= maxSteps) return;
        const tr = document.createElement("tr");
        tr.innerHTML = `<td class="step-no"></td><td><input name="limit_price" size="10" value="${esc(limit)}" placeholder="any price"></td>` +
          `<td><input name="shares" size="14" value="${esc(shares)}" inputmode="numeric"></td><td><button type="button" class="ioi-remove-step">Remove</button></td>`;
        tbody.appendChild(tr);
        renumber();
      };
      const renumber = () => [...tbody.rows].forEach((tr, i) => { tr.querySelector(".step-no").textContent = String(i + 1); tr.querySelectorAll("input").forEach((el) => { el.dataset.field = `steps.${i}.${el.name}`; }); });
      const body = () => {
        const f = new FormData(form), b = {ioi_id: String(f.get("ioi_id")).trim(), investor: String(f.get("investor")).trim(), account: String(f.get("account")).trim()};
        for (const k of ["participant", "investor_type"]) if (String(f.get(k)).trim()) b[k] = String(f.get(k)).trim();
        b.origin = f.get("origin");
        b.tier = whole(String(f.get("tier")));
        b.independent = form.querySelector("#ioi-independent").checked;
        b.steps = [...tbody.rows].map((tr) => {
          const limit = tr.querySelector("[name=limit_price]").value.trim(), step = {shares: whole(tr.querySelector("[name=shares]").value)};
          if (limit) step.limit_price = limit;
          return step;
        });
        return b;
      };
      const label = (field) => { const [k, i, sub] = field.split("."); return k === "steps" && i !== undefined ? `Step ${Number(i) + 1}${sub ? " " + sub.replace("_", " ") : ""}` : (labels[k] || k); };
      const check = () => {
        const b = body(), problems = ioiProblems(schema, b, maxTicks);
        form.querySelectorAll("input, select").forEach((el) => el.classList.toggle("invalid", problems.some((p) => p.field === (el.dataset.field || el.name))));
        const top = b.steps.filter((st) => typeof st.shares === "number").reduce((t, st) => t + st.shares, 0);
        out.innerHTML = problems.length ? problems.map((p) => `<li class="error" data-field="${esc(p.field)}">${esc(label(p.field))}: ${esc(p.text)}</li>`).join("")
          : `<li class="ok">Ready: ${esc(count(b.steps.length))} step${b.steps.length === 1 ? "" : "s"}, ${esc(shares(top))} in all.</li>`;
        out.dataset.problems = String(problems.length);
        return problems;
      };
      form.querySelectorAll("input[data-field], input:not([name=limit_price]):not([name=shares]), select").forEach((el) => { if (!el.dataset.field && el.name) el.dataset.field = el.name; });
      document.getElementById("ioi-add-step").addEventListener("click", () => { addStep(); check(); });
      tbody.addEventListener("click", (ev) => { if (ev.target.classList.contains("ioi-remove-step")) { ev.target.closest("tr").remove(); renumber(); check(); } });
      form.addEventListener("input", () => { result.textContent = ""; result.className = ""; check(); });  // an answer to the last try goes stale
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        if (check().length) { result.textContent = "Not sent: correct the fields marked."; result.className = "error"; return; }
        const submit = document.getElementById("ioi-submit");
        submit.disabled = true;
        try {
          const r = await api(`/v1/offerings/${encodeURIComponent(id)}/iois`, {method: "POST", body: JSON.stringify(body())});
          const e = r.IoiReceived;
          result.textContent = `IOI ${e.ioi_id} received: the book has ${count(e.book_investors)} investors, ${shares(e.book_demand_at_top)} at the top of the range.`;
          result.className = "ok";
          setTimeout(() => location.reload(), 600);
        } catch (e) { result.textContent = e.message; result.className = "error"; }
        finally { submit.disabled = false; }
      });
      addStep();
      check();
    });
  }

  function newOfferingPage() {
    document.addEventListener("DOMContentLoaded", () => {
      const out = document.getElementById("define-result");
      const done = (r) => { location.href = `/offerings/${encodeURIComponent(r.offering_id)}`; };
      const fail = (e) => { out.textContent = e.message; out.className = "error"; };
      document.getElementById("define-form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const f = Object.fromEntries(new FormData(ev.target).entries());
        const body = {offering: {id: f.id, issuer_id: f.issuer_id, issuer_name: f.issuer_name, instrument: f.instrument,
          shares_offered: Number(f.shares_offered), board_lot: Number(f.board_lot), price_range: [f.price_low, f.price_high],
          prospectus_date: f.prospectus_date, public_offer_open: f.public_offer_open, price_fixing_date: f.price_fixing_date,
          mechanism: f.mechanism, public_share: f.public_share, over_allotment: f.over_allotment, shares_outstanding_after: Number(f.shares_outstanding_after)},
          pricing: {kind: "coverage", coverage_times: f.coverage_times}};
        try { done(await post("/v1/offerings", body)); } catch (e) { fail(e); }
      });
      document.getElementById("upload-form").addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const r = await fetch("/v1/offerings/toml", {method: "POST", credentials: "same-origin", body: new FormData(ev.target)});
        const body = await r.json().catch(() => ({}));
        if (r.ok) done(body);
        else fail(new Error(body.error ? `${body.error.code} ${body.error.reason}: ${body.error.field}: ${body.error.message}` : r.statusText));
      });
    });
  }
  return {api, socket, marketPage, demandChart, fmt, money, shares, count, percent, times, price, esc, grid, ticketCheck, bindTicket, act, operatorPage, offeringPage, newOfferingPage,
          summaryHtml, comparisonHtml, schemaProblems, priceProblem, ioiProblems, ioiForm};
})();
