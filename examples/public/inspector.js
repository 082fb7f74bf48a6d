// The inspector page: draws the machines once, then follows the /inspect feed (one snapshot per
// beat of the demo's Doist) and shows it. Plain DOM, no framework.

const $ = (id) => document.getElementById(id);
const machines = ["steward", "requestant", "responder"];
let selected = null; // the connection followed in the diagrams (its id), or null: the first one shown
let drawn = false; // the diagrams are in the page

/** An element with attributes and children (strings become text: nothing is parsed as HTML). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) if (value !== null && value !== undefined) node.setAttribute(name, value);
  for (const child of children) node.append(child);
  return node;
}

const fixed = (value, digits = 3) => (typeof value === "number" ? value.toFixed(digits) : "–");

/** A transition as a short line: "1.250 steward waiting -request.parsed-> responding". */
function transitionLine(t) {
  return el("li", { class: t.machine }, el("span", { class: "tyme" }, fixed(t.tyme)), ` ${t.machine} `, el("b", {}, t.from), ` ‹${t.event}› `, el("b", {}, t.to));
}

function transitionList(transitions) {
  const list = el("ol", { class: "transitions" });
  for (const t of [...transitions].reverse()) list.append(transitionLine(t));
  return list;
}

/** The deed tree as nested lists: name, tock, next retyme. */
function deedItems(deeds) {
  return deeds.map((deed) => {
    const item = el("li", {}, el("span", { class: "name" }, deed.name), " ", el("span", { class: "tock" }, `tock ${deed.tock === 0 ? "0 (every tick)" : fixed(deed.tock, 4)}`), " ", el("span", { class: "retyme" }, `retyme ${fixed(deed.retyme)}`));
    if (deed.deeds) item.append(el("ul", {}, ...deedItems(deed.deeds)));
    return item;
  });
}

function showStats(s) {
  $("tyme").textContent = fixed(s.tyme);
  $("ticks").textContent = String(s.ticks.total);
  $("tps").textContent = s.ticks.perSecond.toFixed(0);
  $("longest").textContent = `${s.ticks.longest.toFixed(2)} ms (max ${s.ticks.longestEver.toFixed(2)} ms)`;
  $("busy").textContent = `${(s.ticks.busy * 100).toFixed(2)} %`;
  $("snapshot").textContent = `${s.snapshot.toFixed(2)} ms`;
  $("requests").textContent = String(s.requests.total);
  $("rps").textContent = s.requests.perSecond.toFixed(1);
  $("transitions").textContent = String(s.transitions);
  $("open").textContent = String(s.connections.length + s.unlisted);
  const tree = $("tree");
  tree.replaceChildren(el("li", {}, el("span", { class: "name" }, s.doist.name), ` tock ${fixed(s.doist.tock, 6)}`, el("ul", {}, ...deedItems(s.doist.deeds))));
}

function showConnections(s) {
  const live = $("live");
  const rows = s.connections.map((c) => {
    const row = el(
      "tr",
      { "data-id": c.id, "data-peer": c.peer, "data-role": c.role, class: c.id === following(s)?.id ? "selected" : null },
      el("td", { class: "id" }, c.id),
      el("td", { class: "peer" }, c.peer),
      el("td", { class: "role" }, c.role ?? ""),
      el("td", { class: "steward state" }, c.steward),
      el("td", { class: "requestant state" }, c.requestant),
      el("td", { class: "responder state" }, c.responder),
      el("td", { class: "requests" }, String(c.requests)),
      el("td", { class: "queued" }, String(c.queued)),
      el("td", {}, transitionList(c.transitions)),
    );
    return row;
  });
  live.replaceChildren(...rows);
  if (rows.length === 0) live.append(el("tr", {}, el("td", { colspan: "9", class: "none" }, "no open connection")));
  $("unlisted").hidden = s.unlisted === 0;
  $("unlisted").textContent = `and ${s.unlisted} more`;
  $("closed").replaceChildren(...s.closed.map((c) => el("tr", { "data-id": c.id }, el("td", {}, c.id), el("td", {}, c.peer), el("td", {}, c.role ?? ""), el("td", {}, transitionList(c.transitions)))));
}

