/**
 * The watch page's only script: it follows the run's server-sent events and writes text into
 * the page (textContent only: every value comes from suspect firmware). Repeats from a replay are
 * skipped, leaks by id.
 */
export const WATCH_SCRIPT = `'use strict';
(function () {
  var main = document.getElementById('watch');
  if (!main) return;
  var runId = main.getAttribute('data-run-id');
  var seen = new Set();
  var rows = document.getElementById('leak-rows');
  var count = document.getElementById('leak-count');
  var status = document.getElementById('run-status');
  function cell(tr, text) { var td = document.createElement('td'); td.textContent = text; tr.appendChild(td); }
  function onStage(p) {
    var li = document.getElementById('stage-' + p.stage);
    if (!li) return;
    var order = { pending: 0, started: 1, done: 2, failed: 2, skipped: 2 };
    var current = li.getAttribute('data-status') || 'pending';
    if (order[p.status] < order[current]) return;
    li.setAttribute('data-status', p.status);
    li.className = 'stage-' + p.status;
    li.querySelector('.status').textContent = p.status;
    if (p.message) li.querySelector('.note').textContent = p.message;
    if (p.status === 'started') status.textContent = 'running: ' + p.stage + ' (' + (p.index + 1) + '/' + p.total + ')';
  }
  function onLeak(leak) {
    if (seen.has(leak.id)) return;
    seen.add(leak.id);
    var tr = document.createElement('tr');
    tr.className = 'leak';
    cell(tr, new Date(leak.t).toISOString().slice(11, 19) + 'Z');
    cell(tr, leak.canary.kind + ' ' + leak.canary.id);
    var d = leak.destination;
    cell(tr, (d.host || d.ip || d.channel) + (d.port ? ':' + d.port : ''));
    cell(tr, leak.app || '');
    cell(tr, (leak.transforms || []).join(' > '));
    rows.appendChild(tr);
    count.textContent = String(seen.size);
  }
  var source = new EventSource('/api/runs/' + encodeURIComponent(runId) + '/events');
  source.addEventListener('progress', function (e) {
    var p = JSON.parse(e.data);
    if (p.type === 'stage') onStage(p);
    else if (p.type === 'leak') onLeak(p.leak);
  });
  source.addEventListener('waiting', function (e) {
    var waiting = JSON.parse(e.data);
    if (!main.hasAttribute('data-ended') && waiting.text) status.textContent = waiting.text;
  });
  source.addEventListener('end', function (e) {
    var end = JSON.parse(e.data);
    source.close();
    status.className = 'ended-' + end.status;
    status.textContent = end.status === 'completed' ? 'finished'
      : end.status === 'cancelled' ? 'cancelled by user'
      : 'failed: ' + (end.reason || 'unknown');
    var cancelForm = document.getElementById('cancel-form');
    if (cancelForm) cancelForm.remove();
    if (end.status === 'completed') document.getElementById('report-link').hidden = false;
    main.setAttribute('data-ended', end.status);
  });
})();
`;
