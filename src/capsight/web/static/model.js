/* capsight upload page: the model line in the header ("Model bottle-status · v1.2.0", or unavailable)
 * and the upload limit the server advertises. Loaded before app.js, which calls
 * window.capsightModel(el, state, helpers) once and gets back the function that asks the server.
 */
(function () {
  "use strict";

  window.capsightModel = function (el, state, helpers) {
    var formatBytes = helpers.formatBytes;
    var versionText = helpers.versionText;
    var stallMs = helpers.stallMs;

    function pickModel(body) {
      var list = Array.isArray(body) ? body : body && (body.models || body.data || body.items);
      if (!Array.isArray(list) || !list.length) return body && body.name ? body : null;
      for (var i = 0; i < list.length; i++) {
        var m = list[i];
        if (m && (m.default === true || m.is_default === true || (m.aliases || []).indexOf("default") >= 0)) return m;
      }
      return list[0];
    }

    function applyLimits(body) {
      var limit = body && (body.max_upload_bytes || (body.limits && body.limits.max_upload_bytes));
      if (typeof limit === "number" && limit > 0) {
        state.maxUploadBytes = limit;
        el.maxSize.textContent = formatBytes(limit);
      }
    }

    // Also asked again when an upload finds the server gone: the header kept "Model … ready" beside
    // "Could not reach the server". One question at a time, and one retry waiting at most.
    function loadModelInfo() {
      if (state.modelAsking) return;
      state.modelAsking = true;
      window.clearTimeout(state.modelTimer);
      // Never answered (a starting server behind a proxy that holds the request), it said "Loading
      // model…" for ever and was never asked again: given up, it is asked again below.
      var controller = new AbortController();
      var timer = window.setTimeout(function () { controller.abort(); }, stallMs);
      fetch("v1/models", { headers: { Accept: "application/json" }, signal: controller.signal })
        .then(function (res) {
          if (!res.ok) throw new Error("HTTP " + res.status);
          return res.json();
        })
        .then(function (body) {
          applyLimits(body);
          var model = pickModel(body);
          if (!model) throw new Error("no model listed");
          var text = "Model " + (model.name || "unnamed") + (model.version ? " · " + versionText(model.version) : "");
          el.modelText.textContent = text;
          state.modelShown = { name: model.name, version: model.version };
          el.modelInfo.classList.add("ready");
          el.modelInfo.title = model.labels ? "Classes: " + model.labels.join(", ") : "";
        })
        .then(function () {
          state.modelRetryMs = 0;
          el.modelInfo.classList.remove("down");
        })
        .catch(function () {
          el.modelText.textContent = "Model information unavailable";
          el.modelInfo.classList.remove("ready");
          el.modelInfo.classList.add("down");
          // The server may still be loading the model (503) or restarting: ask again, less and less often.
          state.modelRetryMs = Math.min(30000, (state.modelRetryMs || 500) * 2);
          state.modelTimer = window.setTimeout(loadModelInfo, state.modelRetryMs);
        })
        .finally(function () {
          window.clearTimeout(timer);
          state.modelAsking = false;
        });
    }

    // An answer from another model than the header names (one reloaded since the page was opened, a
    // new version promoted): the header kept naming the old one above the new one's answers. An answer
    // while the header says "unavailable": it kept saying so until its next try, up to 30 s later. Ask again.
    loadModelInfo.follow = function (model) {
      var shown = state.modelShown;
      if (!model) return;
      var other = !shown || model.name !== shown.name || String(model.version) !== String(shown.version);
      if (other || el.modelInfo.classList.contains("down")) loadModelInfo();
    };

    return loadModelInfo;
  };
})();
