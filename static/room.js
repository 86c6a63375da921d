// Rolodex room page: keeps the stream's ?after= at the last event seen.
// The htmx SSE extension builds a new EventSource after an error, from
// the sse-connect attribute and without Last-Event-ID, so the attribute
// has to carry the position for the reconnect to get what it missed.
(function () {
  "use strict";

  document.addEventListener("htmx:sseMessage", function (e) {
    var id = e.detail && e.detail.lastEventId;
    var room = document.getElementById("room");
    if (!id || !room) return;
    room.setAttribute("sse-connect", room.getAttribute("data-stream") + "?after=" + encodeURIComponent(id));
    if (e.detail.type === "message") {
      var list = document.getElementById("chat-list");
      if (list) list.scrollTop = list.scrollHeight;
    }
  });

  // "Copy" beside a guest's invite link.
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("[data-copy]");
    var input = button && document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    input.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(input.value).then(function () { button.textContent = "Copied"; });
    }
  });

  // After a message is sent, the fresh form takes the focus back.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target.id === "chat-form" || e.target.closest && e.target.closest("#chat-form")) {
      var box = document.getElementById("chat-body");
      if (box) box.focus();
    }
  });
})();
