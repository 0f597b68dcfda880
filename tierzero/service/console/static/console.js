// tierzero console: the only script of our own. It counts time left down (SLA, approval
// windows, leases) from the seconds the server rendered; everything else works without it.
"use strict";
(function () {
  function label(seconds) {
    var past = seconds < 0;
    var s = Math.abs(seconds);
    var text = s >= 86400 ? Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h"
      : s >= 3600 ? Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min"
      : s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s"
      : s + " s";
    return past ? "overdue by " + text : text + " left";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".countdown[data-seconds-left]").forEach(function (el) {
      if (!el.dataset.until) {
        el.dataset.until = String(now + 1000 * parseInt(el.dataset.secondsLeft, 10));
        el.title = el.textContent;
      }
      var left = Math.round((parseInt(el.dataset.until, 10) - now) / 1000);
      el.textContent = label(left);
      el.classList.toggle("overdue", left < 0);
    });
  }
  // The chat: the answer streams in as server-sent events. Everything the answer holds is
  // put on the page as text (textContent); only evidence ids of the form E123 become links,
  // to anchors on this page.
  function element(tag, text, className) {
    var el = document.createElement(tag);
    if (text !== undefined) { el.textContent = text; }
    if (className) { el.className = className; }
    return el;
  }
  function citations(ids) {
    var line = element("p", "Cites: ", "chat-cites");
    ids.filter(function (id) { return /^E[0-9]{1,4}$/.test(id); }).forEach(function (id, i) {
      if (i) { line.appendChild(document.createTextNode(", ")); }
      var link = element("a", id, "cite");
      link.href = "#evidence-" + id;
      line.appendChild(link);
    });
    return line;
  }
  function decisions(actions) {
    var list = element("ul", undefined, "chat-actions");
    actions.forEach(function (a) {
      var item = element("li");
      item.appendChild(element("strong", a.action + " " + a.target + ": "));
      item.appendChild(element("span", String(a.outcome).replace(/_/g, " "), "outcome " + a.outcome));
      item.appendChild(document.createTextNode(" (" + a.rule_id + ") " + a.reason +
        (a.status ? "; action " + (a.action_id || "") + " " + String(a.status).replace(/_/g, " ") : "")));
      list.appendChild(item);
    });
    return list;
  }
  function ask(form) {
    var section = form.closest("section");
    var log = section.querySelector(".chat-log");
    var progress = section.querySelector(".chat-progress");
    var input = form.querySelector("input[name=message]");
    var turn = element("div", undefined, "chat-turn");
    turn.appendChild(element("p", input.value, "chat-question"));
    var answer = element("p", "", "chat-answer");
    turn.appendChild(answer);
    log.appendChild(turn);
    var body = new URLSearchParams(new FormData(form));
    input.value = "";
    form.querySelector("button").disabled = true;
    progress.textContent = "asking…";
    function handle(kind, data) {
      if (kind === "progress") { progress.textContent = data.text; }
      else if (kind === "answer") { answer.textContent += data.text; }
      else if (kind === "done") {
        progress.textContent = "answered by " + data.answered_by + (data.note ? " (" + data.note + ")" : "");
        if (data.evidence && data.evidence.length) { turn.appendChild(citations(data.evidence)); }
        if (data.actions && data.actions.length) { turn.appendChild(decisions(data.actions)); }
      } else if (kind === "error") { progress.textContent = "error: " + data.error; }
    }
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "text/event-stream" } }).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) {
          var reason = text;
          try { reason = JSON.parse(text).error; } catch (e) { /* not JSON: show as text */ }
          handle("error", { error: response.status + " " + reason });
        });
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { return; }
          buffer += decoder.decode(chunk.value, { stream: true });
          var events = buffer.split("\n\n");
          buffer = events.pop();
          events.forEach(function (block) {
            var kind = "message", data = "";
            block.split("\n").forEach(function (line) {
              if (line.indexOf("event: ") === 0) { kind = line.slice(7); }
              else if (line.indexOf("data: ") === 0) { data += line.slice(6); }
            });
            try { handle(kind, JSON.parse(data)); } catch (e) { handle("error", { error: "unreadable answer" }); }
          });
          return pump();
        });
      }
      return pump();
    }).catch(function (e) { handle("error", { error: String(e) }); })
      .then(function () { form.querySelector("button").disabled = false; });
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    document.body.addEventListener("htmx:afterSwap", tick);
    document.querySelectorAll("form[data-chat]").forEach(function (form) {
      form.addEventListener("submit", function (event) { event.preventDefault(); ask(form); });
    });
  });
})();
