/* foxden admin page: sign in with the admin token (kept in this tab's sessionStorage), then
   the clock, faults, chaos rules, the request journal and accounts, all over /admin. */
"use strict";

(() => {
  const { el } = fox;
  const KEY = "foxden-admin-token";
  const $ = (id) => document.getElementById(id);
  const hasFleet = Boolean($("clock-h"));
  let timers = [];

  class AdminError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function admin(method, path, body) {
    const headers = { Authorization: `Bearer ${sessionStorage.getItem(KEY) || ""}` };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers,
      body: body === undefined ? undefined : JSON.stringify(body) });
    const answer = await response.json();
    if (response.status >= 400) {
      if (response.status === 401) signOut("The admin token was refused.");
      throw new AdminError(response.status, answer.error || `HTTP ${response.status}`);
    }
    return answer;
  }

  function say(text, bad) {
    const box = $("admin-msg");
    box.textContent = text;
    box.className = bad ? "error" : "";
  }

  function act(work) {
    return async (event) => {
      if (event) event.preventDefault();
      try { await work(event); } catch (e) { say(e.message, true); }
    };
  }

  // ---------------------------------------------------------------- clock

  function utc(ms) { return new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC"; }

  async function clock() {
    const c = await admin("GET", "/admin/clock");
    $("clock-now").textContent = `Simulated time ${utc(c.now_ms)}, speed ${c.speed}×`;
    const speed = document.querySelector("#clock-speed input");
    if (document.activeElement !== speed) speed.value = String(c.speed);
  }

  // ---------------------------------------------------------------- faults

  async function faultForm() {
    const [fleet, cat] = await Promise.all([fox.view("/ui/api/fleet"), fox.catalogues()]);
    const sns = $("fault-form").elements.sn;
    sns.replaceChildren(...fleet.plants.flatMap((p) => p.devices.map((d) =>
      el("option", { value: d.deviceSN, text: `${d.deviceSN} (${d.deviceType}, ${p.name ||
        "no plant"})` }))));
    const codes = $("fault-form").elements.code;
    codes.replaceChildren(...Object.entries(cat.faults).map(([code, name]) =>
      el("option", { value: code, text: `${code} ${name}` })));
    faultList(fleet);
  }

  function faultList(fleet) {
    const rows = fleet.plants.flatMap((p) => p.devices.filter((d) => d.values.currentFault)
      .map((d) => [d.deviceSN, String(d.values.currentFault),
        el("button", { type: "button", class: "plain", "data-clear": d.deviceSN,
          text: "Clear" })]));
    $("fault-list").replaceChildren(rows.length
      ? fox.table([{ text: "Inverter" }, { text: "Fault" }, { text: "Action" }], rows,
        "Inverters in fault")
      : el("p", { class: "muted", text: "No inverter is in fault." }));
  }

  async function faults() { faultList(await fox.view("/ui/api/fleet")); }

  // ---------------------------------------------------------------- chaos and journal

  async function chaos() {
    const { rules } = await admin("GET", "/admin/chaos");
    $("chaos-list").replaceChildren(rules.length
      ? fox.table([{ text: "Id" }, { text: "Matches" }, { text: "Answer" }, { text: "Hits",
        num: true }, { text: "Action" }],
      rules.map((r) => [String(r.id), JSON.stringify(r.match || {}),
        r.errno ? `errno ${r.errno}` : r.status ? `HTTP ${r.status}` : r.drop ? "drop"
          : r.timeout ? "timeout" : `delay ${r.delay_ms} ms`, String(r.hits ?? ""),
        el("button", { type: "button", class: "plain", "data-rule": r.id, text: "Remove" })]),
      "Chaos rules")
      : el("p", { class: "muted", text: "No chaos rules." }));
  }

  async function journal() {
    const { requests } = await admin("GET", "/admin/requests?limit=25");
    $("journal").replaceChildren(requests.length
      ? fox.table([{ text: "Time (UTC)" }, { text: "Method" }, { text: "Path" },
        { text: "Account" }, { text: "errno", num: true }, { text: "ms", num: true }],
      requests.slice().reverse().map((r) => [
        typeof r.time_ms === "number" ? utc(r.time_ms).slice(11, 19) : String(r.time || ""),
        r.method, r.path, r.account || "", String(r.errno ?? ""),
        typeof r.latency_ms === "number" ? r.latency_ms.toFixed(1) : ""]))
      : el("p", { class: "muted", text: "No calls yet." }));
  }

  // ---------------------------------------------------------------- accounts

  async function accounts() {
    const listing = await admin("GET", "/admin/accounts");
    $("accounts").replaceChildren(fox.table([{ text: "Account" }, { text: "Inverters",
      num: true }, { text: "Calls today", num: true }, { text: "Quota", num: true },
    { text: "Action" }], listing.accounts.map((a) => [a.name, String(a.devices),
      String(a.used_today), String(a.quota),
      el("button", { type: "button", class: "plain", "data-rotate": a.name,
        text: "New key" })])));
  }

  function showKey(answer, what) {
    $("new-key").replaceChildren(el("p", {}, `${what} ${answer.name}. Its API key, shown this `
      + "once only: ", el("code", { "data-key": answer.name, text: answer.key })));
  }

  // ---------------------------------------------------------------- wiring

  function start() {
    $("signin").hidden = true;
    $("panels").hidden = false;
    const refresh = [[3000, journal], [5000, chaos], [15000, accounts]];
    if (hasFleet) refresh.push([2000, clock], [5000, faults]);
    timers = refresh.map(([ms, work]) => fox.every(ms, work, (e) => say(e.message, true)));
    if (hasFleet) faultForm().catch((e) => say(e.message, true));
  }

  function signOut(reason) {
    sessionStorage.removeItem(KEY);
    timers.forEach(clearInterval);
    timers = [];
    $("panels").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = reason || "";
  }

  $("signin").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = event.target.elements.token.value.trim();
    sessionStorage.setItem(KEY, token);
    try {
      await admin("GET", "/admin/chaos");
    } catch (e) {
      signOut(e.status === 401 ? "That is not the admin token." : e.message);
      return;
    }
    event.target.reset();
    $("signin-error").textContent = "";
    start();
  });
  $("signout").addEventListener("click", () => signOut("Signed out."));

  if (hasFleet) {
    $("clock-speed").addEventListener("submit", act(async (e) => {
      await admin("POST", "/admin/clock", { speed: Number(e.target.elements.speed.value) });
      say("Speed set."); await clock();
    }));
    $("clock-jump").addEventListener("submit", act(async (e) => {
      const ms = Date.parse(`${e.target.elements.when.value}Z`);
      const answer = await admin("POST", "/admin/clock", { now_ms: ms });
      say(answer.job ? "Moving the clock in the background." : "Clock moved."); await clock();
    }));
    $("clock-advance").addEventListener("submit", act(async (e) => {
      await admin("POST", "/admin/clock", { advance_ms: Number(e.target.elements.advance.value) });
      say("Clock advanced."); await clock();
    }));
    $("clock-step").addEventListener("click", act(async () => {
      const answer = await admin("POST", "/admin/step");
      say(`Stepped: ${answer.samples} samples.`); await clock();
    }));
    $("fault-form").addEventListener("submit", act(async (e) => {
      const f = e.target.elements;
      const body = { sn: f.sn.value, code: Number(f.code.value) };
      if (f.minutes.value) body.duration_ms = Number(f.minutes.value) * 60000;
      await admin("POST", "/admin/faults", body);
      say(`Fault ${body.code} injected into ${body.sn}.`); await faults();
    }));
    $("fault-list").addEventListener("click", act(async (e) => {
      const sn = e.target.dataset && e.target.dataset.clear;
      if (!sn) return;
      await admin("DELETE", `/admin/faults/${encodeURIComponent(sn)}`);
      say(`Fault of ${sn} cleared.`); await faults();
    }));
  }
  $("chaos-form").addEventListener("submit", act(async (e) => {
    const f = e.target.elements;
    const rule = { match: f.path.value ? { path: f.path.value } : {} };
    if (f.errno.value) rule.errno = Number(f.errno.value);
    if (f.count.value) rule.count = Number(f.count.value);
    const added = await admin("POST", "/admin/chaos", rule);
    say(`Chaos rule ${added.id} added.`); await chaos();
  }));
  $("chaos-list").addEventListener("click", act(async (e) => {
    const id = e.target.dataset && e.target.dataset.rule;
    if (!id) return;
    await admin("DELETE", `/admin/chaos/${id}`);
    say(`Chaos rule ${id} removed.`); await chaos();
  }));
  $("account-form").addEventListener("submit", act(async (e) => {
    const answer = await admin("POST", "/admin/accounts", { name: e.target.elements.name.value });
    showKey(answer, "Created account"); e.target.reset(); await accounts();
  }));
  $("accounts").addEventListener("click", act(async (e) => {
    const name = e.target.dataset && e.target.dataset.rotate;
    if (!name) return;
    const answer = await admin("POST", `/admin/accounts/${encodeURIComponent(name)}/key`);
    showKey(answer, "New key for"); await accounts();
  }));

  if (sessionStorage.getItem(KEY)) {
    admin("GET", "/admin/chaos").then(start, () => signOut(""));
  }
})();
