/* capsight upload page: the photo's preview and the answer about it (label, confidence, a bar per
 * class). Loaded before app.js, which calls window.capsightResult(el, state, helpers) once.
 */
(function () {
  "use strict";

  window.capsightResult = function (el, state, helpers) {
    var percent = helpers.percent;
    var bdi = helpers.bdi;
    var versionText = helpers.versionText;
    var showFeedback = helpers.showFeedback;
    var clearStatus = helpers.clearStatus;
    var lowConfidence = helpers.lowConfidence;
    var maxBars = helpers.maxBars;

    // Said in the drop zone when the browser cannot draw a photo the server classified (TIFF, or HEIC in
    // Chromium): the bare "Drop a photo here" beside the answer read as if the photo had not been taken.
    var missing = document.createElement("p");
    missing.className = "preview-missing";
    missing.hidden = true;
    el.dropPrompt.insertBefore(missing, el.dropPrompt.querySelector(".drop-title"));

    function clearPreview() {
      missing.hidden = true;
      if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
      state.previewUrl = null;
      el.preview.removeAttribute("src");
      el.preview.hidden = true;
      el.dropPrompt.hidden = false;
      el.dropZone.classList.remove("has-image");
    }

    // format: the server's name for it ("WEBP"): a file may come with no type, or a wrong one.
    function showPreview(file, format) {
      if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
      var url = URL.createObjectURL(file);
      state.previewUrl = url;
      el.preview.onerror = function () {
        // Formats the browser cannot display (e.g. TIFF) can still be classified by the server.
        if (!el.preview.getAttribute("src")) return; // cleared for the next photo, not a failure
        // As the server names the format, but an iPhone's "IMG_0042.HEIC" as HEIC (the server says HEIF).
        var kind = format === "HEIF" && /\.heic$/i.test(file.name || "") ? "HEIC" : format;
        missing.textContent = "No preview: this browser cannot show " + (kind ? kind + " images" : "this image") +
          " (the photo was classified all the same).";
        missing.hidden = false;
        el.preview.hidden = true;
        el.dropPrompt.hidden = false;
        el.dropZone.classList.remove("has-image");
      };
      // The answer is placed before the photo above it has loaded: a portrait photo then grows the drop
      // zone and pushes the result card below a phone's screen. Look again once the photo is laid out.
      el.preview.onload = function () {
        if (!el.result.hidden) revealIfBelow(el.result.parentNode);
      };
      // Shown with its picture, never before: an <img> without one is drawn as a broken-image box with
      // the alt text in it (a WebP is read for its orientation first, which takes a moment).
      function show(src) {
        missing.hidden = true;
        el.preview.src = src;
        el.preview.alt = "Preview of " + (file.name || "the selected photo");
        el.preview.hidden = false;
        el.dropPrompt.hidden = true;
        el.dropZone.classList.add("has-image");
      }
      var fmt = String(format || "").toUpperCase() || (file.type === "image/webp" ? "WEBP" : "");
      var still = window.capsightStill && (fmt === "GIF" || fmt === "PNG" || fmt === "WEBP");
      if (fmt !== "WEBP" && !still) {
        show(url);
        return;
      }
      // The server turns a photo by its EXIF orientation before classifying it; Chromium and Firefox draw
      // a WebP as stored, so a phone photo lay on its side beside the answer about it (orientation.js).
      var turned = fmt === "WEBP" && window.capsightOrientation ? window.capsightOrientation.webpPreviewUrl(file, url) : Promise.resolve(url);
      // An animation is shown as the frame the server classified, its first (still.js). A turned copy
      // is drawn on a canvas: a still already.
      turned
        .then(function (shown) { return still && shown === url ? window.capsightStill.previewUrl(file, fmt, url) : shown; })
        .catch(function () { return url; })
        .then(function (shown) {
          if (state.previewUrl !== url) { // a newer photo, or none, since
            if (shown !== url) URL.revokeObjectURL(shown);
            return;
          }
          if (shown !== url) {
            URL.revokeObjectURL(url);
            state.previewUrl = shown;
          }
          show(shown);
        });
    }

    function showResult(body) {
      var probs = body.probabilities || {};
      var entries = Object.keys(probs).map(function (label) { return [label, Number(probs[label])]; });
      entries.sort(function (a, b) { return b[1] - a[1]; });

      el.resultLabel.textContent = body.label;
      el.resultConfidence.textContent = percent(body.confidence) + " confidence";
      var low = Number(body.confidence) < lowConfidence;
      el.resultConfidence.classList.toggle("low", low);
      el.resultNote.hidden = !low;
      el.resultNote.textContent = low ? "The model is unsure about this photo; a clearer, closer shot may help." : "";

      el.probabilities.textContent = "";
      entries.slice(0, maxBars).forEach(function (entry) {
        var li = document.createElement("li");
        li.className = "prob-row" + (entry[0] === body.label ? " top" : "");
        li.dataset.label = entry[0];
        li.dataset.probability = String(entry[1]);
        var name = document.createElement("span");
        name.className = "prob-label";
        name.dir = "auto";
        name.textContent = entry[0];
        var value = document.createElement("span");
        value.className = "prob-value";
        value.textContent = percent(entry[1]);
        var track = document.createElement("span");
        track.className = "prob-track";
        track.setAttribute("aria-hidden", "true");
        var bar = document.createElement("span");
        bar.className = "prob-bar";
        track.appendChild(bar);
        li.appendChild(name);
        li.appendChild(value);
        li.appendChild(track);
        el.probabilities.appendChild(li);
        // Set the width after insertion so the bar animates from zero.
        requestAnimationFrame(function () { bar.style.width = (Math.max(0, Math.min(1, entry[1])) * 100) + "%"; });
      });
      if (entries.length > maxBars) {
        var rest = entries.slice(maxBars).reduce(function (sum, entry) { return sum + (entry[1] || 0); }, 0);
        var more = document.createElement("li");
        more.className = "prob-more";
        more.textContent = (entries.length - maxBars) + " more of the " + entries.length + " classes: " +
          percent(rest) + " together";
        el.probabilities.appendChild(more);
      }

      var meta = [];
      if (body.model && body.model.name) {
        meta.push(body.model.name + (body.model.version ? " " + versionText(body.model.version) : ""));
      }
      var image = body.image || body; // {image: {width, height, format}}, or width/height at the top level
      if (image.width && image.height) {
        meta.push(image.width + "×" + image.height + " px" + (image.format ? " " + image.format : ""));
      }
      var total = body.timing && body.timing.total_ms;
      if (body.cached) meta.push("cached answer");
      else if (typeof total === "number") meta.push(total.toFixed(1) + " ms on the server");
      if (body.request_id) meta.push("request " + body.request_id);
      el.resultMeta.textContent = meta.join(" · ");

      showFeedback(body, entries.map(function (entry) { return entry[0]; }));
      if (helpers.followModel) helpers.followModel(body.model);

      // Screen readers hear one short sentence from the status region instead of the whole result card.
      clearStatus();
      var summary = document.createElement("span");
      summary.className = "visually-hidden";
      summary.append("Result: ", bdi(body.label), ", " + percent(body.confidence) + " confidence." +
        (low ? " " + el.resultNote.textContent : ""));
      el.status.appendChild(summary);
      el.error.hidden = true;
      el.result.hidden = false;
      revealIfBelow(el.result.parentNode);
    }

    // On a phone the result card sits under the photo; bring it into view when it is off screen, or when
    // mustSee in it is (on a 360 x 740 phone the card's heading showed, the reason for an error did not).
    function revealIfBelow(node, mustSee) {
      var rect = node.getBoundingClientRect();
      var cut = mustSee && mustSee.getBoundingClientRect().bottom > window.innerHeight;
      if ((rect.top > window.innerHeight - 80 || cut) && typeof node.scrollIntoView === "function") {
        var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
        node.scrollIntoView({ behavior: reduce ? "auto" : "smooth", block: "start" });
      }
    }

    return { clearPreview: clearPreview, showPreview: showPreview, showResult: showResult, revealIfBelow: revealIfBelow };
  };
})();
