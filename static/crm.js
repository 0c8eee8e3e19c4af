// Activity form: hide the time inputs while "All day" is ticked and say which dates mean what.
(function () {
  "use strict";
  var allDay = document.getElementById("all_day");
  if (!allDay) { return; }
  var timed = document.querySelectorAll(".activity-form .timed-only");
  var labels = {
    start_date: ["Start date", "First day"],
    end_date: ["End date", "Last day (included)"]
  };
  function sync() {
    var on = allDay.checked;
    timed.forEach(function (el) { el.hidden = on; });
    Object.keys(labels).forEach(function (id) {
      var label = document.querySelector('label[for="' + id + '"]');
      if (label) { label.textContent = labels[id][on ? 1 : 0]; }
    });
  }
  allDay.addEventListener("change", sync);
  sync();
})();
