/* foxden device page: live power flow and values, day/month/year charts, settings,
   schedule and recent faults of one inverter. */
"use strict";

(() => {
  const { el, svg, num, pad } = fox;
  const root = document.getElementById("device");
  const sn = root.dataset.sn;
  const HOUR = 3600000;
  const POWER = [
    ["pvPower", "PV", "--pv"],
    ["loadsPower", "Load", "--load"],
    ["gridConsumptionPower", "Grid import", "--grid-in"],
    ["feedinPower", "Grid export", "--grid-out"],
    ["batChargePower", "Battery charge", "--bat-in"],
    ["batDischargePower", "Battery discharge", "--bat-out"],
  ];
  const ENERGY = [
    ["generation", "Generation", "--pv"],
    ["loads", "Load", "--load"],
    ["gridConsumption", "Grid import", "--grid-in"],
    ["feedin", "Grid export", "--grid-out"],
    ["chargeEnergyToTal", "Battery charge", "--bat-in"],
    ["dischargeEnergyToTal", "Battery discharge", "--bat-out"],
  ];
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
    "Dec"];
  let info = null;
  let today = null;
  const shown = { day: null, month: null, year: null };

  function problem(box, e) {
    box.replaceChildren(el("p", { class: "muted", text: e.message }));
  }

  // ---------------------------------------------------------------- live: flow, values

  function flowDiagram(values) {
    const v = (name) => (typeof values[name] === "number" ? values[name] : 0);
    const battery = "SoC" in values;
    const gridIn = v("gridConsumptionPower"), gridOut = v("feedinPower");
    const batIn = v("batChargePower"), batOut = v("batDischargePower");
    const nodes = [
      { key: "pv", label: "PV", x: 160, y: 60, kw: v("pvPower"), inward: true },
      { key: "grid", label: gridOut > gridIn ? "Grid (export)" : "Grid (import)", x: 46, y: 150,
        kw: Math.max(gridIn, gridOut), inward: gridIn >= gridOut },
      { key: "house", label: "House", x: 274, y: 150, kw: v("loadsPower"), inward: false },
    ];
    if (battery) {
      nodes.push({ key: "battery", label: `Battery ${num(values.SoC, 0)} %`, x: 160, y: 240,
        kw: Math.max(batIn, batOut), inward: batOut > batIn });
    }
    const c = { x: 160, y: 150 };
    const chart = svg("svg", { viewBox: "0 0 320 300", role: "img",
      "aria-label": nodes.map((n) => `${n.label}: ${num(n.kw)} kW ${n.kw > 0.005
        ? (n.inward ? "into" : "out of") + " the inverter" : ""}`).join("; ") });
    for (const n of nodes) {
      const live = n.kw > 0.005;
      const [a, b] = n.inward ? [n, c] : [c, n];
      chart.append(svg("path", { class: `wire${live ? " live" : ""}`, "data-wire": n.key,
        d: `M${a.x},${a.y} L${b.x},${b.y}`, style: live ? "stroke:var(--accent)" : null }));
    }
    chart.append(svg("rect", { class: "node", x: c.x - 30, y: c.y - 18, width: 60, height: 36,
      rx: 6 }), svg("text", { x: c.x, y: c.y + 4, "text-anchor": "middle" }, "Inverter"));
    for (const n of nodes) {
      chart.append(svg("circle", { class: "node", cx: n.x, cy: n.y, r: 30 }),
        svg("text", { class: "kw", x: n.x, y: n.y + 2, "text-anchor": "middle",
          "data-flow": n.key }, `${num(n.kw)} kW`),
        svg("text", { class: "label", x: n.x, y: n.y + (n.y > c.y ? 46 : -38),
          "text-anchor": "middle" }, n.label));
    }
    return chart;
  }

  async function live() {
    const [real] = await fox.call("device.real_v0", { sn });
    const cat = await fox.catalogues();
    const values = {};
    for (const d of real.datas) values[d.variable] = d.value;
    document.getElementById("flow").replaceChildren(flowDiagram(values));
    document.getElementById("flow-time").textContent = real.time
      ? `Sample of ${real.time}` : "No sample yet.";
    const running = cat.runningState[values.runningState] || values.runningState || "";
    const status = document.getElementById("device-status");
    if (values.currentFault) {
      const codes = String(values.currentFault).split(",");
      status.textContent = `Fault ${codes.map((c) => `${c}: ${cat.faults[c] || "unknown"}`)
        .join(", ")} (${running})`;
      status.className = "status bad";
    } else {
      status.textContent = running ? `Running state: ${running}` : "No data yet.";
      status.className = "status";
    }
    document.getElementById("values").replaceChildren(fox.table(
      [{ text: "Variable" }, { text: "Name" }, { text: "Value", num: true }, { text: "Unit" }],
      real.datas.map((d) => [d.variable, d.name,
        typeof d.value === "number" ? String(d.value) : d.value, d.unit || ""])));
  }

  // ---------------------------------------------------------------- faults of the last day

  async function faults() {
    const box = document.getElementById("faults");
    const now = (await fox.view(`/ui/api/devices/${encodeURIComponent(sn)}`)).now_ms;
    const cat = await fox.catalogues();
    const [history] = await fox.call("device.history",
      { sn, begin: now - 24 * HOUR, end: now, variables: ["currentFault"] });
    const points = history.datas.length ? history.datas[0].data : [];
    const episodes = [];
    let open = null;
    for (const p of points) {
      const code = p.value === "" ? "" : String(p.value);
      if (open && open.code !== code) { open.end = p.time; episodes.push(open); open = null; }
      if (code && !open) open = { code, start: p.time, end: "" };
    }
    if (open) episodes.push(open);
    box.replaceChildren(episodes.length
      ? fox.table([{ text: "Fault" }, { text: "From" }, { text: "Until" }],
        episodes.reverse().map((e) => [
          e.code.split(",").map((c) => `${c} ${cat.faults[c] || ""}`).join(", "),
          e.start, e.end || "still on"]), "Faults in the last 24 hours")
      : el("p", { class: "muted", text: "No faults in the last 24 hours." }));
  }

  // ---------------------------------------------------------------- charts

  async function dayCharts() {
    const { year, month, day } = shown.day;
    const zone = info.ianaTimezone;
    const { begin, end, hours } = fox.localDay(zone, year, month, day);
    document.getElementById("day-pick").value = `${year}-${pad(month)}-${pad(day)}`;
    // a 25-hour day takes two calls: device/history answers at most 24 hours at a time
    const variables = [...POWER.map((p) => p[0]), "SoC"];
    const byName = {};
    for (const [from, to] of fox.historyWindows(begin, end)) {
      const [history] = await fox.call("device.history", { sn, begin: from, end: to, variables });
      for (const d of history.datas) {
        const points = d.data.map((p) => [(fox.parseTime(p.time) - begin) / HOUR, p.value])
          .filter((p) => p[0] >= 0 && p[0] <= hours && typeof p[1] === "number");
        byName[d.variable] = (byName[d.variable] || []).concat(points);
      }
    }
    const tick = (h) => fox.wallTime(zone, begin + h * HOUR);
    const label = `${year}-${pad(month)}-${pad(day)}`;
    const length = hours === 24 ? "" : ` (${hours} hours: the clocks change)`;
    fox.lineChart(document.getElementById("chart-power"), {
      title: `Power flows on ${label}${length}`, unit: "kW", xMax: hours, tick,
      series: POWER.filter((p) => p[0] in byName)
        .map(([key, name, color]) => ({ name, color, points: byName[key] })) });
    const soc = document.getElementById("chart-soc");
    if ("SoC" in byName) {
      fox.lineChart(soc, { title: `Battery state of charge on ${label}${length}`, unit: "%",
        xMax: hours, tick, yMin: 0, yMax: 100,
        series: [{ name: "SoC", color: "--soc", points: byName.SoC }] });
    } else {
      soc.replaceChildren(el("figcaption", { text: "No battery: no state of charge." }));
    }
  }

  async function report(dimension, figure, params, labels, title) {
    const result = await fox.call("device.report", { sn, dimension, ...params,
      variables: ENERGY.map((e) => e[0]) });
    const byName = Object.fromEntries(result.map((r) => [r.variable, r.values]));
    fox.barChart(figure, { title, unit: "kWh", labels: labels(result[0].values.length),
      series: ENERGY.filter((e) => e[0] in byName)
        .map(([key, name, color]) => ({ name, color, values: byName[key] })) });
  }

  async function monthChart() {
    const { year, month } = shown.month;
    document.getElementById("month-pick").value = `${year}-${pad(month)}`;
    await report("month", document.getElementById("chart-month"), { year, month },
      (n) => Array.from({ length: n }, (_, i) => String(i + 1)),
      `Energy per day in ${MONTHS[month - 1]} ${year}`);
  }

  async function yearChart() {
    const { year } = shown.year;
    document.getElementById("year-pick").value = String(year);
    await report("year", document.getElementById("chart-year"), { year },
      (n) => MONTHS.slice(0, n), `Energy per month in ${year}`);
  }

  const draw = { day: dayCharts, month: monthChart, year: yearChart };
  const figures = { day: "chart-power", month: "chart-month", year: "chart-year" };

  function redraw(which) {
    draw[which]().catch((e) => problem(document.getElementById(figures[which]), e));
  }

  function move(which, step) {
    const s = shown[which];
    if (which === "day") {
      const d = new Date(Date.UTC(s.year, s.month - 1, s.day + step));
      shown.day = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
    } else if (which === "month") {
      const d = new Date(Date.UTC(s.year, s.month - 1 + step, 1));
      shown.month = { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1 };
    } else {
      shown.year = { year: Math.min(2100, Math.max(2020, s.year + step)) };
    }
    redraw(which);
  }

  function wireNavigation() {
    for (const nav of document.querySelectorAll(".chart-nav")) {
      for (const b of nav.querySelectorAll("button")) {
        b.addEventListener("click", () => move(nav.dataset.chart, Number(b.dataset.step)));
      }
    }
    document.getElementById("day-pick").addEventListener("change", (e) => {
      const [y, m, d] = e.target.value.split("-").map(Number);
      if (y && m && d) { shown.day = { year: y, month: m, day: d }; redraw("day"); }
    });
    document.getElementById("month-pick").addEventListener("change", (e) => {
      const [y, m] = e.target.value.split("-").map(Number);
      if (y && m) { shown.month = { year: y, month: m }; redraw("month"); }
    });
    document.getElementById("year-pick").addEventListener("change", (e) => {
      const y = Number(e.target.value);
      if (y >= 2020 && y <= 2100) { shown.year = { year: y }; redraw("year"); }
    });
  }

  // ---------------------------------------------------------------- settings and schedule

  async function settings() {
    const items = await fox.view(`/ui/api/devices/${encodeURIComponent(sn)}/settings`);
    document.getElementById("settings").replaceChildren(fox.table(
      [{ text: "Setting" }, { text: "Value", num: true }, { text: "Unit" }],
      items.map((i) => i.errno === 0 ? [i.key, i.value.value, i.value.unit]
        : [i.key, `not readable (errno ${i.errno})`, ""])));
  }

  function time(h, m) { return `${pad(h)}:${pad(m)}`; }

  async function schedule() {
    const box = document.getElementById("schedule");
    const parts = [];
    try {
      const flag = await fox.call("scheduler.get_flag", { deviceSN: sn });
      const info = await fox.call("scheduler.get_v1", { deviceSN: sn });
      const groups = info.groups.filter((g) => g.workMode !== "Invalid");
      parts.push(el("p", { text: `Scheduler ${flag.enable ? "on" : "off"}` +
        `${flag.support ? "" : " (not supported)"}; ${groups.length} group(s) set.` }));
      if (groups.length) {
        parts.push(fox.table([{ text: "On" }, { text: "From" }, { text: "To" },
          { text: "Work mode" }, { text: "Min SoC on grid", num: true },
          { text: "Discharge SoC", num: true }, { text: "Discharge W", num: true }],
        groups.map((g) => [g.enable ? "yes" : "no", time(g.startHour, g.startMinute),
          time(g.endHour, g.endMinute), g.workMode, String(g.minSocOnGrid), String(g.fdSoc),
          String(g.fdPwr)]), "Scheduler groups"));
      }
    } catch (e) {
      parts.push(el("p", { class: "muted", text: `Scheduler: ${e.message}` }));
    }
    try {
      const times = await fox.call("battery.charge_times_get", { sn });
      parts.push(fox.table([{ text: "Period" }, { text: "On" }, { text: "From" }, { text: "To" }],
        [1, 2].map((i) => [String(i), times[`enable${i}`] ? "yes" : "no",
          time(times[`startTime${i}`].hour, times[`startTime${i}`].minute),
          time(times[`endTime${i}`].hour, times[`endTime${i}`].minute)]),
        "Forced charge periods"));
    } catch (e) {
      parts.push(el("p", { class: "muted", text: `Forced charge periods: ${e.message}` }));
    }
    box.replaceChildren(...parts);
  }

  // ---------------------------------------------------------------- start

  async function start() {
    try {
      info = await fox.view(`/ui/api/devices/${encodeURIComponent(sn)}`);
    } catch (e) {
      document.getElementById("device-status").textContent = e.message;
      return;
    }
    document.getElementById("device-place").textContent =
      `${info.model} · ${info.stationName || "in no plant"} · ${info.ianaTimezone} · ` +
      `account ${info.account}`;
    today = fox.localDate(info.ianaTimezone, info.now_ms);
    shown.day = { ...today };
    shown.month = { year: today.year, month: today.month };
    shown.year = { year: today.year };
    wireNavigation();
    fox.every(5000, live, (e) => problem(document.getElementById("flow"), e));
    fox.every(30000, faults, (e) => problem(document.getElementById("faults"), e));
    redraw("day");
    redraw("month");
    redraw("year");
    settings().catch((e) => problem(document.getElementById("settings"), e));
    schedule().catch((e) => problem(document.getElementById("schedule"), e));
  }

  start();
})();
