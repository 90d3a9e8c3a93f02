/* capsight upload page: the "Try again" button after a refusal that says when to come back (429, 503
 * with Retry-After). Loaded before app.js as window.capsightRetry(el, state, helpers).
 *
 * Offered at once, "Try again" only met the same refusal again (a 429 saying "retry in 28 min"). Until
 * the wait is over the button says how long is left and does nothing. aria-disabled, not disabled: a
 * disabled button would drop the keyboard focus to <body>. Its text sits in the error's alert region;
 * aria-live="off" on the button (index.html) keeps the countdown from being read out at every change.
 * When the wait is over, the status region says so once.
 */
(function () {
  "use strict";

  window.capsightRetry = function (el, state, helpers) {
    var waitText = helpers.waitText;
    var timer = 0;
    var until = 0;

    function stop() {
      window.clearInterval(timer);
      timer = 0;
      el.retryButton.setAttribute("aria-disabled", "false");
      el.retryButton.textContent = "Try again";
    }

    function tick() {
      var left = Math.ceil((until - Date.now()) / 1000);
      if (left <= 0) {
        stop();
        el.status.textContent = "You can try again now.";
        return;
      }
      var text = "Try again in " + waitText(left);
      if (el.retryButton.textContent !== text) el.retryButton.textContent = text;
    }

    // seconds: how long the server asked to wait (0 or less: the button is offered at once).
    function wait(seconds) {
      stop();
      if (!(seconds > 0)) return;
      until = Date.now() + seconds * 1000;
      el.retryButton.setAttribute("aria-disabled", "true");
      tick();
      timer = window.setInterval(tick, 1000);
    }

    function waiting() { return timer !== 0; }

    return { wait: wait, stop: stop, waiting: waiting };
  };
})();
