import { Hono } from 'hono';
import type { AppEnv, RouteDeps } from '../../http/env.ts';
import { buildOpenApiDocument } from './openapi.ts';

/**
 * Self-contained docs page (no CDN: the service must work offline) rendering /openapi.json, plus a small
 * upload form that uses the same fetch calls as the seed's browser example.
 */
const PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>PhotoEnhance API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:920px;margin:2rem auto;padding:0 1rem;color:#222}
code,pre{background:#f4f4f4;border-radius:4px;padding:.1rem .3rem}pre{padding:.6rem;overflow:auto;font-size:12px}
.op{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.4rem .8rem}.m{font-weight:700;margin-right:.5rem}
details summary{cursor:pointer}</style></head><body>
<h1>PhotoEnhance API</h1><p id="desc"></p>
<h2>Try it</h2>
<form id="f"><input type="file" name="file" accept="image/*" required>
<label>scale <input name="scale" type="number" min="1" max="16" value="4" style="width:4em"></label>
<label>quality_level <select name="quality_level"><option>auto</option><option>high</option><option>medium</option><option>fast</option></select></label>
<label>precision <select name="precision"><option>auto</option><option>fp32</option><option>fp16</option><option>int8</option></select></label>
<label>API key <input name="api_key" type="password" autocomplete="off" placeholder="only when API_KEYS is set" style="width:14em"></label>
<button>Enhance</button></form><pre id="out">—</pre>
<h2>Endpoints</h2><div id="ops"></div>
<script>
const out = document.getElementById('out');
document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  // The key travels as a header, never as a form field or in a URL.
  const key = form.get('api_key'); form.delete('api_key');
  const headers = key ? { authorization: 'Bearer ' + key } : {};
  const res = await fetch('/api/v1/enhance', { method: 'POST', body: form, headers });
  const task = await res.json();
  out.textContent = JSON.stringify(task, null, 2);
  if (!res.ok) return;
  for (;;) {
    const status = await (await fetch('/api/v1/status/' + task.task_id, { headers })).json();
    out.textContent = JSON.stringify(status, null, 2);
    if (status.status === 'completed') {
      const blob = await (await fetch('/api/v1/download/' + task.task_id, { headers })).blob();
      const img = document.createElement('img'); img.src = URL.createObjectURL(blob); img.style.maxWidth = '100%';
      out.after(img); break;
    }
    if (status.status === 'failed' || status.status === 'cancelled') break;
    await new Promise((r) => setTimeout(r, 1000));
  }
});
fetch('/openapi.json').then((r) => r.json()).then((doc) => {
  document.getElementById('desc').textContent = doc.info.description;
  const ops = document.getElementById('ops');
  for (const [path, item] of Object.entries(doc.paths)) for (const [method, op] of Object.entries(item)) {
    const div = document.createElement('div'); div.className = 'op';
    const head = document.createElement('div');
    head.innerHTML = '<span class="m"></span><code></code> — <span></span>';
    head.children[0].textContent = method.toUpperCase(); head.children[1].textContent = path; head.children[2].textContent = op.summary;
    const more = document.createElement('details'); const s = document.createElement('summary'); s.textContent = 'schema';
    const pre = document.createElement('pre'); pre.textContent = JSON.stringify({ requestBody: op.requestBody, parameters: op.parameters, responses: op.responses }, null, 2);
    more.append(s, pre); div.append(head, more); ops.append(div);
  }
});
</script></body></html>`;

export function docsRoutes(deps: RouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const document = buildOpenApiDocument({
    maxUploadBytes: deps.config.MAX_UPLOAD_BYTES,
    apiKeysRequired: deps.config.API_KEYS.length > 0,
    batchMaxFiles: deps.config.BATCH_MAX_FILES,
    maxDirectUploadBytes: deps.config.DIRECT_UPLOAD_MAX_BYTES,
  });
  app.get('/openapi.json', (c) => c.json(document));
  app.get('/docs', (c) => c.html(PAGE));
  return app;
}
