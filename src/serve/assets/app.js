// The segment dashboard: reads the run (/v1/run) and the model (/v1/model) from the server
// that serves this page, draws on <canvas> by hand (no chart library, nothing from a CDN),
// and scores one customer through /v1/predict.
"use strict";

const COLORS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1",
  "#ff9da7", "#9c755f", "#bab0ac", "#1b9e77", "#d95f02"];
const NOISE_COLOR = "#999999";
const color = (s) => (s < 0 ? NOISE_COLOR : COLORS[s % COLORS.length]);

// With --token-file, open the page as /#token=... so the API calls carry it.
const token = new URLSearchParams(location.hash.slice(1)).get("token");
const headers = (extra) => Object.assign(token ? { Authorization: "Bearer " + token } : {}, extra || {});

const state = { run: null, model: null, selected: null, sort: { key: "segment", dir: 1 }, drawn: [] };

async function getJson(path) {
  const r = await fetch(path, { headers: headers() });
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

const fmt = (x, d) => (x === null || x === undefined || Number.isNaN(x) ? "–" :
  Number(x).toLocaleString("en-US", { maximumFractionDigits: d === undefined ? 2 : d }));

function renderHeader() {
  const r = state.run;
  document.getElementById("title").textContent = r.title;
  document.getElementById("subtitle").textContent =
    `${fmt(r.rows_segmented, 0)} customers in ${r.k} segments (${r.algorithm}), ` +
    `${fmt(r.rows_rejected, 0)} rows rejected · model ${state.model.model_version} fitted ${state.model.fitted_at}`;
  document.getElementById("segment-count").textContent = String(r.segments.filter((s) => s.segment >= 0).length);
}

function renderCards() {
  const box = document.getElementById("segments");
  box.textContent = "";
  for (const s of state.run.segments) {
    const c = el("div", { class: "segment-card", "data-segment": String(s.segment), style: "--c:" + color(s.segment) });
    c.appendChild(el("div", { class: "name" }, s.name));
    c.appendChild(el("div", { class: "size" }, `${fmt(s.size, 0)} customers · ${fmt(100 * s.share, 1)} %`));
    c.appendChild(el("div", { class: "desc" }, s.description));
    c.addEventListener("click", () => {
      state.selected = state.selected === s.segment ? null : s.segment;
      for (const x of box.children) x.classList.toggle("selected", Number(x.dataset.segment) === state.selected);
      drawScatter();
    });
    box.appendChild(c);
  }
}

// Maps data ranges onto a canvas with margins; returns the projection and axis ranges.
function frame(canvas, xs, ys, pad) {
  const p = pad || 36;
  const lo = (v) => Math.min(...v), hi = (v) => Math.max(...v);
  let [x0, x1, y0, y1] = [lo(xs), hi(xs), lo(ys), hi(ys)];
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= 1; y1 += 1; }
  const w = canvas.width - 2 * p, h = canvas.height - 2 * p;
  return {
    x: (v) => p + ((v - x0) / (x1 - x0)) * w,
    y: (v) => canvas.height - p - ((v - y0) / (y1 - y0)) * h,
    x0, x1, y0, y1, p,
  };
}

function axes(ctx, canvas, f, xlabel, ylabel) {
  ctx.strokeStyle = "#889"; ctx.fillStyle = "#445"; ctx.lineWidth = 1; ctx.font = "11px sans-serif";
  ctx.beginPath();
  ctx.moveTo(f.p, f.p / 2); ctx.lineTo(f.p, canvas.height - f.p); ctx.lineTo(canvas.width - f.p / 2, canvas.height - f.p);
  ctx.stroke();
  ctx.fillText(xlabel, canvas.width / 2 - 10, canvas.height - 8);
  ctx.save(); ctx.translate(11, canvas.height / 2 + 10); ctx.rotate(-Math.PI / 2); ctx.fillText(ylabel, 0, 0); ctx.restore();
}

