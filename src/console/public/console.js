// GES console: the little behaviour htmx does not cover. Loaded as a file (the CSP allows no
// inline script); everything here is optional comfort, the pages work without it.
(function () {
  'use strict';

  // Submit buttons with data-confirm ask first.
  document.addEventListener('submit', function (event) {
    var button = event.submitter;
    var message = button && button.getAttribute('data-confirm');
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // "Select all" of the callbacks table.
  document.addEventListener('change', function (event) {
    var target = event.target;
    if (target && target.id === 'select-all') {
      var boxes = document.querySelectorAll('#cb-form input[type=checkbox][name=id]');
      for (var i = 0; i < boxes.length; i++) boxes[i].checked = target.checked;
    }
  });

  // The callbacks table refreshes itself, except while the user is working in it: a refresh must
  // not drop a selection or move the keyboard focus.
  document.addEventListener('htmx:beforeRequest', function (event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || elt.id !== 'cb-results') return;
    var busy = elt.querySelector('input[type=checkbox]:checked') || elt.contains(document.activeElement);
    if (busy) event.preventDefault();
  });
})();
