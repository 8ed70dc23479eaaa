// The experiments page: sort by a column, filter rows, compare two commits. No library, no fetch:
// the data is the JSON block in the page (#site-data), so it works from file:// as from a web server.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("site-data").textContent);
  const table = document.getElementById("experiments");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  const bySha = new Map(data.commits.map((c) => [c.s, c]));
  const SVG = "http://www.w3.org/2000/svg";

  function text(value) {
    if (value === null || value === undefined) return "–";
    if (typeof value === "number") return Number.isInteger(value) ? String(value) : value.toPrecision(4).replace(/\.?0+(e|$)/, "$1");
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  function element(tag, attributes, content) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([key, value]) => node.setAttribute(key, value));
    if (content !== undefined) node.textContent = content;
    return node;
  }

  // Sorting: text columns A→Z first, metric columns best first (their direction), a second click reverses.
  table.tHead.addEventListener("click", (event) => {
    const th = event.target.closest("th[data-sort]");
    if (!th) return;
    const kind = th.dataset.sort;
    const first = kind === "higher" ? "descending" : "ascending";
    const order = th.getAttribute("aria-sort") === first ? (first === "ascending" ? "descending" : "ascending") : first;
    table.tHead.querySelectorAll("th[aria-sort]").forEach((other) => other.removeAttribute("aria-sort"));
    th.setAttribute("aria-sort", order);
    const column = th.cellIndex;
    const key = (row) => {
      const cell = row.cells[column];
      if (kind === "text") return cell.textContent.trim().toLowerCase();
      return cell.dataset.v === undefined ? null : Number(cell.dataset.v);
    };
    rows.sort((a, b) => {
      const x = key(a), y = key(b);
      if (x === null || y === null) return (x === null) - (y === null);
      const c = x < y ? -1 : x > y ? 1 : 0;
      return order === "ascending" ? c : -c;
    });
    body.append(...rows);
  });

  // Filtering: by group (default branch, other branches, experiments) and by any text in the row.
  const search = document.getElementById("filter");
  const group = document.getElementById("group");
  const count = document.getElementById("count");
  function filter() {
    const query = search.value.trim().toLowerCase();
    let shown = 0;
    rows.forEach((row) => {
      const visible = (!group.value || row.dataset.group === group.value) &&
        (!query || row.textContent.toLowerCase().includes(query));
      row.hidden = !visible;
      shown += visible;
    });
    count.textContent = `${shown} of ${rows.length} commits`;
  }
  search.addEventListener("input", filter);
  group.addEventListener("change", filter);

  // Comparing: the two ticked commits (a third tick drops the oldest pick).
  const picked = [];
  const panel = document.getElementById("compare");
  body.addEventListener("change", (event) => {
    const box = event.target;
    if (!box.classList.contains("pick")) return;
    const sha = box.closest("tr").dataset.sha;
    const at = picked.indexOf(sha);
    if (box.checked && at < 0) picked.push(sha);
    if (!box.checked && at >= 0) picked.splice(at, 1);
    while (picked.length > 2) {
      const dropped = picked.shift();
      body.querySelector(`tr[data-sha="${dropped}"] input.pick`).checked = false;
    }
    compare();
  });

  function table_(headers, lines, id) {
    const result = element("table", { id });
    const head = result.createTHead().insertRow();
    headers.forEach((h) => head.append(element("th", {}, h)));
    const tbody = result.createTBody();
    lines.forEach((cells) => {
      const row = tbody.insertRow();
      cells.forEach(([value, cls]) => row.append(element("td", cls ? { class: cls } : {}, value)));
    });
    return result;
  }

  function chart(name, a, b) {
    const [title, xLabel, yLabel] = data.titles[name];
    const ys = [...a, ...b].filter((v) => v !== null);
    const unit = name !== "residuals";
    let low = unit ? 0 : Math.min(...ys), high = unit ? 1 : Math.max(...ys);
    if (high === low) { low -= 1; high += 1; }
    const w = 320, h = 240, l = 48, r = 10, t = 24, bm = 36;
    const sx = (i) => l + data.grid[i] * (w - l - r);
    const sy = (v) => t + (high - v) / (high - low) * (h - t - bm);
    const svg = document.createElementNS(SVG, "svg");
    const add = (tag, attributes, content) => {
      const node = document.createElementNS(SVG, tag);
      Object.entries(attributes).forEach(([key, value]) => node.setAttribute(key, value));
      if (content !== undefined) node.textContent = content;
      svg.append(node);
      return node;
    };
    Object.entries({ width: w, height: h, viewBox: `0 0 ${w} ${h}`, role: "img", "aria-label": title })
      .forEach(([key, value]) => svg.setAttribute(key, value));
    add("text", { x: w / 2, y: 14, "font-size": 12, "text-anchor": "middle" }, title);
    add("line", { x1: l, y1: h - bm, x2: w - r, y2: h - bm, stroke: "#999" });
    add("line", { x1: l, y1: t, x2: l, y2: h - bm, stroke: "#999" });
    [0, 0.5, 1].forEach((f) => {
      const v = low + f * (high - low);
      add("text", { x: l - 4, y: sy(v) + 3, "font-size": 10, "text-anchor": "end" }, text(v));
      add("text", { x: l + f * (w - l - r), y: h - bm + 13, "font-size": 10, "text-anchor": "middle" }, text(f));
    });
    add("text", { x: (l + w - r) / 2, y: h - 6, "font-size": 10, "text-anchor": "middle" }, xLabel);
    add("text", { x: 11, y: (t + h - bm) / 2, "font-size": 10, "text-anchor": "middle",
                  transform: `rotate(-90 11 ${(t + h - bm) / 2})` }, yLabel);
    [[a, "#8c8c8c"], [b, "#1f77b4"]].forEach(([values, colour]) => {
      const points = values.map((v, i) => (v === null ? null : `${sx(i).toFixed(1)},${sy(v).toFixed(1)}`))
        .filter((p) => p !== null).join(" ");
      add("polyline", { points, fill: "none", stroke: colour, "stroke-width": 2, class: "series" });
    });
    return svg;
  }

  function compare() {
    panel.replaceChildren();
    if (picked.length < 2) {
      panel.append(element("p", { class: "note" }, picked.length ?
        "Tick one more commit to compare." : "Tick two commits to compare their params, metrics and plots."));
      return;
    }
    const [a, b] = picked.map((sha) => bySha.get(sha));
    panel.append(element("h2", {}, `Comparing ${a.t} (A) with ${b.t} (B)`));
    const params = data.params.map((key, i) => [key, a.p[i], b.p[i]])
      .filter(([, x, y]) => JSON.stringify(x) !== JSON.stringify(y));
    panel.append(element("h3", {}, `Params that differ (${params.length})`));
    if (params.length) {
      panel.append(table_(["param", "A", "B"], params.map(([k, x, y]) => [[k], [text(x)], [text(y)]]), "params-diff"));
    } else {
      panel.append(element("p", { class: "note" }, "Same params."));
    }
    panel.append(element("h3", {}, "Metrics (B − A)"));
    const lines = data.metrics.map((name, i) => {
      const x = a.m[i], y = b.m[i];
      const delta = x === null || y === null ? null : y - x;
      const better = delta === null || delta === 0 ? "" : (delta > 0) === (data.directions[name] === "higher") ? "better" : "worse";
      const relative = delta !== null && x ? ` (${(100 * delta / Math.abs(x)).toFixed(2)}%)` : "";
      return [[name], [text(x), "n"], [text(y), "n"],
              [delta === null ? "–" : `${delta > 0 ? "+" : ""}${text(delta)}${relative}`, `n ${better}`], [better || "–", better]];
    });
    panel.append(table_(["metric", "A", "B", "change", "B is"], lines, "metric-deltas"));
    const plots = element("div", { class: "plots" });
    Object.keys(data.titles).forEach((name) => {
      if (name in a.c && name in b.c) plots.append(chart(name, data.curves[a.c[name]], data.curves[b.c[name]]));
    });
    if (plots.children.length) {
      const legend = element("p", { class: "legend note" });
      legend.innerHTML = '<span style="background:#8c8c8c"></span>A <span style="background:#1f77b4"></span>B';
      panel.append(element("h3", {}, "Plots, overlaid"), legend, plots);
    } else {
      panel.append(element("p", { class: "note" }, "No plot data (reports/plots) at one of the two commits."));
    }
  }

  // #compare=SHA,SHA (full or short) opens with those two ticked.
  const wanted = (location.hash.match(/compare=([0-9a-f,]+)/) || [])[1];
  if (wanted) {
    wanted.split(",").slice(0, 2).forEach((prefix) => {
      const row = rows.find((r) => r.dataset.sha.startsWith(prefix));
      if (row) { row.querySelector("input.pick").checked = true; picked.push(row.dataset.sha); }
    });
    compare();
  }
})();
