/* capsight upload page: the "Try again" button after a refusal that says when to come back (429, 503
 * with Retry-After). Loaded before app.js as window.capsightRetry(el, state, helpers).
 *
 * Offered at once, "Try again" only met the same refusal again (a 429 saying "retry in 28 min"). Until
 * the wait is over the button says how long is left and does nothing. aria-disabled, not disabled: a
 * disabled button would drop the keyboard focus to <body>. Its text sits in the error's alert region;
 * aria-live="off" on the button (index.html) keeps the countdown from being read out at every change.
 * When the wait is over, the status region says so once.
 *
 * The error message says the wait too, "(retry in 28 min)": written once from the answer, it disagreed
 * with the button a minute later. Both now read the one deadline kept here, at every tick. The wait in
 * the message is its own span with aria-live="off": read out with the alert when it appears, not at
 * every change after.
 */
(function () {
  "use strict";

  window.capsightRetry = function (el, state, helpers) {
    var waitText = helpers.waitText;
    var clockText = helpers.clockText;
    var timer = 0;
    var until = 0;
    var at = ""; // a long wait, said as the moment on the clock ("after Mon 30 Nov, 10:00"); "": counted down
    var note = document.createElement("span");
    note.className = "retry-wait";
    note.setAttribute("aria-live", "off");

    function show(node, text) {
      if (node.textContent !== text) node.textContent = text;
    }

    function stop() {
      window.clearInterval(timer);
      timer = 0;
      el.retryButton.setAttribute("aria-disabled", "false");
      el.retryButton.textContent = "Try again";
      if (note.parentNode) note.parentNode.removeChild(note);
    }

    function tick() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        window.clearInterval(timer);
        timer = 0;
        el.retryButton.setAttribute("aria-disabled", "false");
        el.retryButton.textContent = "Try again";
        show(note, " (you can retry now)");
        el.status.textContent = "You can try again now.";
        return;
      }
      var when = at ? "after " + at : "in " + waitText(left);
      show(note, " (retry " + when + ")");
      show(el.retryButton, "Try again " + when);
    }

    // seconds: how long the server asked to wait, from its Retry-After (NaN: it did not say, nothing
    // shown; 0 or less: the button is offered at once). Call after the error message is written: the
    // wait is added to its end.
    function wait(seconds) {
      stop();
      if (!isFinite(seconds)) return;
      el.errorMessage.appendChild(note);
      if (!(seconds > 0)) {
        show(note, " (you can retry now)");
        return;
      }
      // Weeks or years away is a clock or a date gone wrong, not a wait: "Try again" stays offered.
      if (seconds > (helpers.absurdWaitSeconds || Infinity)) {
        show(note, " (retry later)");
        return;
      }
      at = clockText && seconds > helpers.longWaitSeconds ? clockText(seconds) : "";
      until = Date.now() + seconds * 1000;
      el.retryButton.setAttribute("aria-disabled", "true");
      tick();
      timer = window.setInterval(tick, 1000);
    }

    function waiting() { return timer !== 0; }

    return { wait: wait, stop: stop, waiting: waiting };
  };
})();
