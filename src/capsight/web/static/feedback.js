/* capsight upload page: "Is this right?", the answer a person gives about a result, sent to v1/feedback.
 *
 * Loaded before app.js, which calls window.capsightFeedback(el, state, helpers) once and gets back the
 * function that offers the question for a new result. Kept apart from the upload code it shares
 * nothing with but the page's elements, its state (answer, apiKey, feedbackRefused) and a few helpers.
 */
(function () {
  "use strict";

  window.capsightFeedback = function (el, state, helpers) {
    var bdi = helpers.bdi;
    var errorFromResponse = helpers.errorFromResponse;
    var stallMs = helpers.stallMs;
    var maxChoiceButtons = helpers.maxChoiceButtons;
    // The header's model line (model.js): asked again when a send finds the server gone, as an upload
    // does; the header kept "Model … ready" beside "Could not reach the server".
    var recheckServer = helpers.recheckServer || function () {};
    // Leaving the page asks first while an answer is sent or waits in line (http.js; absent from an
    // http.js cached before it).
    var http = window.capsightHttp || {};
    var hold = http.hold || function () { return function () {}; };

    function showFeedback(body, labels) {
      state.answer = { requestId: body.request_id, label: body.label };
      // A server without a request log refuses every answer (409): ask once, not about every photo.
      el.feedback.hidden = state.feedbackRefused || !body.request_id;
      el.feedbackStatus.textContent = "";
      el.feedbackStatus.classList.remove("failed");
      el.feedbackYes.dataset.label = body.label;
      el.feedbackYes.setAttribute("aria-pressed", "false");
      el.feedbackLabels.textContent = "";
      var others = labels.filter(function (label) { return label !== body.label; });
      if (others.length > maxChoiceButtons) {
        showChoiceList(others);
        return;
      }
      others.forEach(function (label) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "button small";
        button.dir = "auto";
        button.dataset.label = label;
        button.setAttribute("aria-pressed", "false");
        // Tabbing from "Yes", a screen reader says only the button's name: "closed" alone reads as a
        // second choice of answer, not as the correction it is.
        button.setAttribute("aria-label", "No, it is " + label);
        button.textContent = label;
        el.feedbackLabels.appendChild(button);
      });
    }

    // Every other class, A to Z (a select finds one by its first letters), and a button to send it.
    function showChoiceList(others) {
      var select = document.createElement("select");
      select.id = "feedback-select";
      select.className = "feedback-select";
      select.setAttribute("aria-label", "No, it is");
      select.add(new Option("choose the right class…", ""));
      others.slice().sort(function (a, b) { return a.localeCompare(b); }).forEach(function (label) {
        select.add(new Option(label, label));
      });
      var send = document.createElement("button");
      send.type = "button";
      send.id = "feedback-send";
      send.className = "button small";
      send.textContent = "Send";
      send.addEventListener("click", function () {
        if (select.value) sendFeedback(select.value);
        else select.focus();
      });
      el.feedbackLabels.appendChild(select);
      el.feedbackLabels.appendChild(send);
    }

    // The recorded answer stays marked (aria-pressed), so it is clear which one the server has.
    function markChosen(label) {
      var buttons = [el.feedbackYes].concat(Array.prototype.slice.call(el.feedbackLabels.querySelectorAll("button[data-label]")));
      buttons.forEach(function (button) {
        button.setAttribute("aria-pressed", button.dataset.label === label ? "true" : "false");
      });
      var select = el.feedbackLabels.querySelector("select");
      if (select) select.value = label === el.feedbackYes.dataset.label ? "" : label;
    }

    // The server keeps the last answer it receives. Sent one after another, in the order clicked, so
    // "closed" then "Yes" never arrive the other way round; only the last click's outcome is shown.
    var feedbackQueue = Promise.resolve();
    var feedbackClicks = 0;

    function sendFeedback(label) {
      var answer = state.answer;
      if (!answer || !answer.requestId) return;
      var headers = { Accept: "application/json", "Content-Type": "application/json" };
      if (state.apiKey) headers.Authorization = "Bearer " + state.apiKey;
      var click = ++feedbackClicks;
      var latest = function () { return state.answer === answer && click === feedbackClicks; };
      el.feedbackStatus.classList.remove("failed");
      el.feedbackStatus.textContent = "Sending…";
      var release = hold(); // from the click: an answer waiting in line is lost on leaving too
      feedbackQueue = feedbackQueue.then(function () {
        return postFeedback(answer, label, headers, latest);
      }).then(release, release);
    }

    function postFeedback(answer, label, headers, latest) {
      // Answers wait in line for this one: unanswered, it held every later answer, "Sending…" for ever.
      var controller = new AbortController();
      var timer = window.setTimeout(function () { controller.abort(); }, stallMs);
      var reached = false; // an answer came back, whatever it said
      return fetch("v1/feedback", {
        method: "POST",
        headers: headers,
        body: JSON.stringify({ request_id: answer.requestId, label: label }),
        signal: controller.signal,
      })
        .then(function (res) {
          reached = true;
          return res.text().then(function (text) {
            var body = null;
            try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
            if (!res.ok) {
              if (res.status === 409) state.feedbackRefused = true;
              if (res.status === 502 || res.status === 504) recheckServer(); // a proxy, the app behind it gone
              // Refused for now (429, 503): clicking again at once only meets the same refusal.
              var againAt = window.capsightText.againAt; // absent from a text.js cached before it
              var again = againAt && (res.status === 429 || res.status === 503) ? againAt(res.headers.get("Retry-After")) : "";
              throw new Error(errorFromResponse(res, body) + again);
            }
            return body;
          });
        })
        .then(function (body) {
          if (!latest()) return; // a newer photo is on screen, or a newer answer on its way
          markChosen(label);
          // A server that stores no images keeps the answer but cannot train on it: "Thanks" made a
          // person believe their corrections would improve the model. Its own warning says why.
          var untrainable = body && body.usable_for_training === false;
          el.feedbackStatus.textContent = untrainable ? "Recorded that this is " : "Thanks: recorded that this is ";
          el.feedbackStatus.append(bdi(label));
          if (label !== answer.label) el.feedbackStatus.append(", not ", bdi(answer.label));
          el.feedbackStatus.append(".");
          if (untrainable) {
            el.feedbackStatus.append(" " + (body.warning || "This server cannot use it to retrain the model."));
          }
        })
        .catch(function (err) {
          // Whichever photo is on screen now, the header should not keep saying the server is there.
          if (!reached && !controller.signal.aborted) recheckServer();
          if (!latest()) return;
          el.feedbackStatus.classList.add("failed");
          if (controller.signal.aborted) {
            el.feedbackStatus.textContent = "The server did not answer for " + stallMs / 1000 +
              " s: your answer was not recorded. Please try again.";
            return;
          }
          el.feedbackStatus.textContent = err instanceof TypeError
            ? "Could not reach the server to send your answer."
            : "Your answer was not recorded: " + err.message;
        })
        .finally(function () { window.clearTimeout(timer); });
    }

    el.feedbackYes.addEventListener("click", function () { sendFeedback(el.feedbackYes.dataset.label); });
    el.feedbackLabels.addEventListener("click", function (e) {
      var button = e.target.closest ? e.target.closest("button") : null;
      if (button && button.dataset.label) sendFeedback(button.dataset.label);
    });

    return showFeedback;
  };
})();
