/* foxden dashboard: helpers every page uses, and the two SVG charts (lines, bars). */
"use strict";

const fox = (() => {
  const SVG = "http://www.w3.org/2000/svg";
  const HOUR = 3600000;
  const DAY = 24 * HOUR;

  /** An element with attributes and children (strings become text). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c !== null && c !== undefined) node.append(c instanceof Node ? c : String(c));
    }
    return node;
  }

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) node.setAttribute(k, String(v));
    }
    for (const c of children.flat(Infinity)) {
      if (c !== null && c !== undefined) {
        node.append(c instanceof Node ? c : document.createTextNode(String(c)));
      }
    }
    return node;
  }

  class ApiError extends Error {
    constructor(errno, msg, detail) {
      super(detail ? `${msg} (${detail})` : msg);
      this.errno = errno;
    }
  }

  async function getJson(url, options) {
    const response = await fetch(url, options);
    const body = await response.json();
    return { status: response.status, body };
  }

  /** One read-only Open API operation, run by the server for the device's owner: its result. */
  async function call(endpoint, params) {
    const { body } = await getJson("/ui/api/call", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ endpoint, params }),
    });
    if (body.errno !== 0) throw new ApiError(body.errno, body.msg, body.detail);
    return body.result;
  }

  async function view(path) {
    const { body } = await getJson(path);
    if (body.errno !== undefined && body.errno !== 0) {
      throw new ApiError(body.errno, body.msg, body.detail);
    }
    return body.result !== undefined ? body.result : body;
  }

  let catalogue = null;
  /** Fault names by code and running states by code, from the protocol's catalogues. */
  async function catalogues() {
    if (!catalogue) catalogue = await view("/ui/api/catalogue");
    return catalogue;
  }

  const STATUS = { 1: ["online", "ok"], 2: ["fault", "bad"], 3: ["offline", "off"] };
  function statusBadge(status) {
    const [text, kind] = STATUS[status] || [`status ${status}`, "off"];
    return el("span", { class: `badge ${kind}`, text });
  }

  function num(value, digits) {
    if (typeof value !== "number" || !Number.isFinite(value)) return "–";
    return value.toFixed(digits === undefined ? 2 : digits);
  }

  /** ms since the epoch of a time the API writes: "2024-05-13 17:23:13 BST+0100". */
  function parseTime(text) {
    const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d).*?([+-])(\d\d)(\d\d)$/.exec(text || "");
    if (!m) return NaN;
    const utc = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
    const offset = (+m[8] * 60 + +m[9]) * 60000 * (m[7] === "-" ? 1 : -1);
    return utc + offset;
  }

  /** Offset of ``zone`` from UTC at instant ``ms``, in ms. */
  function zoneOffset(zone, ms) {
    const parts = {};
    const f = new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    });
    for (const p of f.formatToParts(new Date(ms))) parts[p.type] = p.value;
    const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour,
      +parts.minute, +parts.second);
    return asUtc - Math.floor(ms / 1000) * 1000;
  }

  /** The first instant of the local day y-m-d in ``zone`` (ms), as Python's zoneinfo says:
      local midnight; its first occurrence if the clocks repeat it; if they skip it, midnight
      read with the offset before the change (the instant the change happens). */
  function localMidnight(zone, y, m, d) {
    const wall = Date.UTC(y, m - 1, d);
    const before = zoneOffset(zone, wall - 2 * DAY), after = zoneOffset(zone, wall + 2 * DAY);
    const real = [wall - before, wall - after].filter((t) => t + zoneOffset(zone, t) === wall);
    return real.length ? Math.min(...real) : wall - before;
  }

  /** The local day y-m-d in ``zone``: its first instant, the next day's, and its length in
      hours (23, 24 or 25 on most DST days, 23.5 or 24.5 on Lord Howe Island). */
  function localDay(zone, y, m, d) {
    const next = new Date(Date.UTC(y, m - 1, d + 1));
    const begin = localMidnight(zone, y, m, d);
    const end = localMidnight(zone, next.getUTCFullYear(), next.getUTCMonth() + 1,
      next.getUTCDate());
    return { begin, end, hours: (end - begin) / HOUR };
  }

  /** ``[begin, end]`` cut into spans of at most 24 hours, as device/history takes them. */
  function historyWindows(begin, end) {
    const spans = [];
    for (let a = begin; a <= end; a += DAY + 1) spans.push([a, Math.min(a + DAY, end)]);
    return spans;
  }

  /** The wall-clock time of instant ``ms`` in ``zone``, as HH:MM. */
  function wallTime(zone, ms) {
    const shifted = new Date(ms + zoneOffset(zone, ms));
    return `${pad(shifted.getUTCHours())}:${pad(shifted.getUTCMinutes())}`;
  }

  /** {year, month, day} of instant ``ms`` in ``zone``. */
  function localDate(zone, ms) {
    const shifted = new Date(ms + zoneOffset(zone, ms));
    return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1,
             day: shifted.getUTCDate() };
  }

  function pad(n) { return String(n).padStart(2, "0"); }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = 10 ** Math.floor(Math.log10(value));
    for (const step of [1, 2, 5, 10]) if (step * power >= value) return step * power;
    return 10 * power;
  }

  function legend(series) {
    return el("ul", { class: "legend" }, series.map((s) =>
      el("li", {}, el("span", { style: `background:var(${s.color})`, "aria-hidden": "true" }),
        s.name)));
  }

  function frameSvg(label, width, height) {
    return svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label });
  }

  /** Drawing width: the figure's own, so text keeps its size on a phone (320-800). */
  function chartWidth(figure) {
    return Math.round(Math.max(320, Math.min(800, figure.clientWidth || 640)));
  }

  /** Lines over x (hours since the day began, 0 to ``xMax``): series [{name, color (css
      var), points [[x, y]]}]; ``tick(h)`` names the time ``h`` hours in (default HH:00). */
  function lineChart(figure, { title, unit, series, xMax = 24, yMin, yMax,
    tick = (h) => `${pad(h)}:00` }) {
    const W = chartWidth(figure), H = 240, L = 44, R = 22, T = 10, B = 26;
    const values = series.flatMap((s) => s.points.map((p) => p[1]));
    let lo = yMin !== undefined ? yMin : Math.min(0, ...values);
    let hi = yMax !== undefined ? yMax : niceMax(Math.max(0, ...values));
    if (lo < 0) lo = -niceMax(-lo);
    if (hi <= lo) hi = lo + 1;
    const x = (v) => L + (v / xMax) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo)) * (H - T - B);
    const chart = frameSvg(`${title}: chart`, W, H);
    for (let i = 0; i <= 5; i++) {
      const v = lo + ((hi - lo) * i) / 5;
      chart.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: y(v), y2: y(v) }),
        svg("text", { class: "tick", x: L - 4, y: y(v) + 4, "text-anchor": "end" },
          num(v, Math.abs(hi - lo) < 4 ? 1 : 0)));
    }
    for (let h = 0; h <= xMax; h += W < 500 ? 6 : 3) {
      chart.append(svg("text", { class: "tick", x: x(h), y: H - 8, "text-anchor": "middle" },
        tick(h)));
    }
    for (const s of series) {
      if (!s.points.length) continue;
      const d = s.points.map((p, i) => `${i ? "L" : "M"}${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`)
        .join("");
      chart.append(svg("path", { d, fill: "none", stroke: `var(${s.color})`, "stroke-width": 2 },
        svg("title", {}, s.name)));
    }
    const empty = !series.some((s) => s.points.length);
    figure.dataset.hours = String(xMax);
    figure.dataset.lastHour = empty ? ""
      : String(Math.max(...series.flatMap((s) => s.points.map((p) => p[0]))));
    figure.replaceChildren(
      el("figcaption", { text: `${title} (${unit})${empty ? " — no data for this day" : ""}` }),
      chart, legend(series));
  }

  /** Grouped bars: labels along x, series [{name, color, values}]. */
  function barChart(figure, { title, unit, labels, series }) {
    const W = chartWidth(figure), H = 240, L = 44, R = 22, T = 10, B = 26;
    const hi = niceMax(Math.max(0, ...series.flatMap((s) => s.values)));
    const slot = (W - L - R) / labels.length;
    const bar = Math.max(1, (slot * 0.8) / Math.max(1, series.length));
    const y = (v) => T + (1 - v / hi) * (H - T - B);
    const chart = frameSvg(`${title}: chart`, W, H);
    for (let i = 0; i <= 5; i++) {
      const v = (hi * i) / 5;
      chart.append(svg("line", { class: "axis", x1: L, x2: W - R, y1: y(v), y2: y(v) }),
        svg("text", { class: "tick", x: L - 4, y: y(v) + 4, "text-anchor": "end" },
          num(v, hi < 4 ? 1 : 0)));
    }
    const every = Math.ceil(labels.length / (W < 500 ? 8 : 16));
    labels.forEach((label, i) => {
      if (i % every === 0) {
        chart.append(svg("text", { class: "tick", x: L + slot * (i + 0.5), y: H - 8,
          "text-anchor": "middle" }, label));
      }
    });
    series.forEach((s, j) => {
      s.values.forEach((v, i) => {
        if (!(v > 0)) return;
        const x0 = L + slot * i + slot * 0.1 + bar * j;
        chart.append(svg("rect", { x: x0.toFixed(1), y: y(v).toFixed(1), width: bar.toFixed(1),
          height: (y(0) - y(v)).toFixed(1), fill: `var(${s.color})` },
          svg("title", {}, `${s.name} ${labels[i]}: ${num(v)} ${unit}`)));
      });
    });
    figure.replaceChildren(el("figcaption", { text: `${title} (${unit})` }), chart, legend(series));
  }

  function table(headers, rows, caption) {
    return el("table", {},
      caption ? el("caption", { text: caption }) : null,
      el("thead", {}, el("tr", {}, headers.map((h) =>
        el("th", { scope: "col", class: h.num ? "num" : null, text: h.text !== undefined ? h.text : h })))),
      el("tbody", {}, rows.map((r) => el("tr", {}, r.map((c, i) =>
        c instanceof Node ? el("td", {}, c)
          : el("td", { class: headers[i].num ? "num" : null, text: c }))))));
  }

  /** Call ``work`` now and every ``ms`` while the page is visible; errors go to ``onError``. */
  function every(ms, work, onError) {
    let busy = false;
    const tick = async () => {
      if (busy || document.hidden) return;
      busy = true;
      try { await work(); } catch (e) { if (onError) onError(e); } finally { busy = false; }
    };
    tick();
    return setInterval(tick, ms);
  }

  return { el, svg, call, view, getJson, catalogues, statusBadge, num, parseTime, zoneOffset,
           localMidnight, localDay, historyWindows, wallTime, localDate, pad, lineChart, barChart, table, every, ApiError };
})();
