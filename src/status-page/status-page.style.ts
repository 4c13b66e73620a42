/**
 * The status page's style sheet, inlined in the page (its hash is in the page's CSP): system
 * fonts only, light and dark from `prefers-color-scheme`, and every state told by text as well
 * as colour.
 */
export const STATUS_PAGE_STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --panel: #ffffff; --text: #1b1f24; --muted: #5b6570; --line: #dde1e6;
  --accent: #2f6feb; --ok: #1a7f37; --ok-bg: #dafbe1; --warn: #9a6700; --warn-bg: #fff3c4;
  --bad: #cf222e; --bad-bg: #ffe1e1; --idle: #6e7781; --idle-bg: #eaeef2; --chart: #2f6feb;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --panel: #161b22; --text: #e6edf3; --muted: #8d96a0; --line: #30363d;
    --accent: #4c8dff; --ok: #3fb950; --ok-bg: #12361f; --warn: #d29922; --warn-bg: #3b2e0a;
    --bad: #f85149; --bad-bg: #431b1b; --idle: #8d96a0; --idle-bg: #21262d; --chart: #58a6ff;
  }
}
* { box-sizing: border-box; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Ubuntu, sans-serif;
}
header {
  display: flex; flex-wrap: wrap; align-items: center; gap: 8px 20px;
  padding: 12px 20px; background: var(--panel); border-bottom: 1px solid var(--line);
}
h1 { font-size: 16px; margin: 0; font-weight: 600; }
h2 { font-size: 13px; margin: 0 0 8px; font-weight: 600; text-transform: uppercase;
  letter-spacing: .04em; color: var(--muted); }
.meta { color: var(--muted); font-variant-numeric: tabular-nums; }
.chips { display: flex; gap: 8px; flex-wrap: wrap; }
.chip { padding: 2px 10px; border-radius: 999px; background: var(--idle-bg); white-space: nowrap; }
.chip b { font-variant-numeric: tabular-nums; }
.live { margin-left: auto; display: flex; align-items: center; gap: 6px; }
.dot { width: 8px; height: 8px; border-radius: 50%; background: var(--idle); }
.live.on .dot { background: var(--ok); }
.live.off .dot { background: var(--bad); }
main { padding: 16px 20px; display: grid; gap: 16px;
  grid-template-columns: minmax(0, 3fr) minmax(260px, 1fr); }
section { background: var(--panel); border: 1px solid var(--line); border-radius: 8px;
  padding: 12px 14px; min-width: 0; }
.wide { grid-column: 1 / -1; }
@media (max-width: 900px) { main { grid-template-columns: minmax(0, 1fr); } }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line);
  white-space: nowrap; vertical-align: middle; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
td.num, th.num { text-align: right; }
td.wrap { white-space: normal; width: 100%; }
.log td, .log th { text-align: left; }
tbody tr:last-child td { border-bottom: 0; }
.scroll { overflow-x: auto; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 4px; font-weight: 600;
  font-size: 12px; background: var(--idle-bg); color: var(--idle); }
.s-ready { background: var(--ok-bg); color: var(--ok); }
.s-warn { background: var(--warn-bg); color: var(--warn); }
.s-bad { background: var(--bad-bg); color: var(--bad); }
.grid { display: grid; gap: 4px; grid-template-columns: repeat(auto-fill, minmax(104px, 1fr)); }
.shard { border-radius: 4px; padding: 3px 6px; background: var(--idle-bg); color: var(--idle);
  border-left: 3px solid var(--idle); font-variant-numeric: tabular-nums; font-size: 11px;
  display: grid; grid-template-columns: auto auto; justify-content: space-between;
  gap: 0 6px; min-width: 0; }
.shard span { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.shard .id { font-weight: 600; font-size: 13px; }
.shard .state, .shard .rate { text-align: right; }
.shard .guilds { grid-column: 1 / -1; }
.shard.s-ready { border-left-color: var(--ok); background: var(--ok-bg); color: var(--ok); }
.shard.s-warn { border-left-color: var(--warn); background: var(--warn-bg); color: var(--warn); }
.shard.s-bad { border-left-color: var(--bad); background: var(--bad-bg); color: var(--bad); }
.legend { display: flex; gap: 12px; margin-top: 8px; color: var(--muted); font-size: 12px;
  flex-wrap: wrap; }
.legend span::before { content: ""; display: inline-block; width: 10px; height: 10px;
  border-radius: 2px; margin-right: 4px; vertical-align: -1px; background: var(--idle); }
.legend .l-ready::before { background: var(--ok); }
.legend .l-warn::before { background: var(--warn); }
.legend .l-bad::before { background: var(--bad); }
svg.rtt { display: block; }
svg.rtt polyline { fill: none; stroke: var(--chart); stroke-width: 1.5; }
svg.rtt line { stroke: var(--line); stroke-width: 1; }
dl { display: grid; grid-template-columns: auto 1fr; gap: 4px 12px; margin: 0; }
dt { color: var(--muted); }
dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; }
.bar { height: 6px; border-radius: 3px; background: var(--idle-bg); margin-top: 10px;
  overflow: hidden; }
.bar > div { height: 100%; background: var(--accent); width: 0; }
.empty { color: var(--muted); padding: 8px 0; }
.actions { display: flex; gap: 8px; align-items: center; }
input, button { font: inherit; color: inherit; }
input { background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
  padding: 3px 8px; width: 170px; }
button { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
  padding: 2px 10px; cursor: pointer; }
button:hover { border-color: var(--accent); }
button:focus-visible, input:focus-visible { outline: 2px solid var(--accent); outline-offset: 1px; }
#notice { color: var(--muted); }
.hidden { display: none; }
`;
