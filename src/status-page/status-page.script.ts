/**
 * The status page's script, inlined in the page (its hash is in the page's CSP). It keeps the
 * fleet from `/events` (a snapshot, then updates) and redraws the page with DOM calls only
 * (`textContent`, never HTML from data). Plain ES2020, no framework.
 */
export const STATUS_PAGE_SCRIPT = String.raw`
'use strict';
(function () {
  var MAX_SAMPLES = 120, MAX_FAILURES = 50;
  var model = { instances: new Map(), failures: [], identify: undefined, identifyAt: 0,
    totalShards: undefined, managerId: '', actions: false, at: 0 };
  var token = '';
  var pending = false;
  var SVG = 'http://www.w3.org/2000/svg';

  function $(id) { return document.getElementById(id); }
  function h(tag, props, children) {
    var el = document.createElement(tag);
    if (props) for (var key in props) {
      if (key === 'text') el.textContent = props[key];
      else if (key === 'cls') el.className = props[key];
      else el.setAttribute(key, props[key]);
    }
    (children || []).forEach(function (child) { if (child) el.appendChild(child); });
    return el;
  }
  function dash(value, unit) {
    return value === undefined || value === null ? '\u2013' : value + (unit || '');
  }
  function mib(bytes) {
    if (bytes === undefined) return '\u2013';
    // Decided on the rounded figure: 99.97 MiB is "100 MiB", not "100.0 MiB".
    var value = bytes / 1048576;
    return value.toFixed(value < 99.95 ? 1 : 0) + ' MiB';
  }
  // Milliseconds with the digits that matter: 0.42 ms, 5.7 ms, 138 ms.
  function ms(value) {
    if (value === undefined || value === null) return '\u2013';
    if (Number.isInteger(value)) return value + ' ms';
    return value.toFixed(value < 1 ? 2 : value < 100 ? 1 : 0) + ' ms';
  }
  function rate(perSecond) {
    if (perSecond === undefined) return '';
    return (perSecond >= 10 || Number.isInteger(perSecond) ? Math.round(perSecond) : perSecond.toFixed(1)) + ' ev/s';
  }
  function age(at) {
    if (!at) return '\u2013';
    var s = Math.max(0, Math.round((Date.now() - at) / 1000));
    if (s < 60) return s + 's';
    if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
    return Math.floor(s / 3600) + 'h ' + Math.floor((s % 3600) / 60) + 'm';
  }
  function clock(at) { return new Date(at).toLocaleTimeString(); }
  function instanceClass(state) {
    if (state === 'ready') return 's-ready';
    if (state === 'gave-up' || state === 'exited' || state === 'stopping') return 's-bad';
    if (state === 'idle') return '';
    return 's-warn';
  }
  function shardClass(state) {
    if (state === 'ready') return 's-ready';
    if (state === 'disconnected') return 's-bad';
    if (state === 'idle' || state === undefined) return '';
    return 's-warn';
  }

  function chart(samples) {
    var w = 120, hgt = 26, svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'rtt');
    svg.setAttribute('width', w);
    svg.setAttribute('height', hgt);
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + hgt);
    svg.setAttribute('role', 'img');
    var base = document.createElementNS(SVG, 'line');
    base.setAttribute('x1', 0); base.setAttribute('x2', w);
    base.setAttribute('y1', hgt - 0.5); base.setAttribute('y2', hgt - 0.5);
    svg.appendChild(base);
    if (samples.length === 0) { svg.setAttribute('aria-label', 'no round trip yet'); return svg; }
    var values = samples.map(function (s) { return s[1]; });
    var max = Math.max.apply(null, values), min = Math.min.apply(null, values);
    var avg = values.reduce(function (a, b) { return a + b; }, 0) / values.length;
    // A start-up spike would flatten every later beat: the scale stops at 4x the median, and
    // higher beats are drawn at the top (the label keeps the true max).
    var sorted = values.slice().sort(function (a, b) { return a - b; });
    var median = sorted[Math.floor(sorted.length / 2)];
    var top = Math.max(Math.min(max, median * 4), 1), step = w / (MAX_SAMPLES - 1), x0 = w - step * (samples.length - 1);
    var points = samples.map(function (s, i) {
      return (x0 + i * step).toFixed(1) + ',' + (hgt - 2 - (Math.min(s[1], top) / top) * (hgt - 4)).toFixed(1);
    });
    var line = document.createElementNS(SVG, 'polyline');
    line.setAttribute('points', points.join(' '));
    svg.appendChild(line);
    var label = 'heartbeat round trip over ' + samples.length + ' beats: min ' + min.toFixed(1) +
      ' ms, mean ' + avg.toFixed(1) + ' ms, max ' + max.toFixed(1) + ' ms';
    var title = document.createElementNS(SVG, 'title');
    title.textContent = label;
    svg.appendChild(title);
    svg.setAttribute('aria-label', label);
    return svg;
  }

  function renderInstances(list) {
    var body = $('instance-rows');
    var rows = list.map(function (i) {
      var rtt = i.roundTrips.length ? i.roundTrips[i.roundTrips.length - 1][1] : undefined;
      // The cause is the exit itself when nothing was noticed before it: said once.
      var exit = !i.lastExit ? '\u2013' : i.lastExit.cause === i.lastExit.reason ? i.lastExit.reason :
        i.lastExit.reason + ' \u00b7 ' + i.lastExit.cause;
      var button = model.actions ? h('button', { type: 'button', text: 'Restart',
        'data-restart': i.instance, 'aria-label': 'Restart instance ' + i.instance }) : undefined;
      var tr = h('tr', { 'data-instance': i.instance, 'data-state': i.state }, [
        h('td', { cls: 'num', text: i.instance }),
        h('td', {}, [h('span', { cls: 'badge state ' + instanceClass(i.state), text: i.state })]),
        h('td', { cls: 'num', text: age(i.since) }),
        h('td', { cls: 'num generation', text: i.generation }),
        h('td', { cls: 'num', text: dash(i.pid) }),
        h('td', { text: shardRange(i.shards) }),
        h('td', { cls: 'num', text: mib(i.rss) }),
        h('td', { cls: 'num', text: mib(i.heapUsed) }),
        h('td', { cls: 'num', text: ms(i.eventLoopLag) }),
        h('td', { cls: 'num', text: ms(rtt) }),
        h('td', {}, [chart(i.roundTrips)]),
        h('td', { cls: 'num', text: i.restarts }),
        h('td', { cls: 'wrap', text: exit }),
        model.actions ? h('td', {}, [button]) : undefined,
      ]);
      return tr;
    });
    body.replaceChildren.apply(body, rows);
    $('col-action').classList.toggle('hidden', !model.actions);
  }
  function shardRange(shards) {
    if (shards.length === 0) return 'none';
    var ids = shards.map(function (s) { return s.id; });
    var first = ids[0], last = ids[ids.length - 1];
    return ids.length > 2 && last - first === ids.length - 1 ? first + '\u2013' + last : ids.join(', ');
  }

  function renderShards(list) {
    var tiles = [];
    list.forEach(function (i) {
      i.shards.forEach(function (s) {
        var state = s.state !== undefined ? s.state : (i.state === 'ready' ? undefined : i.state);
        var cls = s.state !== undefined ? shardClass(s.state) : instanceClass(i.state);
        var label = 'shard ' + s.id + ', instance ' + i.instance + ', ' +
          (s.state !== undefined ? s.state : 'not reported (instance ' + i.state + ')') +
          ', ping ' + ms(s.ping) + ', guilds ' + dash(s.guilds) + ', events/s ' + dash(s.eventsPerSecond);
        tiles.push(h('div', { cls: 'shard ' + cls, title: label, 'aria-label': label, role: 'listitem',
          'data-shard': s.id, 'data-state': state === undefined ? '' : state }, [
          h('span', { cls: 'id', text: '#' + s.id }),
          h('span', { cls: 'state', text: state === undefined ? 'not reported' : state }),
          h('span', { cls: 'ping', text: ms(s.ping) }),
          h('span', { cls: 'rate', text: rate(s.eventsPerSecond) }),
          h('span', { cls: 'guilds', text: dash(s.guilds) + (s.guilds === 1 ? ' guild' : ' guilds') }),
        ]));
      });
    });
    var grid = $('shards');
    grid.replaceChildren.apply(grid, tiles);
    $('shards-empty').classList.toggle('hidden', tiles.length > 0);
  }

  function renderIdentify() {
    var q = model.identify;
    $('identify-none').classList.toggle('hidden', q !== undefined);
    $('identify').classList.toggle('hidden', q === undefined);
    if (q === undefined) return;
    var left = Math.max(0, q.timeLeft - (Date.now() - model.identifyAt));
    $('q-granted').textContent = q.granted;
    $('q-waiting').textContent = q.waiting;
    $('q-buckets').textContent = q.maxConcurrency + ' per ' + (q.window / 1000).toFixed(1) + ' s';
    $('q-left').textContent = q.waiting === 0 ? 'none' : Math.ceil(left / 1000) + ' s';
    var total = q.granted + q.waiting;
    $('q-bar').style.width = (total === 0 ? 0 : (q.granted / total) * 100).toFixed(1) + '%';
  }

  function renderFailures() {
    var body = $('failure-rows');
    body.replaceChildren.apply(body, model.failures.map(function (f) {
      var exit = f.kind === 'gave-up' ? 'gave up' :
        f.signal ? 'signal ' + f.signal : f.code !== undefined && f.code !== null ? 'code ' + f.code : '\u2013';
      return h('tr', {}, [
        h('td', { cls: 'num', text: clock(f.at) }),
        h('td', { cls: 'num', text: f.instance }),
        h('td', { cls: 'num', text: f.generation }),
        h('td', { text: exit }),
        h('td', { cls: 'wrap', text: dash(f.cause) }),
      ]);
    }));
    $('failures-empty').classList.toggle('hidden', model.failures.length > 0);
  }

  function renderHosts() {
    var hosts = model.hosts || [];
    $('hosts-section').classList.toggle('hidden', hosts.length === 0);
    var body = $('host-rows');
    body.replaceChildren.apply(body, hosts.map(function (host) {
      return h('tr', {}, [
        h('td', { text: host.hostId + (host.self ? ' (this one)' : '') }),
        h('td', { cls: 'num', text: host.blocks.length }),
        h('td', { cls: 'wrap', text: host.shards.length ? host.shards.join(', ') : '\u2013' }),
        h('td', { text: host.requested.length ? 'block ' + host.requested.join(', ') : '\u2013' }),
      ]);
    }));
  }

  function renderSummary(list) {
    var ready = 0, shards = 0, shardsReady = 0, reported = 0;
    list.forEach(function (i) {
      if (i.state === 'ready') ready++;
      i.shards.forEach(function (s) {
        shards++;
        if (s.state !== undefined) reported++;
        if (s.state === 'ready' || (s.state === undefined && i.state === 'ready')) shardsReady++;
      });
    });
    $('sum-instances').textContent = ready + '/' + list.length;
    $('sum-shards').textContent = shardsReady + '/' + (model.totalShards !== undefined ? model.totalShards : shards);
    $('sum-restarts').textContent = model.failures.length;
    $('manager').textContent = model.managerId ? 'manager ' + model.managerId : '';
    $('updated').textContent = model.at ? 'updated ' + clock(model.at) : '';
    $('reported').classList.toggle('hidden', reported > 0 || shards === 0);
    $('action-bar').classList.toggle('hidden', !model.actions);
  }

  function render() {
    pending = false;
    var list = Array.from(model.instances.values()).sort(function (a, b) { return a.instance - b.instance; });
    renderSummary(list);
    renderInstances(list);
    renderShards(list);
    renderIdentify();
    renderHosts();
    renderFailures();
  }
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(render);
  }

  function applySnapshot(s) {
    model.instances = new Map(s.instances.map(function (i) { return [i.instance, i]; }));
    model.failures = s.failures.slice(0, MAX_FAILURES);
    model.managerId = s.managerId;
    model.totalShards = s.totalShards;
    model.actions = s.actions;
    model.hosts = s.hosts;
    setIdentify(s.identify);
    model.at = s.at;
  }
  function setIdentify(identify) {
    if (identify === undefined) return;
    model.identify = identify;
    // Counted from its arrival: the browser's clock may differ from the manager's.
    model.identifyAt = Date.now();
  }
  function applyUpdate(u) {
    u.instances.forEach(function (i) {
      var known = model.instances.get(i.instance);
      var samples = known ? known.roundTrips : [];
      var last = samples.length ? samples[samples.length - 1][0] : -Infinity;
      i.roundTrips = samples.concat(i.roundTrips.filter(function (s) { return s[0] > last; }))
        .slice(-MAX_SAMPLES);
      model.instances.set(i.instance, i);
    });
    var top = model.failures.length ? model.failures[0].seq : 0;
    var added = u.failures.filter(function (f) { return f.seq > top; });
    model.failures = added.concat(model.failures).slice(0, MAX_FAILURES);
    if (u.totalShards !== undefined) model.totalShards = u.totalShards;
    if (u.hosts !== undefined) model.hosts = u.hosts;
    setIdentify(u.identify);
    model.at = u.at;
  }

  function connection(on, text) {
    var live = $('live');
    live.className = 'live ' + (on ? 'on' : 'off');
    $('live-text').textContent = text;
  }
  function connect() {
    var source = new EventSource('events');
    source.addEventListener('snapshot', function (e) { applySnapshot(JSON.parse(e.data)); connection(true, 'live'); schedule(); });
    source.addEventListener('update', function (e) { applyUpdate(JSON.parse(e.data)); schedule(); });
    source.addEventListener('error', function () {
      connection(false, source.readyState === EventSource.CLOSED ? 'disconnected (reload the page)' : 'reconnecting\u2026');
    });
  }

  function act(path, label) {
    if (!token) { notice('Enter the token to ' + label + '.'); $('token').focus(); return; }
    notice(label + '\u2026');
    fetch(path, { method: 'POST', headers: { authorization: 'Bearer ' + token }, credentials: 'same-origin' })
      .then(function (r) { return r.text().then(function (t) { notice(r.ok ? label + ': requested' : label + ': ' + t.trim()); }); })
      .catch(function (e) { notice(label + ' failed: ' + e.message); });
  }
  function notice(text) { $('notice').textContent = text; }

  document.addEventListener('click', function (e) {
    var target = e.target;
    if (!(target instanceof HTMLButtonElement)) return;
    if (target.dataset.restart !== undefined) act('actions/restart/' + target.dataset.restart, 'restart of instance ' + target.dataset.restart);
    else if (target.id === 'rolling') act('actions/rolling-restart', 'rolling restart');
  });
  $('token').addEventListener('input', function (e) { token = e.target.value.trim(); });
  setInterval(function () { if (model.at) schedule(); }, 1000);
  connect();
})();
`;
