// The mesh dashboard's page: reads /api/state (ops/dashboard/collector.ts) every few seconds and
// draws the service graph (inline SVG, laid out in columns by call depth), the services with
// their RouteRules and whether each applied, and the proxies with their sync status. Hand-written,
// no libraries, nothing loaded from elsewhere: it works without the internet. Text from the
// state is set with textContent, never parsed as HTML.
'use strict';

const svgNs = 'http://www.w3.org/2000/svg';
const refreshMs = 3000;
const node = { w: 210, h: 54, colGap: 150, rowGap: 40, margin: 36 };
let selected = null;

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function svg(tag, attrs, text) {
  const e = document.createElementNS(svgNs, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

function rps(v) {
  if (v === null || v === undefined) return '—';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function pct(v) {
  return `${(v * 100).toFixed(v > 0 && v < 0.1 ? 1 : 0)}%`;
}

function ms(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  const m = seconds * 1000;
  return m >= 100 ? `${m.toFixed(0)} ms` : `${m.toFixed(1)} ms`;
}

function health(s) {
  if (s.errorRate >= 0.05) return 'bad';
  if (s.rps === 0) return 'idle';
  return 'ok';
}

/** Columns by call depth (the longest path from a caller nobody calls), rows by name. */
function layout(nodes, edges) {
  const depth = new Map(nodes.map((n) => [n.id, 0]));
  for (let i = 0; i < nodes.length; i++) {
    let changed = false;
    for (const e of edges) {
      if (e.source === e.destination) continue;
      const d = (depth.get(e.source) || 0) + 1;
      if (d > (depth.get(e.destination) || 0) && d < nodes.length) {
        depth.set(e.destination, d);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const columns = [];
  for (const n of [...nodes].sort((a, b) => a.label.localeCompare(b.label))) {
    const d = depth.get(n.id) || 0;
    (columns[d] = columns[d] || []).push(n);
  }
  const tallest = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  const height = node.margin * 2 + tallest * node.h + (tallest - 1) * node.rowGap;
  const pos = new Map();
  columns.forEach((col, ci) => {
    if (!col) return;
    const colHeight = col.length * node.h + (col.length - 1) * node.rowGap;
    const top = (height - colHeight) / 2;
    col.forEach((n, ri) => {
      pos.set(n.id, {
        x: node.margin + ci * (node.w + node.colGap),
        y: top + ri * (node.h + node.rowGap),
      });
    });
  });
  const width = node.margin * 2 + columns.length * node.w + (columns.length - 1) * node.colGap;
  return { pos, width: Math.max(width, 300), height };
}

function drawGraph(graph) {
  const root = document.getElementById('graph');
  root.replaceChildren();
  document.getElementById('graph-empty').hidden = graph.nodes.length > 0;
  const { pos, width, height } = layout(graph.nodes, graph.edges);
  root.setAttribute('width', width);
  root.setAttribute('height', height);
  root.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const defs = svg('defs');
  for (const [id, color] of [
    ['arrow-ok', '#12805c'],
    ['arrow-bad', '#c01048'],
    ['arrow-idle', '#98a2b3'],
  ]) {
    const m = svg('marker', {
      id,
      viewBox: '0 0 10 10',
      refX: 10,
      refY: 5,
      markerUnits: 'userSpaceOnUse',
      markerWidth: 11,
      markerHeight: 11,
      orient: 'auto-start-reverse',
    });
    m.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: color }));
    defs.append(m);
  }
  root.append(defs);
  const maxRps = Math.max(1, ...graph.edges.map((e) => e.rps || 0));
  for (const e of graph.edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.destination);
    if (!a || !b) continue;
    const state = health(e);
    const g = svg('g', {
      class: `edge ${state}`,
      'data-source': e.source,
      'data-destination': e.destination,
      'data-requests': e.requests,
      'data-errors': e.errors,
      'data-rps': e.rps === null ? '' : e.rps,
    });
    let d;
    let lx;
    let ly;
    if (e.source === e.destination) {
      const x = a.x + node.w / 2;
      d = `M${x - 20},${a.y} C${x - 40},${a.y - 50} ${x + 40},${a.y - 50} ${x + 20},${a.y}`;
      lx = x;
      ly = a.y - 42;
    } else {
      const x1 = a.x + node.w;
      const y1 = a.y + node.h / 2;
      const x2 = b.x;
      const y2 = b.y + node.h / 2;
      const dx = Math.max(40, (x2 - x1) / 2);
      d = `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2 - 2},${y2}`;
      lx = (x1 + x2) / 2;
      ly = (y1 + y2) / 2 - 22;
    }
    const widthPx = 1.5 + 4 * Math.sqrt((e.rps || 0) / maxRps);
    g.append(svg('path', { d, 'stroke-width': widthPx, 'marker-end': `url(#arrow-${state})` }));
    const first = [`${rps(e.rps)} rps`];
    if (e.errorRate > 0) first.push(`${pct(e.errorRate)} err`);
    const text = svg('text', { x: lx, y: ly, 'text-anchor': 'middle' });
    text.append(svg('tspan', { x: lx, dy: 0 }, first.join(' · ')));
    if (e.p99 !== null) text.append(svg('tspan', { x: lx, dy: 13 }, `p99 ${ms(e.p99)}`));
    g.append(text);
    const title = svg(
      'title',
      {},
      `${e.source} → ${e.destination}: ${e.requests} requests, ${e.errors} errors`,
    );
    g.append(title);
    root.append(g);
  }
  for (const n of graph.nodes) {
    const p = pos.get(n.id);
    const state = health(n);
    const g = svg('g', {
      class: `node ${state}${selected === n.id ? ' selected' : ''}`,
      'data-id': n.id,
      transform: `translate(${p.x},${p.y})`,
    });
    g.append(svg('rect', { width: node.w, height: node.h, rx: 8 }));
    g.append(svg('text', { class: 'name', x: 12, y: 22 }, n.label));
    const stats =
      n.requests > 0
        ? `${rps(n.rps)} rps in · ${pct(n.errorRate)} err · p99 ${ms(n.p99)}`
        : n.id === 'unknown'
          ? 'callers outside the mesh'
          : 'calls out only';
    g.append(svg('text', { class: 'stats', x: 12, y: 40 }, stats));
    g.append(svg('title', {}, n.id));
    g.addEventListener('click', () => {
      selected = selected === n.id ? null : n.id;
      render(lastState);
    });
    root.append(g);
  }
  root.setAttribute('data-nodes', graph.nodes.length);
  root.setAttribute('data-edges', graph.edges.length);
  root.setAttribute('data-ready', 'true');
}

function drawServices(state) {
  const body = document.querySelector('#services tbody');
  body.replaceChildren();
  const hosts = new Set([...state.graph.nodes.map((n) => n.id), ...Object.keys(state.rules)]);
  const byId = new Map(state.graph.nodes.map((n) => [n.id, n]));
  for (const host of [...hosts].sort()) {
    const n = byId.get(host);
    const tr = el('tr', { 'data-service': host });
    if (host === selected) tr.className = 'selected';
    tr.append(el('td', {}, host === '' ? '(rules Pilot could not read)' : host));
    const called = n && n.requests > 0;
    tr.append(el('td', {}, called ? rps(n.rps) : '—'));
    tr.append(el('td', {}, called ? pct(n.errorRate) : '—'));
    tr.append(el('td', {}, n ? ms(n.p50) : '—'));
    tr.append(el('td', {}, n ? ms(n.p99) : '—'));
    const rules = el('td');
    for (const r of state.rules[host] || []) {
      const span = el('span', { class: 'rule', 'data-rule': `${r.namespace}/${r.name}` });
      span.append(
        el(
          'span',
          { class: `pill ${r.applied ? 'applied' : 'not-applied'}` },
          r.applied ? 'Applied' : r.reason || 'Not applied',
        ),
      );
      span.append(document.createTextNode(` ${r.namespace}/${r.name}`));
      if (r.precedence !== null)
        span.append(el('span', { class: 'why' }, ` precedence ${r.precedence}`));
      if (!r.applied && r.message) span.append(el('div', { class: 'why' }, r.message));
      rules.append(span);
    }
    if (rules.childNodes.length === 0) rules.textContent = '—';
    tr.append(rules);
    body.append(tr);
  }
}

function drawProxies(state) {
  const body = document.querySelector('#proxies tbody');
  body.replaceChildren();
  const nacks = document.getElementById('nacks');
  nacks.replaceChildren();
  for (const p of state.proxies) {
    const tr = el('tr', { 'data-proxy': p.id });
    tr.append(el('td', {}, p.name), el('td', {}, p.namespace), el('td', {}, p.kind));
    for (const t of ['CDS', 'LDS', 'EDS', 'RDS']) {
      const s = p.types[t];
      const td = el('td');
      const pill = el('span', { class: `pill ${s.state.replace(' ', '-')}` }, s.state);
      if (s.nack) pill.title = s.nack.message;
      td.append(pill);
      tr.append(td);
      if (s.state === 'NACKED' && s.nack) {
        nacks.append(el('li', {}, `${p.name}.${p.namespace} ${t}: ${s.nack.message}`));
      }
    }
    tr.append(el('td', {}, p.pilot));
    body.append(tr);
  }
  if (state.proxies.length === 0) {
    const tr = el('tr');
    tr.append(el('td', { colspan: '8' }, 'no proxy connected'));
    body.append(tr);
  }
}

let lastState = null;

function render(state) {
  lastState = state;
  const when = new Date(state.updatedAt).toLocaleTimeString();
  const span =
    state.graph.windowSeconds === null
      ? 'rates after the next read'
      : `rates over ${state.graph.windowSeconds.toFixed(0)} s`;
  document.getElementById('updated').textContent =
    `updated ${when} · ${span} · Pilot: ${state.pilots.join(', ') || '—'}`;
  const problems = document.getElementById('problems');
  problems.hidden = state.problems.length === 0;
  problems.textContent = state.problems.join('\n');
  document.getElementById('sources').textContent =
    `metrics: ${state.sources.metrics} · Pilot: ${state.sources.pilot}`;
  drawGraph(state.graph);
  drawServices(state);
  drawProxies(state);
}

async function refresh() {
  try {
    const r = await fetch('api/state', { cache: 'no-store' });
    if (r.ok) render(await r.json());
    else
      document.getElementById('updated').textContent = `waiting for the first read (${r.status})`;
  } catch (e) {
    document.getElementById('updated').textContent = `dashboard unreachable: ${e.message}`;
  }
  setTimeout(refresh, refreshMs);
}

refresh();
