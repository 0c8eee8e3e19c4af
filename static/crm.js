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

// Repeat section: show the interval and end only for a rule, the weekdays only for weekly
// ones, and keep the ticked weekday following the start date until the person picks days.
// Without JS every input stays visible and the server ignores the ones that do not apply.
(function () {
  "use strict";
  var freq = document.getElementById("repeat_freq");
  if (!freq) { return; }
  var start = document.getElementById("start_date");
  var boxes = Array.prototype.slice.call(document.querySelectorAll('input[name="repeat_weekdays"]'));
  function startBox() {
    var day = start && start.value ? new Date(start.value + "T12:00:00") : null;
    return day && !isNaN(day) ? boxes[(day.getDay() + 6) % 7] : null;
  }
  var followed = startBox();
  function checked() { return boxes.filter(function (b) { return b.checked; }); }
  function sync() {
    var rule = freq.value !== "" && freq.value !== "keep";
    document.querySelectorAll(".repeat-rule").forEach(function (el) { el.hidden = !rule; });
    document.querySelectorAll(".repeat-weekly").forEach(function (el) {
      el.hidden = freq.value !== "WEEKLY";
    });
    if (freq.value === "WEEKLY" && !checked().length && startBox()) { startBox().checked = true; }
  }
  if (start) {
    start.addEventListener("change", function () {
      var now = checked(), next = startBox();
      if (next && now.length === 1 && now[0] === followed) { followed.checked = false; next.checked = true; }
      followed = next;
    });
  }
  freq.addEventListener("change", sync);
  sync();
})();
