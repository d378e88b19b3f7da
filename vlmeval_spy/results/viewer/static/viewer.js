// SPY-Bench results viewer: plain JavaScript, no library. It asks the server (app.py) for every
// table and for one page of samples at a time; a static export (html_export.py) embeds the same
// answers in window.SPY_DATA and this file answers from them instead.
"use strict";

const STATIC = window.SPY_DATA || null;
const PAIR_KEYS = ["ics w/o scenario", "ics w/ non-conflict scenario"];
const ABSOLUTE = ["a12_semi_nudity", "a13_full_nudity", "a29_ausweis", "a31_passport", "a32_drivers_license"];
let META = null;
let samplePage = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

async function api(path, params) {
  const query = new URLSearchParams(params || {});
  if (STATIC) return staticAnswer(path, query);
  const response = await fetch(`api/${path}?${query}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function fmt(value) {
  return typeof value === "number" ? value.toFixed(1) : value === null || value === undefined ? "" : String(value);
}

function colour(score) {
  // red (0) through yellow to green (100), as the report's heatmaps
  const hue = Math.max(0, Math.min(100, score)) * 1.2;
  return `hsl(${hue}, 65%, 62%)`;
}

// ---------- tabs and URL state ----------
function showTab(name) {
  for (const section of document.querySelectorAll(".tab")) section.classList.toggle("active", section.id === name);
  for (const button of document.querySelectorAll("#tabs button")) button.classList.toggle("active", button.dataset.tab === name);
}

function go(tab, params) {
  const query = params ? new URLSearchParams(params).toString() : "";
  location.hash = query ? `${tab}?${query}` : tab;
}

async function route() {
  const [tab, query] = (location.hash.slice(1) || "leaderboard").split("?");
  showTab(tab);
  if (tab === "samples") {
    fillFilters(new URLSearchParams(query || ""));
    samplePage = Number(new URLSearchParams(query || "").get("page") || 0);
    await loadSamples();
  }
}

// ---------- leaderboard ----------
let leaderboardSort = null;

async function loadLeaderboard() {
  const data = await api("leaderboard");
  document.getElementById("source").textContent = data.work_dirs.join(", ");
  const table = document.getElementById("leaderboard-table");
  const rows = data.rows.slice();
  if (leaderboardSort) {
    const { column, direction } = leaderboardSort;
    const key = (row) => row.cells[column];
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      const nx = typeof x === "number", ny = typeof y === "number";
      if (nx && ny) return direction * (x - y);
      if (nx !== ny) return nx ? -1 : 1; // numbers before "N/A" and "missing"
      return direction * String(x).localeCompare(String(y));
    });
  }
  const head = el("tr", {}, data.columns.map((column) =>
    el("th", { onclick: () => { sortBy(column); } }, column + (leaderboardSort && leaderboardSort.column === column ? (leaderboardSort.direction > 0 ? " \u25b2" : " \u25bc") : ""))));
  const body = rows.map((row) => el("tr", { class: "clickable", "data-run": row.run, title: "open this result's samples", onclick: () => go("samples", { run: row.run }) },
    data.columns.map((column) => leaderboardCell(row, column))));
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, body));
  const notes = data.rows.flatMap((row) => row.notes.map((note) => `${row.cells.model} (${row.cells.dataset}): ${note}`));
  document.getElementById("leaderboard-notes").replaceChildren(...notes.map((note) => el("li", {}, note)));
}

function sortBy(column) {
  leaderboardSort = leaderboardSort && leaderboardSort.column === column
    ? { column, direction: -leaderboardSort.direction } : { column, direction: -1 };
  loadLeaderboard();
}

function leaderboardCell(row, column) {
  const value = row.cells[column];
  const text = ["model", "dataset", "judge", "evaluated", "latest attempt"].includes(column);
  const cell = el("td", { class: text ? "text" : "" }, fmt(value));
  if (value === "missing") cell.classList.add("missing");
  if (column === "judge" && String(value).endsWith("(INCOMPLETE)")) cell.classList.add("bad");
  if (column === "latest attempt" && value) cell.classList.add("bad");
  const interval = row.intervals[column];
  if (interval && typeof value === "number") cell.append(" ", el("span", { class: "ci" }, `[${fmt(interval[0])}, ${fmt(interval[1])}]`));
  return cell;
}

// ---------- heatmaps ----------
function heatTable(table, columns, runs, cells, columnName, click) {
  const head = el("tr", {}, el("th", {}, ""), columns.map((c) => el("th", { title: c.title || c.name }, c.name)));
  const body = runs.map((run, i) => el("tr", {},
    el("th", { class: "row", title: run.notes.join("\n") }, `${run.model} (${run.dataset})${run.notes.length ? " \u26a0" : ""}`),
    cells[i].map((cell, j) => heatCell(cell, () => click(run, columns[j]), `${run.model} (${run.dataset}), ${columns[j].name}`))));
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, body));
  table.dataset.columnName = columnName;
}

function heatCell(cell, click, where) {
  if (!cell || typeof cell.score !== "number") {
    return el("td", { class: "na", title: `${where}: N/A (nothing in scope)` }, "");
  }
  const counts = cell.all !== undefined ? ` (${cell.expected !== undefined ? cell.expected + " / " : ""}${cell.all})` : "";
  return el("td", { style: `background:${colour(cell.score)}`, title: `${where}: ${fmt(cell.score)}${counts}`, onclick: click },
    Math.round(cell.score));
}

async function loadHeatmap() {
  const metric = document.getElementById("heatmap-metric").value;
  const data = await api("heatmap", { metric });
  const columns = data.attributes.map((a) => ({ name: a.label + (a.absolute ? " \u2020" : ""), label: a.label }));
  heatTable(document.getElementById("heatmap"), columns, data.runs, data.cells, "attribute", (run, column) => {
    const params = { run: run.run, label: column.label };
    if (META.metrics.scopes.includes(metric)) params.metric = metric;
    go("samples", params);
  });
}

async function loadScenarios() {
  const metric = document.getElementById("scenario-metric").value;
  const data = await api("scenarios", { metric });
  const columns = data.scenarios.map((s) => ({ name: s, scenario: s }));
  heatTable(document.getElementById("scenario-heat"), columns, data.runs, data.cells, "scenario", (run, column) => {
    const params = { run: run.run, scenario: column.scenario };
    if (META.metrics.scopes.includes(metric)) params.metric = metric;
    go("samples", params);
  });
}

// ---------- compare ----------
async function loadCompare() {
  const a = document.getElementById("compare-a").value, b = document.getElementById("compare-b").value;
  const metric = document.getElementById("compare-metric").value;
  const table = document.getElementById("compare-table");
  if (a === "" || b === "") return;
  let data;
  try {
    data = await api("compare", { a, b, metric });
  } catch (err) {
    table.replaceChildren(el("tr", {}, el("td", { class: "text bad" }, err.message)));
    return;
  }
  document.getElementById("compare-notes").replaceChildren(...data.notes.map((n) => el("li", {}, n)));
  const [ra, rb] = data.runs;
  const head = el("tr", {}, ["attribute", `A: ${ra.model} (${ra.dataset})`, `B: ${rb.model} (${rb.dataset})`, "B \u2212 A", "95% interval", "items"].map((h) => el("th", {}, h)));
  const body = data.rows.map((row) => {
    const sure = typeof row.ci[0] === "number" && (row.ci[0] > 0 || row.ci[1] < 0);
    const params = { run: `${ra.run},${rb.run}`, metric };
    if (row.attribute !== "all attributes") params.label = row.attribute;
    return el("tr", { class: "clickable", onclick: () => go("samples", params) },
      el("td", { class: "text" }, row.attribute + (row.absolute ? " \u2020" : "")),
      el("td", {}, fmt(row.a)), el("td", {}, fmt(row.b)),
      el("td", { style: sure ? "font-weight:700" : "" }, typeof row.difference === "number" ? (row.difference > 0 ? "+" : "") + fmt(row.difference) : fmt(row.difference)),
      el("td", {}, `[${fmt(row.ci[0])}, ${fmt(row.ci[1])}]`), el("td", {}, row.items));
  });
  table.replaceChildren(el("thead", {}, head), el("tbody", {}, body));
}

// ---------- samples ----------
function options(select, values, labels) {
  select.replaceChildren(el("option", { value: "" }, "any"), ...values.map((v, i) => el("option", { value: v }, labels ? labels[i] : v)));
}

function fillFilters(params) {
  const form = document.getElementById("filters");
  for (const field of form.elements) {
    if (field.name) field.value = params.get(field.name) || "";
  }
}

function filterParams() {
  const params = {};
  for (const field of document.getElementById("filters").elements) {
    if (field.name && field.value !== "") params[field.name] = field.value;
  }
  return params;
}

async function loadSamples() {
  const params = { ...filterParams(), page: samplePage, size: 20 };
  const list = document.getElementById("sample-list");
  let data;
  try {
    data = await api("samples", params);
  } catch (err) {
    document.getElementById("sample-summary").textContent = err.message;
    list.replaceChildren();
    return;
  }
  const pages = Math.max(1, Math.ceil(data.total / data.size));
  let summary = STATIC ? `${data.total} of the samples embedded in this export` : `${data.total} samples`;
  if (STATIC && STATIC.samples.length === 0) summary += " (this export holds no samples: write it with --html-samples N)";
  if (data.summary) {
    const unit = PAIR_KEYS.includes(data.summary.metric) ? "pairs" : "samples";
    summary += `; ${data.summary.metric}: ${fmt(data.summary.score)} (${data.summary.expected} of ${data.summary.all} ${unit} as expected)`;
  }
  if (params.run) {
    const names = String(params.run).split(",").map((id) => META.runs[Number(id)]).filter(Boolean).map((r) => `${r.model} (${r.dataset})`);
    summary = `${names.join(" and ")}: ${summary}`;
  }
  document.getElementById("sample-summary").textContent = summary;
  document.getElementById("page-info").textContent = `page ${data.page + 1} of ${pages}`;
  document.getElementById("prev").disabled = data.page === 0;
  document.getElementById("next").disabled = data.page + 1 >= pages;
  list.replaceChildren(...data.rows.map(sampleItem));
  document.getElementById("sample-detail").replaceChildren();
}

function verdictBadge(row) {
  const state = row.correct === 1 ? "right" : row.correct === 0 ? "wrong" : "none";
  const expected = row.expected ? `expected ${row.expected}` : "not scored";
  return el("span", { class: `verdict ${state}`, title: expected }, `${row.verdict} (${expected})`);
}

function sampleItem(row) {
  const image = STATIC ? null : el("img", { src: `api/image/${row.id}?thumb=1`, loading: "lazy", alt: "" });
  const setting = row.scenario ? `${row.scenario} (${row.scenario_privacy === 1 ? "privacy" : "non-privacy"} scenario)` : "no scenario";
  const item = el("li", { "data-id": row.id, onclick: () => openSample(row.id, item) }, image,
    el("div", {},
      el("div", { class: "meta" }, `${row.model} \u00b7 ${row.dataset} \u00b7 #${row.index} \u00b7 ${row.label} \u00b7 ${setting} \u00b7 ${row.is_privacy ? "private" : "non-private"} \u00b7 judge ${row.judge}`),
      verdictBadge(row), " ", el("span", {}, row.answer)));
  return item;
}

