/* foxden overview: every plant with its inverters, refreshed every few seconds. */
"use strict";

(() => {
  const { el, num } = fox;
  const plantsBox = document.getElementById("plants");
  const when = document.getElementById("fleet-time");

  function kw(values, name) {
    return name in values ? `${num(values[name])} kW` : "–";
  }

  function grid(values) {
    const imported = values.gridConsumptionPower || 0;
    const exported = values.feedinPower || 0;
    if (!("gridConsumptionPower" in values)) return "–";
    return exported > imported ? `${num(exported)} kW out` : `${num(imported)} kW in`;
  }

  function inverter(d) {
    const v = d.values;
    const rows = [
      ["PV", kw(v, "pvPower"), "pv"],
      ["Battery", d.hasBattery && "SoC" in v ? `${num(v.SoC, 0)} %` : "–", "soc"],
      ["Grid", grid(v), "grid"],
      ["Load", kw(v, "loadsPower"), "load"],
      ["Today", `${num(d.todayGeneration)} kWh`, "today"],
    ];
    const fault = v.currentFault ? el("p", { class: "status bad", text: `Fault ${v.currentFault}` })
      : null;
    return el("li", { class: "inverter", "data-sn": d.deviceSN },
      el("h4", { style: "margin:0" }, el("a", { href: `/devices/${encodeURIComponent(d.deviceSN)}`,
        class: "sn", text: d.deviceSN })),
      el("p", { style: "margin:.2rem 0" }, `${d.deviceType} `, fox.statusBadge(d.status)),
      fault,
      el("dl", {}, rows.map(([k, value, key]) => [el("dt", { text: k }),
        el("dd", { "data-value": key, text: value })])));
  }

  function render(fleet) {
    const sections = fleet.plants.map((p) =>
      el("section", { class: "card plant", "data-station": p.stationID || "none",
        "aria-label": p.name || "Inverters in no plant" },
        el("h3", {}, p.name || "In no plant"),
        el("p", { class: "muted", style: "margin:0 0 .5rem" },
          `${p.ianaTimezone || "no time zone"} · account ${p.account} · ${p.devices.length} ` +
          `inverter${p.devices.length === 1 ? "" : "s"}`),
        p.devices.length
          ? el("ul", { class: "inverters" }, p.devices.map(inverter))
          : el("p", { class: "muted", text: "No inverters." })));
    plantsBox.replaceChildren(...(sections.length ? sections
      : [el("p", { text: "No plants yet: create an account and a plant (foxden --help)." })]));
    when.textContent = `Fleet time ${new Date(fleet.now_ms).toISOString().replace("T", " ")
      .slice(0, 19)} UTC · updates every 5 s`;
  }

  fox.every(5000, async () => render(await fox.view("/ui/api/fleet")),
    (e) => { when.textContent = `Could not load the fleet: ${e.message}`; });
})();
