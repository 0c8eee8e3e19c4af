// The sync run page (templates/sync/run_detail.html) follows an unfinished run live: status,
// message, "retrying at ..." and counts. When the run ends the spinner stops and the page
// reloads once to show the log. Loaded as a file: the Content-Security-Policy allows no
// inline script.
(function () {
  var live = document.getElementById('run-live');
  var COUNTS = ['created', 'updated', 'deleted', 'kept', 'skipped', 'conflicts', 'errors'];
  function show(id, text) {
    var el = document.getElementById(id);
    if (!el) { return; }
    el.classList.toggle('d-none', !text);
    if (text) { el.textContent = text; }
  }
  function render(data) {
    var badge = document.querySelector('[data-testid="run-status"]');
    if (badge) {
      badge.textContent = data.status_label;
      badge.className = 'badge text-bg-' + data.status_style;
    }
    var progress = document.getElementById('run-progress-text');
    if (progress) {
      progress.textContent = data.progress ||
        (data.status === 'retrying' ? 'Waiting for the next attempt…' : 'Waiting for a worker…');
    }
    show('run-message', data.message);
    show('run-retry', data.retry);
    COUNTS.forEach(function (k) {
      var cell = live.querySelector('[data-count="' + k + '"]');
      if (cell) { cell.textContent = data[k]; }
    });
  }
  function poll() {
    fetch(live.dataset.pollUrl, {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        render(data);
        if (data.finished) {
          document.getElementById('run-progress').classList.add('d-none');
          live.dataset.finished = 'true';
          window.location.reload();
          return;
        }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