/** The connection the diagrams follow: the one clicked while it lives, else the first that is not this page's feed. */
function following(s) {
  return s.connections.find((c) => c.id === selected) ?? s.connections.find((c) => c.role !== "inspector feed") ?? s.connections[0] ?? null;
}

/** The node of `state` in a rendered state diagram (Mermaid names dotted states with "_"). */
function nodeOf(svg, state) {
  const name = state.replaceAll(".", "_");
  for (const node of svg.querySelectorAll("g.node")) {
    if (new RegExp(`-state-${name}-\\d+$`).test(node.id)) return node;
  }
  return null;
}

/** Marks each machine's current state of the followed connection, and the state it came from. */
function highlight(s) {
  const connection = following(s);
  $("following").textContent = connection ? `following ${connection.id}${connection.role ? ` (${connection.role})` : ""}` : "";
  if (!drawn) return;
  for (const machine of machines) {
    const svg = document.querySelector(`figure[data-machine="${machine}"] svg`);
    if (!svg) continue;
    for (const node of svg.querySelectorAll(".current, .previous")) node.classList.remove("current", "previous");
    if (!connection) continue;
    const last = [...connection.transitions].reverse().find((t) => t.machine === machine);
    if (last && last.from !== connection[machine]) nodeOf(svg, last.from)?.classList.add("previous");
    nodeOf(svg, connection[machine])?.classList.add("current");
  }
}

let latest = null;
function show(s) {
  latest = s;
  showStats(s);
  showConnections(s);
  highlight(s);
}

/** Draws the three machines with Mermaid (served from node_modules), or shows their text. */
async function draw() {
  const texts = await (await fetch("/machines.json")).json();
  let mermaid = null;
  try {
    mermaid = (await import("/vendor/mermaid/mermaid.esm.min.mjs")).default;
    mermaid.initialize({ startOnLoad: false, theme: "neutral", securityLevel: "strict" });
  } catch {
    $("status").textContent = "mermaid is not installed (npm install): the machines are shown as Mermaid text";
  }
  for (const machine of machines) {
    const box = document.querySelector(`figure[data-machine="${machine}"] .diagram`);
    if (mermaid === null) {
      box.replaceChildren(el("pre", {}, texts[machine]));
      continue;
    }
    const { svg } = await mermaid.render(`machine-${machine}`, texts[machine]);
    box.innerHTML = svg; // Mermaid's own output, sanitized by it (securityLevel strict)
  }
  drawn = mermaid !== null;
  if (latest) highlight(latest);
}

function follow() {
  const source = new EventSource("/inspect");
  source.onmessage = (event) => show(JSON.parse(event.data));
  source.onopen = () => ($("status").textContent = "");
  source.onerror = () => ($("status").textContent = "the feed is down; the browser tries again every second");
  addEventListener("pagehide", () => source.close());
}

// Rows are rebuilt every beat, so a click could start on one row and end on its successor:
// selection follows the press, on the table body that stays.
$("live").addEventListener("pointerdown", (event) => {
  const row = event.target.closest("tr[data-id]");
  if (row === null) return;
  selected = row.dataset.id;
  if (latest) show(latest);
});

$("slow").addEventListener("click", () => {
  // Four requests at once: HTTP/1.1 gives each its own connection. Each answer waits two beats,
  // then streams eight lines, one per beat; the connections then idle until their deadline.
  for (let i = 0; i < 4; i++) fetch(`/slow?beats=8&n=${i}`, { cache: "no-store" }).then((r) => r.text()).catch(() => {});
});

$("echo").addEventListener("click", async () => {
  const response = await fetch("/echo?from=page", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ hello: "hio" }) });
  $("reply").textContent = await response.text();
});

follow();
draw().catch((error) => ($("status").textContent = `the diagrams failed: ${error.message}`));
