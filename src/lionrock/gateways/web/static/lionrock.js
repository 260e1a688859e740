// Lion Rock dashboard helpers: fetch + WebSocket, no framework, no CDN.
"use strict";
const LR = (() => {
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  const fmt = (ticks) => { if (!ticks) return ""; const w = Math.floor(ticks / 1000), f = String(ticks % 1000).padStart(3, "0"); return f.endsWith("0") ? `${w}.${f.slice(0, 2)}` : `${w}.${f}`; };
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
  function renderDepth(depth) {
    const rows = Math.max(depth.bids.length, depth.asks.length);
    const tb = document.querySelector("#depth tbody");
    let html = "";
    for (let i = 0; i < rows; i++) {
      const b = depth.bids[i] || {}, a = depth.asks[i] || {};
      html += `<tr><td>${esc(b.quantity ?? "")}</td><td>${esc(b.price_text ?? "")}</td><td>${esc(a.price_text ?? "")}</td><td>${esc(a.quantity ?? "")}</td></tr>`;
    }
    tb.innerHTML = html;
    const el = document.getElementById("depth-chart");
    if (el && window.Plotly) {
      const cum = (levels) => { let t = 0; return levels.map((l) => (t += l.quantity)); };
      Plotly.react(el, [
        {x: depth.bids.map((l) => l.price / 1000), y: cum(depth.bids), type: "scatter", mode: "lines", line: {shape: "hv"}, name: "bids"},
        {x: depth.asks.map((l) => l.price / 1000), y: cum(depth.asks), type: "scatter", mode: "lines", line: {shape: "hv"}, name: "asks"},
      ], {margin: {t: 10, r: 10, b: 30, l: 50}, xaxis: {title: "price"}, yaxis: {title: "cumulative shares"}}, {displayModeBar: false, staticPlot: false});
    }
  }
  function renderTrades(trades) {
    document.querySelector("#trades tbody").innerHTML = trades.slice(0, 30).map((t) =>
      `<tr><td>${esc(t.trade_id)}</td><td>${esc(t.price_text || fmt(t.price))}</td><td>${esc(t.quantity)}</td><td>${esc(t.aggressor)}</td></tr>`).join("");
  }
  function renderOrders(orders) {
    document.querySelector("#my-orders tbody").innerHTML = orders.map((o) =>
      `<tr data-order="${esc(o.order_id)}" class="status-${esc(o.status)}"><td>${esc(o.order_id)}</td><td>${esc(o.side)}</td><td>${esc(o.price_text)}</td><td>${esc(o.quantity)}</td><td>${esc(o.filled)}</td><td class="status">${esc(o.status)}</td>` +
      `<td>${["new", "partially_filled"].includes(o.status) ? `<button data-cancel="${esc(o.order_id)}">Cancel</button>` : ""}</td></tr>`).join("");
  }
  function marketPage(instrument, depth, trades, orders) {
    let tape = trades.slice();
    const refreshOrders = () => api(`/v1/orders?instrument=${encodeURIComponent(instrument)}&limit=50`).then(renderOrders).catch(() => {});
    document.addEventListener("DOMContentLoaded", () => {
      renderDepth(depth); renderTrades(tape); renderOrders(orders);
      socket(`/v1/ws/market/${encodeURIComponent(instrument)}`, (m) => {
        if (m.type === "snapshot") { renderDepth(m.depth); tape = m.trades; renderTrades(tape); return; }
        if (m.event && m.event.type === "TradeExecuted") { tape.unshift({...m.event, price_text: fmt(m.event.price)}); renderTrades(tape); }
        if (m.depth) renderDepth(m.depth);
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
      Plotly.newPlot(el, traces, {margin: {t: 10, r: 10, b: 40, l: 60}, shapes, xaxis: {title: "shares demanded at or above price"}, yaxis: {title: "price"}}, {displayModeBar: false});
      el.dataset.rendered = "1";
    });
  }
  return {api, socket, marketPage, demandChart, fmt};
})();
