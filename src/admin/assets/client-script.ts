/**
 * The panel's only script, small progressive enhancements over pages that
 * work without it: the redirect URI copy button, confirmations, and the live
 * log tail over server-sent events.
 */
export const CLIENT_SCRIPT = `'use strict';
document.querySelectorAll('button[data-copy]').forEach(function (button) {
  var source = document.getElementById(button.getAttribute('data-copy'));
  if (!source) return;
  button.hidden = false;
  button.addEventListener('click', function () {
    var done = function () { button.textContent = 'Copied'; setTimeout(function () { button.textContent = 'Copy'; }, 2000); };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
    } else {
      source.select();
      try { document.execCommand('copy'); done(); } catch (e) { /* the text stays selected for Ctrl+C */ }
    }
  });
});
document.querySelectorAll('form[data-confirm]').forEach(function (form) {
  form.addEventListener('submit', function (event) {
    if (!window.confirm(form.getAttribute('data-confirm'))) event.preventDefault();
  });
});
var tail = document.getElementById('live-tail');
if (tail && window.EventSource) {
  var state = document.getElementById('live-tail-state');
  var source = new EventSource('/log/events?after=' + encodeURIComponent(tail.getAttribute('data-after') || '0'));
  source.addEventListener('queue', function (message) {
    var e = JSON.parse(message.data);
    var item = document.createElement('li');
    var time = document.createElement('time');
    time.dateTime = new Date(e.at).toISOString();
    // The format of formatTime (src/time-format.ts), which this script cannot import.
    time.textContent = time.dateTime.slice(0, 10) + ' ' + time.dateTime.slice(11, 19) + ' UTC';
    item.appendChild(time);
    item.appendChild(document.createTextNode(' ' + e.server + ' '));
    var kind = document.createElement('strong');
    kind.textContent = e.kind;
    item.appendChild(kind);
    item.appendChild(document.createTextNode(' '));
    if (e.messageId) {
      var link = document.createElement('a');
      link.href = '/log/' + encodeURIComponent(e.messageId);
      link.textContent = e.messageId;
      item.appendChild(link);
    }
    item.appendChild(document.createTextNode(' ' + (e.detail || '')));
    tail.insertBefore(item, tail.firstChild);
    while (tail.children.length > 200) tail.removeChild(tail.lastChild);
  });
  source.addEventListener('open', function () { if (state) state.dataset.live = 'on'; });
}
`;
