/* The grid of the effective-access page, drawn from the JSON in #report-data (render_html.py: _Packer).
 *
 * data.accounts   [name, group index, environment, management 0|1], in column order (OU by OU)
 * data.groups     [OU path, label]: the OUs that hold accounts directly, one column group each
 * data.principals [id, kind index, name, description]; data.kinds: the section title of each kind
 * data.matrix     one string per principal, one digit per account: the index of its level in data.levels
 * data.cells      [principal, account, marks, change, ways in]; a way in is
 *                 [chain, level, status, reason, conditions, seat] (texts are indexes into data.strings)
 * data.seats      [grants, boundary, SCPs, [denies], [notes]]
 *
 * Only the rows and columns in view are drawn once the grid is large, so a page of 1,000 accounts
 * stays quick: the table keeps spacer rows and columns the size of what is not drawn.
 */
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("report-data").textContent);
  const S = D.strings;
  const LV = D.levels;
  const BADGES = [[1, "MFA"], [2, "ExternalId"], [4, "OIDC subject"], [8, "expires"]];
  const BLOCKED = 16;
  const $ = (id) => document.getElementById(id);
  const px = (name) => parseFloat(getComputedStyle(document.documentElement).getPropertyValue(name));
  const NAME_W = px("--name-w"), COL_W = px("--col-w"), ROW_H = px("--row-h");
  const HEAD_H = px("--group-h") + px("--acct-h");
  const FULL_UP_TO = 20000; // rows x columns drawn in full below this; above it only what is in view

  const accounts = D.accounts.map(([name, g, env, mgmt], i) => ({ i, name, g, env, mgmt: !!mgmt }));
  const groups = D.groups.map(([path, label], i) => ({ i, path, label, accts: [], open: D.open }));
  accounts.forEach((a) => groups[a.g].accts.push(a.i));
  const principals = D.principals.map(([id, kind, name, desc], i) => ({ i, id, kind, name, desc, row: D.matrix[i] }));
  const cells = new Map();
  D.cells.forEach((c) => cells.set(c[0] * accounts.length + c[1], c));
  const filter = { q: "", principal: "", account: "", ou: "", env: "", level: 0 };
  let columns = [], rows = [], full = true, scheduled = false;

  const esc = (t) => String(t).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  const lower = (t) => String(t).toLowerCase();
  const inOu = (a, ou) => ou === "/" || groups[a.g].path === ou || groups[a.g].path.startsWith(ou + "/");

  function visibleAccounts() {
    const q = lower(filter.q);
    let keep = accounts.filter((a) =>
      (!filter.account || a.name === filter.account) &&
      (!filter.ou || inOu(a, filter.ou)) &&
      (!filter.env || a.env === filter.env));
    let narrowed = !!filter.account;
    if (q) {
      // accounts by name first; the accounts of matching OUs when no name matches
      let hits = keep.filter((a) => lower(a.name).includes(q));
      if (!hits.length) hits = keep.filter((a) => lower(groups[a.g].path).includes(q));
      if (hits.length) { keep = hits; narrowed = true; }
    }
    return { keep, narrowed };
  }

  function layout() {
    const { keep, narrowed } = visibleAccounts();
    const shown = new Set(keep.map((a) => a.i));
    columns = [];
    for (const g of groups) {
      const accts = g.accts.filter((i) => shown.has(i));
      if (!accts.length) continue;
      if (g.open || narrowed) accts.forEach((i) => columns.push({ g, a: accounts[i] }));
      else columns.push({ g, accts });
    }
    const q = lower(filter.q);
    let ps = principals.filter((p) => !filter.principal || p.id === filter.principal);
    if (q) {
      const hits = ps.filter((p) => lower(p.name).includes(q) || lower(p.id).includes(q) || lower(p.desc).includes(q));
      if (hits.length) ps = hits;
    }
    if (filter.level) {
      const idx = keep.map((a) => a.i);
      ps = ps.filter((p) => idx.some((i) => +p.row[i] >= filter.level));
    }
    rows = [];
    let kind = -1;
    for (const p of ps) {
      if (p.kind !== kind) { kind = p.kind; rows.push({ section: D.kinds[kind] }); }
      rows.push({ p });
    }
    full = rows.length * columns.length <= FULL_UP_TO;
    // drawn in part, the grid's box cannot take its height from what it holds
    $("scroller").style.height = full ? "" : "calc(100vh - 24px)";
    const nAcc = columns.reduce((n, c) => n + (c.a ? 1 : c.accts.length), 0);
    $("status").textContent = `${ps.length} of ${principals.length} principals · ${nAcc} of ${accounts.length} accounts` +
      ` in ${columns.length} columns` + (columns.some((c) => !c.a) ? " · a folded OU shows the highest level and how many of its accounts reach it; click it to unfold" : "");
  }

  function cellHtml(p, col) {
    if (col.a) {
      const a = col.a, lv = +p.row[a.i], c = cells.get(p.i * accounts.length + a.i);
      const marks = c ? c[2] : 0, change = c ? c[3] : "";
      let cls = "lv lv-" + LV[lv], text = lv ? LV[lv] : "—";
      if (marks & BLOCKED) { cls += " blocked"; text = "blocked"; }
      if (marks & 15) cls += " cond";
      if (change) cls += " changed";
      if (filter.level && lv < filter.level) cls += " dim";
      const title = BADGES.filter(([bit]) => marks & bit).map(([, t]) => t).join(", ");
      return `<td class="${cls}" data-principal="${esc(p.id)}" data-account="${esc(a.name)}" data-level="${LV[lv]}"` +
        `${change ? ` data-change="${change}"` : ""} data-c="${a.i}" title="${esc(p.name)} in ${esc(a.name)}${title ? " · requires " + title : ""}">${text}</td>`;
    }
    let top = 0, n = 0, changed = false;
    for (const i of col.accts) {
      const lv = +p.row[i];
      if (lv > top) { top = lv; n = 1; } else if (lv === top) n++;
      const c = cells.get(p.i * accounts.length + i);
      if (c && c[3]) changed = true;
    }
    const text = top ? `${LV[top]} <span class="n">${n}/${col.accts.length}</span>` : "—";
    return `<td class="lv agg lv-${LV[top]}${changed ? " changed" : ""}${filter.level && top < filter.level ? " dim" : ""}" ` +
      `data-principal="${esc(p.id)}" data-group="${esc(col.g.path)}" data-level="${LV[top]}" data-count="${n}" data-g="${col.g.i}" ` +
      `title="${esc(p.name)}: ${LV[top]} in ${n} of the ${col.accts.length} accounts of ${esc(col.g.label)} · click to unfold">${text}</td>`;
  }

  function headHtml(c0, c1, left, right) {
    let gh = `<tr class="gh"><th class="corner" rowspan="2">principal<span class="hint">click a cell for its ways in</span></th>`;
    let ah = `<tr class="ah">`;
    if (left) { gh += `<th class="spacer" rowspan="2"></th>`; }
    for (let c = c0; c < c1;) {
      const g = columns[c].g;
      let span = 0;
      while (c + span < c1 && columns[c + span].g === g) span++;
      const folded = !columns[c].a;
      const count = g.accts.length;
      gh += `<th class="grp" colspan="${span}" data-group="${esc(g.path)}" data-g="${g.i}" title="${esc(g.path)} · ${count} account${count === 1 ? "" : "s"} · click to ${folded ? "unfold" : "fold"}">${folded ? "▸" : "▾"} ${esc(g.label.split("/").pop())}</th>`;
      for (let k = c; k < c + span; k++) {
        const col = columns[k];
        if (col.a) {
          const tag = col.a.mgmt ? "management" : col.a.env;
          ah += `<th data-account="${esc(col.a.name)}" title="${esc(col.a.name)} · ${esc(g.path)}">${esc(col.a.name)}<span class="env">${esc(tag || "—")}</span></th>`;
        } else {
          ah += `<th class="agg" data-group="${esc(g.path)}" data-g="${g.i}" title="${esc(g.path)}: ${col.accts.length} accounts, folded">${col.accts.length}<span class="env">account${col.accts.length === 1 ? "" : "s"}</span></th>`;
        }
      }
      c += span;
    }
    if (right) { gh += `<th class="spacer" rowspan="2"></th>`; }
    return `<thead>${gh}</tr>${ah}</tr></thead>`;
  }

  function render() {
    scheduled = false;
    const sc = $("scroller");
    let r0 = 0, r1 = rows.length, c0 = 0, c1 = columns.length;
    if (!full) {
      const extra = 6;
      r0 = Math.max(0, Math.floor((sc.scrollTop - HEAD_H) / ROW_H) - extra);
      r1 = Math.min(rows.length, Math.ceil((sc.scrollTop + sc.clientHeight) / ROW_H) + extra);
      c0 = Math.max(0, Math.floor((sc.scrollLeft - NAME_W) / COL_W) - 3);
      c1 = Math.min(columns.length, Math.ceil((sc.scrollLeft + sc.clientWidth) / COL_W) + 3);
    }
    const left = c0 * COL_W, right = (columns.length - c1) * COL_W;
    const width = NAME_W + columns.length * COL_W;
    let html = `<colgroup><col style="width:${NAME_W}px">` + (left ? `<col style="width:${left}px">` : "");
    // drawn in full, the account columns share whatever width the page has beyond their minimum
    for (let c = c0; c < c1; c++) html += full ? "<col>" : `<col style="width:${COL_W}px">`;
    html += (right ? `<col style="width:${right}px">` : "") + `</colgroup>`;
    html += headHtml(c0, c1, left, right) + "<tbody>";
    const span = c1 - c0 + 1 + (left ? 1 : 0) + (right ? 1 : 0);
    if (r0) html += `<tr style="height:${r0 * ROW_H}px"><td class="spacer" colspan="${span}"></td></tr>`;
    for (let r = r0; r < r1; r++) {
      const row = rows[r];
      if (row.section) {
        html += `<tr class="section"><th>${esc(row.section)}</th><td colspan="${span - 1}"></td></tr>`;
        continue;
      }
      const p = row.p;
      html += `<tr data-principal="${esc(p.id)}"><th title="${esc(p.desc || p.name)}">${esc(p.name)}${p.desc ? `<span class="pdesc">${esc(p.desc)}</span>` : ""}</th>`;
      if (left) html += `<td class="spacer"></td>`;
      for (let c = c0; c < c1; c++) html += cellHtml(p, columns[c]);
      if (right) html += `<td class="spacer"></td>`;
      html += "</tr>";
    }
    if (r1 < rows.length) html += `<tr style="height:${(rows.length - r1) * ROW_H}px"><td class="spacer" colspan="${span}"></td></tr>`;
    const table = $("matrix");
    table.style.width = full ? `max(100%, ${width}px)` : width + "px";
    table.innerHTML = html + "</tbody>";
  }

  function schedule() {
    if (!scheduled) { scheduled = true; requestAnimationFrame(render); }
  }

  function update() { layout(); render(); }

  function wayHtml(w) {
    const [chain, lv, status, reason, conds, seat] = w;
    const active = S[status] === "active";
    let html = `<div class="way${active ? "" : " inactive"}"><span class="chain">${esc(S[chain])}</span> <span class="pill ${LV[lv]}">${LV[lv]}</span>`;
    if (!active) html += `<div class="why">${esc(S[status])}: ${esc(S[reason])}</div>`;
    html += "<ul>";
    if (S[conds]) html += `<li>requires: ${esc(S[conds])}</li>`;
    if (active && seat >= 0) {
      const [grants, boundary, scps, denies, notes] = D.seats[seat];
      html += `<li>grants: ${esc(S[grants])}</li><li>boundary: ${esc(S[boundary])}</li>`;
      denies.forEach((d) => { html += `<li>denies: ${esc(S[d])}</li>`; });
      html += `<li>${esc(S[scps])}</li>`;
      notes.forEach((n) => { html += `<li>${esc(S[n])}</li>`; });
    }
    return html + "</ul></div>";
  }

  function drill(p, a) {
    const c = cells.get(p.i * accounts.length + a.i);
    const lv = +p.row[a.i];
    const ways = c ? c[4] : [];
    let html = `<button type="button" class="close" aria-label="close">✕</button>` +
      `<h2>${esc(p.name)} in ${esc(a.name)} <span class="pill ${LV[lv]}">${LV[lv]}</span></h2>` +
      `<p class="summary">${esc(p.id)} · account ${esc(a.name)} in ${esc(groups[a.g].path)}${a.mgmt ? " · management account: SCPs do not apply" : ""}` +
      `${c && c[3] ? ` · <span class="change-${c[3]}">${c[3]}</span>` : ""}</p>`;
    html += ways.length ? ways.map(wayHtml).join("") : `<p class="summary">No way in.</p>`;
    const panel = $("drill");
    panel.innerHTML = html;
    panel.hidden = false;
    panel.dataset.principal = p.id;
    panel.dataset.account = a.name;
  }

  function onGrid(ev) {
    const cell = ev.target.closest("[data-g], [data-c]");
    if (!cell) return;
    if (cell.dataset.g !== undefined) {
      const g = groups[+cell.dataset.g];
      g.open = !(g.open && cell.tagName === "TH" && cell.classList.contains("grp"));
      update();
      return;
    }
    const row = cell.closest("tr");
    const p = principals.find((x) => x.id === row.dataset.principal);
    if (p) drill(p, accounts[+cell.dataset.c]);
  }

  function options(id, items) {
    const select = $(id);
    const frag = document.createDocumentFragment();
    for (const [value, text] of items) frag.appendChild(new Option(text, value));
    select.appendChild(frag);
  }

  function bind() {
    options("f-principal", principals.map((p) => [p.id, p.name]));
    options("f-account", [...accounts].sort((x, y) => x.name.localeCompare(y.name)).map((a) => [a.name, a.name]));
    options("f-ou", D.ous.map((o) => [o, o === "/" ? "root (everything)" : o]));
    options("f-env", D.environments.map((e) => [e, e]));
    const fields = { "f-principal": "principal", "f-account": "account", "f-ou": "ou", "f-env": "env", "f-level": "level" };
    for (const [id, key] of Object.entries(fields)) {
      $(id).addEventListener("change", (ev) => { filter[key] = key === "level" ? +ev.target.value : ev.target.value; update(); });
    }
    $("f-search").addEventListener("input", (ev) => { filter.q = ev.target.value.trim(); update(); });
    $("f-expand").addEventListener("click", () => { groups.forEach((g) => { g.open = true; }); update(); });
    $("f-collapse").addEventListener("click", () => { groups.forEach((g) => { g.open = false; }); update(); });
    $("f-reset").addEventListener("click", () => {
      Object.assign(filter, { q: "", principal: "", account: "", ou: "", env: "", level: 0 });
      document.querySelectorAll("#filters select, #filters input").forEach((el) => { el.value = el.tagName === "INPUT" ? "" : el.options[0].value; });
      update();
    });
    $("matrix").addEventListener("click", onGrid);
    $("scroller").addEventListener("scroll", () => { if (!full) schedule(); }, { passive: true });
    window.addEventListener("resize", () => { if (!full) schedule(); });
    $("drill").addEventListener("click", (ev) => { if (ev.target.closest(".close")) { $("drill").hidden = true; } });
    document.addEventListener("keydown", (ev) => { if (ev.key === "Escape") $("drill").hidden = true; });
  }

  bind();
  update();
  performance.mark("grid-drawn"); // bench/report_html.py reads it
})();
