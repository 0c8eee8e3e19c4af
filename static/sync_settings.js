// Google Calendar settings (templates/google/sync_settings.html): a type set to "Not
// synchronized" has nothing to export or import, so its switches are greyed out; choosing
// a calendar turns them back on as they were.
(function () {
  document.querySelectorAll('.mapping-row').forEach(function (row) {
    var select = row.querySelector('select[name$="calendar"]');
    if (!select) { return; }
    function update() {
      var off = !select.value;
      row.querySelectorAll('.sync-switches input[type="checkbox"]').forEach(function (box) {
        box.disabled = off;
      });
      var note = row.querySelector('.unsynced-note');
      if (note) { note.classList.toggle('d-none', !off); }
    }
    select.addEventListener('change', update);
    // A calendar chosen before this script ran (a slow page) counts too.
    update();
  });
})();