async function openSample(id, item) {
  for (const li of document.querySelectorAll("#sample-list li")) li.classList.toggle("selected", li === item);
  const d = await api(`sample/${id}`);
  const parts = [
    el("h2", {}, `${d.model} \u00b7 ${d.dataset} \u00b7 sample ${d.index} (item ${d.benchmark_id})`),
    d.notes.length ? el("ul", { class: "notes" }, d.notes.map((n) => el("li", {}, n))) : null,
    el("p", {}, verdictBadge(d), ` judge: ${d.judge}`, d.pair ? ` \u00b7 ${d.pair}: pair ${d.pair_ok === 1 ? "consistent" : "inconsistent"}` : ""),
  ];
  if (!STATIC && d.image_path) {
    parts.push(el("a", { href: `api/image/${d.id}`, target: "_blank", title: "full size" }, el("img", { src: `api/image/${d.id}?thumb=1`, alt: d.image_path })));
  }
  if (d.prompt_problem) parts.push(el("p", { class: "bad" }, `Prompt and image unavailable: ${d.prompt_problem}`));
  if (d.prompt) parts.push(el("h3", {}, "Prompt the model got"), el("pre", { class: "prompt" }, d.prompt));
  parts.push(el("h3", {}, `Answer (verbatim, ${d.answer.length} characters)`), el("pre", { class: "answer" }, d.answer));
  if (d.turns) parts.push(el("h3", {}, "Self-moderation turns"), el("pre", {}, d.turns));
  parts.push(el("h3", {}, "Attribute and question"), el("pre", {}, `${d.label} (${d.attribute})\n${d.question}`));
  if (d.judge_output) parts.push(el("h3", {}, "Judge output"), el("pre", {}, d.judge_output));
  if (d.explain) parts.push(el("h3", {}, "Why (rule judge, spy-bench judge --explain)"), el("pre", { class: "explain" }, d.explain));
  if (d.file) parts.push(el("p", { class: "meta" }, `from ${d.file}`));
  document.getElementById("sample-detail").replaceChildren(...parts.filter(Boolean));
}