function drawScatter() {
  const canvas = document.getElementById("scatter");
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const pts = state.run.pca_sample;
  if (!pts.length) return;
  const f = frame(canvas, pts.map((p) => p.pc1), pts.map((p) => p.pc2));
  axes(ctx, canvas, f, "PC1", "PC2");
  state.drawn = [];
  for (const p of pts) {
    if (state.selected !== null && p.segment !== state.selected) continue;
    const x = f.x(p.pc1), y = f.y(p.pc2);
    ctx.fillStyle = color(p.segment);
    ctx.globalAlpha = 0.75;
    ctx.beginPath(); ctx.arc(x, y, 3, 0, 2 * Math.PI); ctx.fill();
    state.drawn.push({ x, y, p });
  }
  ctx.globalAlpha = 1;
  canvas.dataset.pointsDrawn = String(state.drawn.length);
  const ev = state.run.explained_variance_ratio || [];
  document.getElementById("scatter-note").textContent =
    `${state.drawn.length} of ${fmt(state.run.rows_segmented, 0)} customers (a seeded sample)` +
    (ev.length >= 2 ? `; PC1 and PC2 explain ${fmt(100 * (ev[0] + ev[1]), 1)} % of the variance` : "") +
    ". Hover a point to see the customer.";
}

function hover(e) {
  const canvas = document.getElementById("scatter");
  const tip = document.getElementById("tooltip");
  const rect = canvas.getBoundingClientRect();
  const mx = ((e.clientX - rect.left) * canvas.width) / rect.width;
  const my = ((e.clientY - rect.top) * canvas.height) / rect.height;
  let best = null, bd = 36;
  for (const d of state.drawn) {
    const dd = (d.x - mx) ** 2 + (d.y - my) ** 2;
    if (dd < bd) { bd = dd; best = d; }
  }
  if (!best) { tip.hidden = true; return; }
  const seg = state.run.segments.find((s) => s.segment === best.p.segment);
  const lines = [`row ${best.p.row} · ${seg ? seg.name : "noise"}`];
  state.run.columns.forEach((c, i) => lines.push(`${c}: ${best.p.values[i]}`));
  tip.textContent = lines.join("\n");
  tip.hidden = false;
  const box = canvas.parentElement.getBoundingClientRect();
  tip.style.left = (e.clientX - box.left + 14) + "px";
  tip.style.top = (e.clientY - box.top + 14) + "px";
}

function drawCurve(id, key, label) {
  const canvas = document.getElementById(id);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const kc = state.run.k_choice;
  const scores = kc ? kc.scores.filter((s) => s[key] !== null && Number.isFinite(s[key])) : [];
  if (scores.length < 2) {
    ctx.fillStyle = "#667"; ctx.font = "12px sans-serif";
    ctx.fillText(kc ? "not enough points" : "k was given, not chosen", 20, canvas.height / 2);
    return;
  }
  const f = frame(canvas, scores.map((s) => s.k), scores.map((s) => s[key]));
  axes(ctx, canvas, f, "k", label);
  ctx.strokeStyle = "#4e79a7"; ctx.lineWidth = 2; ctx.beginPath();
  scores.forEach((s, i) => (i ? ctx.lineTo(f.x(s.k), f.y(s[key])) : ctx.moveTo(f.x(s.k), f.y(s[key]))));
  ctx.stroke();
  for (const s of scores) {
    const chosen = s.k === kc.k;
    ctx.fillStyle = chosen ? "#e15759" : "#4e79a7";
    ctx.beginPath(); ctx.arc(f.x(s.k), f.y(s[key]), chosen ? 5 : 3, 0, 2 * Math.PI); ctx.fill();
    ctx.fillStyle = "#445"; ctx.font = "10px sans-serif";
    ctx.fillText(String(s.k), f.x(s.k) - 3, canvas.height - f.p + 12);
  }
}

function profileColumns() {
  const first = state.run.segments[0];
  return first ? first.numeric.map((n) => n.column) : [];
}

