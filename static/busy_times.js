// Activity form: refresh the "Busy in Google Calendar" box when the organizer, the
// participants or the start date change (GET /activities/busy-times; one freeBusy call per
// refresh, answered even when Google is slow). Text only: nothing from the answer becomes
// markup.
(function () {
  "use strict";
  var box = document.querySelector("[data-testid='busy-times']");
  if (!box) { return; }
  var day = document.getElementById("start_date");
  var organizer = document.getElementById("organizer_id");
  var participants = document.getElementById("participants");
  var pending = null;
  var counter = 0;

  function part(name) { return box.querySelector("[data-busy='" + name + "']"); }

  function people() {
    var ids = [];
    if (organizer && organizer.value) { ids.push(organizer.value); }
    if (participants) {
      Array.prototype.forEach.call(participants.selectedOptions, function (opt) {
        if (ids.indexOf(opt.value) < 0) { ids.push(opt.value); }
      });
    }
    return ids;
  }

  function show(data) {
    var message = part("message");
    message.textContent = data.message || "";
    message.hidden = !data.message;
    if (data.date) {
      var shown = new Date(data.date + "T12:00:00");
      part("day").textContent = isNaN(shown) ? data.date : shown.toDateString();
    }
    var list = part("people");
    while (list.firstChild) { list.removeChild(list.firstChild); }
    (data.people || []).forEach(function (person) {
      var item = document.createElement("li");
      item.setAttribute("data-user-id", person.id);
      item.setAttribute("data-state", person.state);
      var name = document.createElement("span");
      name.className = "fw-semibold";
      name.textContent = person.name;
      item.appendChild(name);
      item.appendChild(document.createTextNode(": " + person.label));
      list.appendChild(item);
    });
  }

  function refresh() {
    if (!day || !day.value) { return; }
    var params = new URLSearchParams();
    params.append("date", day.value);
    people().forEach(function (id) { params.append("user", id); });
    if (box.dataset.activity) { params.append("activity", box.dataset.activity); }
    var mine = ++counter;
    box.setAttribute("aria-busy", "true");
    fetch(box.dataset.url + "?" + params.toString(), {credentials: "same-origin",
                                                      headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.json();
      })
      .then(function (data) { if (mine === counter) { show(data); } })
      .catch(function () {
        if (mine === counter) {
          show({message: "Busy times unavailable.", people: []});
        }
      })
      .then(function () { if (mine === counter) { box.removeAttribute("aria-busy"); } });
  }

  function later() {
    // Typing a date fires many changes: ask once the person paused.
    clearTimeout(pending);
    pending = setTimeout(refresh, 300);
  }

  [day, organizer, participants].forEach(function (el) {
    if (el) { el.addEventListener("change", later); }
  });
})();
