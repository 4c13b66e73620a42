import { createHash } from 'node:crypto';
import { STATUS_PAGE_SCRIPT } from './status-page.script.js';
import { STATUS_PAGE_STYLE } from './status-page.style.js';

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

// A dot in the tab, inline: the page makes no request beyond its own origin, not even for an icon.
const ICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E" +
  "%3Ccircle cx='8' cy='8' r='6' fill='%232f6feb'/%3E%3C/svg%3E";

/**
 * The status page: one self-contained document (inline style and script, no external resource),
 * filled and kept live by its script from `/events`.
 */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Fleet status</title>
<link rel="icon" href="${ICON}">
<style>${STATUS_PAGE_STYLE}</style>
</head>
<body>
<header>
  <h1>Fleet status</h1>
  <div class="chips" aria-label="Summary">
    <span class="chip">instances ready <b id="sum-instances">–</b></span>
    <span class="chip">shards ready <b id="sum-shards">–</b></span>
    <span class="chip">restarts &amp; failures <b id="sum-restarts">–</b></span>
  </div>
  <span class="meta" id="manager"></span>
  <div class="actions hidden" id="action-bar">
    <label for="token" class="meta">Token</label>
    <input id="token" type="password" autocomplete="off" spellcheck="false"
      placeholder="needed for actions">
    <button type="button" id="rolling">Rolling restart</button>
  </div>
  <div class="live" id="live" role="status" aria-live="polite">
    <span class="dot"></span><span id="live-text">connecting…</span>
    <span class="meta" id="updated"></span>
  </div>
</header>
<main>
  <section class="wide" aria-labelledby="h-instances">
    <h2 id="h-instances">Instances</h2>
    <div class="scroll">
    <table id="instances">
      <thead><tr>
        <th scope="col" class="num">#</th><th scope="col">State</th><th scope="col" class="num" title="Time in the current state">For</th>
        <th scope="col" class="num">Gen</th><th scope="col" class="num">PID</th>
        <th scope="col">Shards</th><th scope="col" class="num">RSS</th>
        <th scope="col" class="num">Heap</th><th scope="col" class="num">Lag</th>
        <th scope="col" class="num">RTT</th><th scope="col">RTT, last beats</th>
        <th scope="col" class="num">Restarts</th><th scope="col">Last exit</th>
        <th scope="col" id="col-action" class="hidden"><span class="hidden">Action</span></th>
      </tr></thead>
      <tbody id="instance-rows"></tbody>
    </table>
    </div>
    <p id="notice" role="status" aria-live="polite"></p>
  </section>
  <section aria-labelledby="h-shards">
    <h2 id="h-shards">Shards</h2>
    <div class="grid" id="shards" role="list"></div>
    <p class="empty" id="shards-empty">No shards yet.</p>
    <div class="legend" aria-hidden="true">
      <span class="l-ready">ready</span><span class="l-warn">starting or resuming</span>
      <span class="l-bad">down</span><span>idle or not reported</span>
    </div>
    <p class="meta hidden" id="reported">Instances do not report their shards' gateway state:
      tiles follow their instance's state, ping shows –.</p>
  </section>
  <section aria-labelledby="h-identify">
    <h2 id="h-identify">Identify queue</h2>
    <p class="empty" id="identify-none">Not started.</p>
    <div id="identify" class="hidden">
      <dl>
        <dt>Granted</dt><dd id="q-granted">–</dd>
        <dt>Waiting</dt><dd id="q-waiting">–</dd>
        <dt>Pacing</dt><dd id="q-buckets">–</dd>
        <dt>Time left</dt><dd id="q-left">–</dd>
      </dl>
      <div class="bar" aria-hidden="true"><div id="q-bar"></div></div>
    </div>
  </section>
  <section class="wide hidden" id="hosts-section" aria-labelledby="h-hosts">
    <h2 id="h-hosts">Hosts</h2>
    <div class="scroll">
    <table class="log">
      <thead><tr>
        <th scope="col">Host</th><th scope="col" class="num">Blocks</th>
        <th scope="col">Shards</th><th scope="col">Asked for</th>
      </tr></thead>
      <tbody id="host-rows"></tbody>
    </table>
    </div>
  </section>
  <section class="wide" aria-labelledby="h-failures">
    <h2 id="h-failures">Last restarts and failures</h2>
    <div class="scroll">
    <table class="log">
      <thead><tr>
        <th scope="col">Time</th><th scope="col">Instance</th>
        <th scope="col">Gen</th><th scope="col">Exit</th><th scope="col">Cause</th>
      </tr></thead>
      <tbody id="failure-rows"></tbody>
    </table>
    </div>
    <p class="empty" id="failures-empty">None since the manager started.</p>
  </section>
</main>
<script>${STATUS_PAGE_SCRIPT}</script>
</body>
</html>
`;

/**
 * The page's Content-Security-Policy: nothing but its own inline style and script (by hash),
 * its own origin for the event stream and actions, and its inline icon.
 */
export const STATUS_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(STATUS_PAGE_SCRIPT)}`,
  `style-src ${sha256(STATUS_PAGE_STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
