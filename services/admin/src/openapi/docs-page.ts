import { createHash } from 'node:crypto';

/*
 * The browsable page of /openapi.json: self-contained (no CDN), rendered with DOM text nodes only
 * (never innerHTML, so nothing in the document can inject markup), under a CSP that allows no
 * inline script and only this page's own style block (by hash).
 */

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:72rem;padding:1rem 2rem;color:#1d232a}
h2{border-bottom:1px solid #d5dbe1;padding-bottom:.25rem;margin-top:2rem}
details{border:1px solid #d5dbe1;border-radius:4px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer}
code,pre{font:13px/1.4 ui-monospace,monospace}
pre{background:#f4f6f8;padding:.5rem;overflow:auto}
.method{display:inline-block;min-width:4.2rem;font-weight:700}
.get{color:#0b6e4f}.post{color:#1f5fbf}.patch{color:#8a5a00}.delete{color:#b3261e}.put{color:#6b3fa0}
.access{color:#5b6670;font-size:13px}
table{border-collapse:collapse;margin:.3rem 0}td,th{border:1px solid #d5dbe1;padding:.2rem .5rem;text-align:left}
`;

const styleHash = createHash('sha256').update(STYLE).digest('base64');

/** Sent with /docs: same-origin script and fetch, this style block, nothing else. */
export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  `style-src 'sha256-${styleHash}'`,
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Admin API</title>
<style>${STYLE}</style>
</head>
<body>
<main id="app"><p>Loading <a href="/openapi.json">openapi.json</a>…</p></main>
<script src="/docs/app.js"></script>
</body>
</html>
`;

/** Plain ES2017, for any current browser. */
export const DOCS_SCRIPT = `'use strict';
(function () {
  var app = document.getElementById('app');
  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text !== undefined) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function json(value) { return el('pre', JSON.stringify(value, null, 2)); }
  function schemaView(schema) {
    if (schema && typeof schema.$ref === 'string') {
      var name = schema.$ref.split('/').pop();
      var link = el('a', name); link.href = '#schema-' + name;
      var p = el('p'); p.appendChild(link); return p;
    }
    if (schema && schema.type === 'array' && schema.items && schema.items.$ref) {
      var list = schemaView(schema.items); list.insertBefore(document.createTextNode('array of '), list.firstChild);
      return list;
    }
    return json(schema);
  }
  function parameters(op) {
    var table = el('table');
    var head = el('tr'); ['name', 'in', 'required', 'schema', 'description'].forEach(function (h) { head.appendChild(el('th', h)); });
    table.appendChild(head);
    op.parameters.forEach(function (p) {
      var row = el('tr');
      [p.name, p.in, p.required ? 'yes' : 'no', JSON.stringify(p.schema), p.description || ''].forEach(function (c) { row.appendChild(el('td', c)); });
      table.appendChild(row);
    });
    return table;
  }
  function operation(path, method, op, doc) {
    var box = el('details');
    var summary = el('summary');
    summary.appendChild(el('span', method.toUpperCase(), 'method ' + method));
    summary.appendChild(el('code', path));
    summary.appendChild(document.createTextNode(' ' + (op.summary || '')));
    box.appendChild(summary);
    box.appendChild(el('p', op.description || ''));
    box.appendChild(el('p', 'operationId: ' + op.operationId + ', access: ' + op['x-ser-access'], 'access'));
    if (op.parameters) { box.appendChild(el('h4', 'Parameters')); box.appendChild(parameters(op)); }
    if (op.requestBody) {
      box.appendChild(el('h4', 'Body' + (op.requestBody.required ? '' : ' (optional)')));
      box.appendChild(schemaView(op.requestBody.content['application/json'].schema));
    }
    box.appendChild(el('h4', 'Responses'));
    Object.keys(op.responses).forEach(function (status) {
      var r = op.responses[status];
      if (r.$ref) r = doc.components.responses[r.$ref.split('/').pop()];
      box.appendChild(el('p', status + ': ' + r.description));
      Object.keys(r.content || {}).forEach(function (type) {
        box.appendChild(el('code', type));
        box.appendChild(schemaView(r.content[type].schema));
      });
    });
    return box;
  }
  function render(doc) {
    app.textContent = '';
    app.appendChild(el('h1', doc.info.title + ' (' + doc.info.version + ')'));
    app.appendChild(el('p', doc.info.description));
    var raw = el('a', 'openapi.json'); raw.href = '/openapi.json'; app.appendChild(raw);
    doc.tags.forEach(function (tag) {
      app.appendChild(el('h2', tag.name)); app.appendChild(el('p', tag.description));
      Object.keys(doc.paths).forEach(function (path) {
        Object.keys(doc.paths[path]).forEach(function (method) {
          var op = doc.paths[path][method];
          if (op.tags.indexOf(tag.name) !== -1) app.appendChild(operation(path, method, op, doc));
        });
      });
    });
    app.appendChild(el('h2', 'Schemas'));
    Object.keys(doc.components.schemas).forEach(function (name) {
      var box = el('details'); box.id = 'schema-' + name;
      box.appendChild(el('summary', name)); box.appendChild(json(doc.components.schemas[name]));
      app.appendChild(box);
    });
    if (location.hash) { var target = document.getElementById(location.hash.slice(1)); if (target) target.open = true; }
  }
  fetch('/openapi.json').then(function (r) {
    if (!r.ok) throw new Error('openapi.json: HTTP ' + r.status);
    return r.json();
  }).then(render).catch(function (e) { app.textContent = String(e); });
})();
`;
