// The sync run page (templates/sync/run_detail.html) follows an unfinished run live, loaded
// as a file: the Content-Security-Policy allows no inline script.
(function () {
  var live = document.getElementById('run-live');
  function poll() {
    fetch(live.dataset.pollUrl, {headers: {'Accept': 'application/json'}, credentials: 'same-origin'})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.finished) { window.location.reload(); return; }
        var text = document.getElementById('run-progress-text');
        if (text) { text.textContent = data.progress || 'Waiting for a worker…'; }
        ['created', 'updated', 'deleted', 'skipped', 'conflicts', 'errors'].forEach(function (k) {
          var cell = live.querySelector('[data-count="' + k + '"]');
          if (cell) { cell.textContent = data[k]; }
        });
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