// ---------- static export: the same answers from embedded data ----------
function staticAnswer(path, query) {
  if (path === "meta" || path === "leaderboard") return STATIC[path];
  if (path === "heatmap") return STATIC.heatmap[query.get("metric")];
  if (path === "scenarios") return STATIC.scenarios[query.get("metric")];
  if (path.startsWith("sample/")) return STATIC.samples.find((s) => s.id === Number(path.slice(7)));
  if (path === "samples") return staticSamples(query);
  throw new Error("not in this export");
}

function staticSamples(query) {
  const is = (name, value) => !query.get(name) || query.get(name).split(",").includes(String(value));
  const settings = { plain: -1, privacy: 1, conflict: 0 };
  const metric = query.get("metric");
  const inScope = (s) => !metric || (PAIR_KEYS.includes(metric) ? s.pair === metric
    : s.verdict !== "exception" && (metric === "absolute privacy accuracy" ? ABSOLUTE.includes(s.label) : s.metric === metric));
  const right = (s) => PAIR_KEYS.includes(metric) ? s.pair_ok === 1 : s.correct === 1;
  const scored = (s) => PAIR_KEYS.includes(metric) ? s.pair_ok !== -1 : s.correct !== -1;
  const correct = query.get("correct");
  const text = (query.get("q") || "").toLowerCase();
  const rows = STATIC.samples.filter((s) => is("run", s.run) && is("model", s.model) && is("dataset", s.dataset) &&
    is("label", s.label) && is("scenario", s.scenario) && is("verdict", s.verdict) && is("judge", s.judge) &&
    is("expected", s.expected || "none") && is("is_privacy", s.is_privacy) &&
    (!query.get("setting") || settings[query.get("setting")] === s.scenario_privacy) && inScope(s) &&
    (!correct || (scored(s) && right(s) === (correct === "yes"))) && (!text || s.answer.toLowerCase().includes(text)));
  const size = Number(query.get("size") || 20), page = Number(query.get("page") || 0);
  return { total: rows.length, page, size, rows: rows.slice(page * size, (page + 1) * size) };
}