function renderProfiles() {
  const cols = profileColumns();
  const table = document.getElementById("profiles");
  const head = table.querySelector("thead"), body = table.querySelector("tbody");
  const keys = ["segment", "name", "size", ...cols];
  head.textContent = "";
  const tr = el("tr");
  for (const k of keys) {
    const th = el("th", { "data-key": k }, k);
    if (state.sort.key === k) th.className = state.sort.dir > 0 ? "sorted-asc" : "sorted-desc";
    th.addEventListener("click", () => {
      state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : 1 };
      renderProfiles();
    });
    tr.appendChild(th);
  }
  head.appendChild(tr);
  const value = (s, k) => {
    if (k === "segment" || k === "size") return s[k];
    if (k === "name") return s.name;
    const n = s.numeric.find((x) => x.column === k);
    return n ? n.mean : null;
  };
  const rows = [...state.run.segments].sort((a, b) => {
    const x = value(a, state.sort.key), y = value(b, state.sort.key);
    return (typeof x === "string" ? x.localeCompare(y) : (x ?? -Infinity) - (y ?? -Infinity)) * state.sort.dir;
  });
  body.textContent = "";
  for (const s of rows) {
    const r = el("tr", { "data-segment": String(s.segment) });
    for (const k of keys) {
      const v = value(s, k);
      r.appendChild(el("td", {}, typeof v === "number" ? fmt(v, k === "segment" || k === "size" ? 0 : 2) : String(v)));
    }
    body.appendChild(r);
  }
}

function renderForm() {
  const box = document.getElementById("score-fields");
  box.textContent = "";
  // Pre-filled with a sampled customer, so the form scores as it stands.
  const example = state.run.pca_sample[0];
  for (const c of state.model.columns) {
    const i = state.run.columns.indexOf(c);
    const label = el("label", {}, c);
    const input = el("input", { name: c, value: example && i >= 0 ? example.values[i] : "" });
    label.appendChild(input);
    box.appendChild(label);
  }
  document.getElementById("score-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const out = document.getElementById("score-result");
    const rec = {};
    for (const input of box.querySelectorAll("input")) {
      const v = input.value.trim();
      rec[input.name] = v === "" ? null : (v !== "" && !Number.isNaN(Number(v)) ? Number(v) : v);
    }
    out.className = "";
    out.textContent = "Scoring…";
    try {
      const r = await fetch("/v1/predict", {
        method: "POST", headers: headers({ "Content-Type": "application/json" }), body: JSON.stringify([rec]),
      });
      const body = await r.json();
      if (!r.ok) {
        out.className = "error";
        out.textContent = body.error;
        out.dataset.segment = "";
        return;
      }
      const s = body[0];
      out.dataset.segment = String(s.segment);
      out.textContent = `Segment ${s.segment}: ${s.segment_name} (distance to its centre ${fmt(s.distance_to_centroid, 4)})` +
        (s.warning ? ` — ${s.warning}` : "");
    } catch (err) {
      out.className = "error";
      out.textContent = String(err);
    }
  });
}

async function main() {
  try {
    [state.run, state.model] = await Promise.all([getJson("/v1/run"), getJson("/v1/model")]);
  } catch (err) {
    document.getElementById("subtitle").textContent = "Could not load the run: " + err.message +
      (token ? "" : " (a server with --token-file needs /#token=… in the address)");
    return;
  }
  renderHeader();
  renderCards();
  drawScatter();
  drawCurve("inertia", "inertia", "inertia");
  drawCurve("silhouette", "silhouette", "silhouette");
  const kc = state.run.k_choice;
  document.getElementById("k-rule").textContent = kc ? kc.reason : `k = ${state.run.k} was given.`;
  renderProfiles();
  renderForm();
  document.getElementById("scatter").addEventListener("mousemove", hover);
  document.getElementById("scatter").addEventListener("mouseleave", () => { document.getElementById("tooltip").hidden = true; });
  document.body.dataset.ready = "true";
}

main();
