/* Logs that keep up (issue 15, item 2). The logs box of a run page opens at its newest line;
   while the reader is at its bottom, new lines appended by the follow row keep it there;
   anywhere else, new lines never move what the reader is reading. */
(function () {
  "use strict";
  if (window.runsLogsFollow) return;
  window.runsLogsFollow = true;

  var NEAR = 24; // px from the bottom that still count as "at the bottom"
  var pending = null; // what to do after the swap that was just announced: "page" or "follow"
  var stick = false;

  function box() { return document.querySelector("#log-lines .log-scroll"); }
  function atBottom(el) { return el.scrollHeight - el.scrollTop - el.clientHeight <= NEAR; }

  function place() {
    var el = box();
    if (el) el.scrollTop = el.dataset.scroll === "bottom" ? el.scrollHeight : 0;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    if (!target) return;
    if (target.id === "logs") {
      pending = "page";
    } else if (target.id === "log-lines" || target.closest("#log-lines")) {
      var el = box();
      pending = "follow";
      stick = !el || atBottom(el);
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    if (pending === "page") {
      place();
    } else if (pending === "follow" && stick) {
      var el = box();
      if (el) el.scrollTop = el.scrollHeight;
    }
    pending = null;
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", place);
  } else {
    place();
  }
})();