// ---------- start ----------
async function start() {
  META = await api("meta");
  const short = META.metrics.short;
  const metricOptions = (select, keys, chosen) => {
    select.replaceChildren(...keys.map((k) => el("option", { value: k }, `${short[k] || k} (${k})`)));
    select.value = chosen;
  };
  metricOptions(document.getElementById("heatmap-metric"), META.metrics.headline, "accuracy");
  metricOptions(document.getElementById("scenario-metric"), META.metrics.scenario, META.metrics.scenario[0]);
  metricOptions(document.getElementById("compare-metric"), META.metrics.compare, "accuracy");
  const runLabels = META.runs.map((r) => `${r.model} (${r.dataset})`);
  for (const [id, pick] of [["compare-a", 0], ["compare-b", 1]]) {
    const select = document.getElementById(id);
    select.replaceChildren(...META.runs.filter((r) => r.samples).map((r) => el("option", { value: r.run }, runLabels[r.run])));
    if (select.options.length > pick) select.selectedIndex = pick;
  }
  const form = document.getElementById("filters");
  options(form.elements.model, META.models);
  options(form.elements.dataset, META.datasets);
  options(form.elements.label, META.attributes);
  options(form.elements.scenario, META.scenarios);
  options(form.elements.judge, META.judges);
  options(form.elements.metric, META.metrics.scopes);
  if (STATIC) {
    document.querySelector('#tabs button[data-tab="compare"]').remove();
    document.querySelector('#tabs button[data-tab="scenarios"]').hidden = !STATIC.scenarios;
  }
  for (const button of document.querySelectorAll("#tabs button")) button.addEventListener("click", () => go(button.dataset.tab));
  document.getElementById("heatmap-metric").addEventListener("change", loadHeatmap);
  document.getElementById("scenario-metric").addEventListener("change", loadScenarios);
  for (const id of ["compare-a", "compare-b", "compare-metric"]) document.getElementById(id).addEventListener("change", loadCompare);
  form.addEventListener("submit", (event) => { event.preventDefault(); go("samples", filterParams()); });
  document.getElementById("clear").addEventListener("click", () => go("samples"));
  const turn = (step) => { samplePage += step; go("samples", { ...filterParams(), page: samplePage }); };
  document.getElementById("prev").addEventListener("click", () => turn(-1));
  document.getElementById("next").addEventListener("click", () => turn(1));
  window.addEventListener("hashchange", route);
  await Promise.all([loadLeaderboard(), loadHeatmap(), STATIC ? null : loadScenarios(), STATIC ? null : loadCompare()]);
  if (STATIC && STATIC.scenarios) await loadScenarios();
  await route();
  document.body.dataset.ready = "1";
}

start().catch((err) => {
  document.querySelector("main").prepend(el("p", { class: "bad" }, `The viewer could not load: ${err.message}`));
});
