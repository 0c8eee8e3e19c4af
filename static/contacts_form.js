// The contact form (templates/crm/contacts_form.html), loaded as a file: the
// Content-Security-Policy allows no inline script.
// "Add another" clones the last row with the next index; without JS the blank rows suffice.
document.querySelectorAll('[data-add-row]').forEach(function (button) {
  var list = document.querySelector('[data-rows="' + button.dataset.addRow + '"]');
  button.classList.remove('d-none');
  button.addEventListener('click', function () {
    var rows = list.querySelectorAll('[data-row]');
    var last = rows[rows.length - 1];
    var next = rows.length;
    var copy = last.cloneNode(true);
    var re = new RegExp('^' + button.dataset.addRow + '-\\d+-');
    copy.querySelectorAll('input, select, label').forEach(function (el) {
      ['id', 'name', 'for'].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v) el.setAttribute(attr, v.replace(re, button.dataset.addRow + '-' + next + '-'));
      });
      if (el.tagName === 'LABEL') el.textContent = el.textContent.replace(/\d+/, next + 1);
      if (el.tagName === 'INPUT') { el.value = ''; el.classList.remove('is-invalid'); }
    });
    copy.querySelectorAll('.invalid-feedback').forEach(function (el) { el.remove(); });
    list.appendChild(copy);
    copy.querySelector('input').focus();
  });
});
