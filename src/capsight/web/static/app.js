/* capsight upload page: pick, drop, paste or photograph an image; POST it to v1/classify; show the answer.
 *
 * Plain browser JavaScript on purpose: no build step, nothing fetched from a CDN, so the page works on
 * an air-gapped server exactly as it does in the tests. URLs are relative so that the page also works
 * when the API is mounted under a path prefix behind a proxy.
 *
 * This file holds the state and the upload itself; the rest are small plain scripts index.html loads
 * before it, each as one window.capsight* name: text.js (wording), http.js (the request), key.js (the
 * API key form), model.js (the header), feedback.js, result.js (preview and answer), orientation.js
 * (WebP preview turning), still.js (an animation's first frame) and input.js (buttons, drop, paste).
 */
(function () {
  "use strict";

  // The server's default CAPSIGHT_MAX_UPLOAD_BYTES. The server stays the authority (it answers 413);
  // checking here just saves a phone from uploading 20 MB to learn that.
  var DEFAULT_MAX_UPLOAD_BYTES = 16 * 1024 * 1024;
  var LOW_CONFIDENCE = 0.6;
  // A model may have hundreds of classes (ImageNet's 1000): a bar and a correction button for each
  // made a result card tens of thousands of pixels tall, "Is this right?" out of reach below it.
  var MAX_BARS = 10; // the likeliest are drawn; the rest are summed in one line
  var MAX_CHOICE_BUTTONS = 9; // more corrections than this are picked from a list
  // A dead mobile link or a proxy holding the request left the page "Classifying…" forever. Silence
  // this long (no byte of the photo sent, no answer) ends the wait: twice the server's own idle limit.
  var STALL_MS = 60000;

  var state = {
    maxUploadBytes: DEFAULT_MAX_UPLOAD_BYTES,
    controller: null, // AbortController of the request in flight
    previewUrl: null,
    lastFile: null, // retried after the user enters an API key
    busy: false,
    modelRetryMs: 0,
    apiKey: window.capsightKeys.read(),
  };

  var $ = function (id) { return document.getElementById(id); };
  var el = {
    dropZone: $("drop-zone"),
    preview: $("preview"),
    dropPrompt: $("drop-prompt"),
    busy: $("busy"),
    busyText: $("busy-text") || $("busy").lastElementChild, // a page cached from before it had the id
    fileInput: $("file-input"),
    cameraInput: $("camera-input"),
    chooseButton: $("choose-button"),
    cameraButton: $("camera-button"),
    cancelButton: $("cancel-button") || document.createElement("button"), // a page cached from before it had one
    fileName: $("file-name"),
    status: $("status"),
    placeholder: $("placeholder"),
    error: $("error"),
    errorTitle: $("error-title") || document.querySelector(".error-title"), // a page cached from before it had the id
    errorMessage: $("error-message"),
    retryButton: $("retry-button"),
    result: $("result"),
    resultLabel: $("result-label"),
    resultConfidence: $("result-confidence"),
    resultNote: $("result-note"),
    probabilities: $("probabilities"),
    resultMeta: $("result-meta"),
    modelInfo: $("model-info"),
    modelText: $("model-text"),
    maxSize: $("max-size"),
    keyForm: $("key-form"),
    apiKey: $("api-key"),
    feedback: $("feedback"),
    feedbackYes: $("feedback-yes"),
    feedbackLabels: $("feedback-labels"),
    feedbackStatus: $("feedback-status"),
  };

  // Words and numbers the page shows (text.js), and its upload request (http.js).
  var T = window.capsightText;
  var formatBytes = T.formatBytes, versionText = T.versionText, bdi = T.bdi, percent = T.percent;
  var errorFromResponse = T.errorFromResponse, keyTitle = T.keyTitle;
  var post = window.capsightHttp.post, readable = window.capsightHttp.readable;
  var retryWait = window.capsightRetry(el, state, {
    waitText: T.waitText, clockText: T.clockText, longWaitSeconds: T.longWaitSeconds, absurdWaitSeconds: T.absurdWaitSeconds,
  });

  /* ---------- model info (model.js) ---------- */

  var loadModelInfo = window.capsightModel(el, state, {
    formatBytes: formatBytes, versionText: versionText, stallMs: STALL_MS,
  });

  /* ---------- view states ---------- */

  function setBusy(busy) {
    el.busy.hidden = !busy;
    el.busyText.textContent = "Classifying…";
    el.dropZone.setAttribute("aria-busy", busy ? "true" : "false");
    // aria-disabled, not disabled: a disabled button drops the keyboard focus to <body> mid-upload.
    el.chooseButton.setAttribute("aria-disabled", busy ? "true" : "false");
    el.cameraButton.setAttribute("aria-disabled", busy ? "true" : "false");
    // Hidden with the keyboard focus on it, the button would drop the focus to <body>.
    if (!busy && document.activeElement === el.cancelButton) el.chooseButton.focus();
    el.cancelButton.hidden = !busy;
    state.busy = busy;
    if (busy) {
      el.status.textContent = "";
      var p = document.createElement("p");
      p.className = "placeholder";
      p.textContent = "Classifying your photo…";
      el.status.appendChild(p);
    }
  }

  function clearStatus() { el.status.textContent = ""; }

  var PHOTO_FAILED = "This photo could not be classified";

  // retryFile: the photo to send again from a "Try again" button (a photo just taken with the camera
  // cannot be chosen again), when the failure was the network's or the server's, not the file's.
  // title: what went wrong when it was not the photo (a refused API key sent people looking for a
  // fault in a good photo).
  // waitSeconds: how long the server asked to wait before "Try again" can help (retry.js).
  function showError(message, retryFile, title, waitSeconds) {
    clearStatus();
    el.result.hidden = true;
    // The same words again (an empty file chosen twice) left the alert unchanged, unread: empty it, refill it.
    var again = !el.error.hidden && el.errorTitle.textContent === (title || PHOTO_FAILED) && el.errorMessage.textContent === message;
    el.errorTitle.textContent = title || PHOTO_FAILED;
    el.errorMessage.textContent = again ? "" : message;
    if (again) window.setTimeout(function () { if (!el.errorMessage.textContent) el.errorMessage.textContent = message; }, 150);
    state.retryFile = retryFile || null;
    el.retryButton.hidden = !retryFile;
    retryWait.wait(waitSeconds);
    el.error.hidden = false;
    revealIfBelow(el.error.parentNode, el.error);
  }

  /* ---------- feedback: "is this right?" (feedback.js) ---------- */

  var showFeedback = window.capsightFeedback(el, state, {
    bdi: bdi, errorFromResponse: errorFromResponse, stallMs: STALL_MS, maxChoiceButtons: MAX_CHOICE_BUTTONS,
    recheckServer: loadModelInfo,
  });

  /* ---------- the photo and the answer (result.js) ---------- */

  var shown = window.capsightResult(el, state, {
    percent: percent, bdi: bdi, versionText: versionText, showFeedback: showFeedback, clearStatus: clearStatus,
    lowConfidence: LOW_CONFIDENCE, maxBars: MAX_BARS, followModel: loadModelInfo.follow,
  });
  var clearPreview = shown.clearPreview, showPreview = shown.showPreview, showResult = shown.showResult;
  var revealIfBelow = shown.revealIfBelow;

  /* ---------- upload ---------- */

  // The files given with the photo, said after its name: how many, and those that are no photo by their
  // bytes (the first few by name: the line stays readable on a phone).
  var MAX_NAMED = 5;
  function givenText(count, notPhotos) {
    var text = count > 1 ? " (1 of the " + count + " files given: the page classifies one photo at a time)" : "";
    if (!notPhotos || !notPhotos.length) return text;
    var named = notPhotos.slice(0, MAX_NAMED).map(function (name) { return "“" + name + "”"; });
    var more = notPhotos.length - named.length;
    return text + ". " + (notPhotos.length === 1 ? "Not a photo: " : "Not photos: ") + named.join(", ") +
      (more ? " and " + more + " more" : "") + ".";
  }

  // count, notPhotos: how many files were given with this one, and which of them are no photo (input.js).
  // The same photo sent again ("Try again", an API key entered) keeps what was said about them: the
  // line lost "1 of the 3 files given" and the names, as if the person had given one photo only.
  function classify(file, count, notPhotos) {
    if (count === undefined && state.given && state.given.file === file) {
      count = state.given.count;
      notPhotos = state.given.notPhotos;
    }
    state.given = { file: file, count: count, notPhotos: notPhotos };
    el.fileName.hidden = false;
    el.fileName.textContent = (file.name ? file.name + " · " + formatBytes(file.size) : formatBytes(file.size)) +
      givenText(count, notPhotos);
    if (state.controller) state.controller.abort(); // the answer for an older photo no longer matters
    // The old answer is hidden below: with the keyboard focus on one of its buttons (a photo pasted from
    // "Is this right?"), the focus would drop to <body>. Hand it to the button that picks a photo.
    if (el.result.contains(document.activeElement)) el.chooseButton.focus();
    var problem = T.uploadProblem(file, state.maxUploadBytes);
    // Never leave the previous photo on screen next to an answer about a different file. The new one
    // is shown once the server has accepted it: a small file can declare 20000x20000 pixels, and
    // decoding that for a preview would cost the browser gigabytes (the server refuses it from its header).
    clearPreview();
    if (problem) {
      showError(problem);
      return;
    }
    var controller = new AbortController();
    state.controller = controller;
    var stallTimer = 0;
    function watch() { // (re)started whenever the upload moves
      window.clearTimeout(stallTimer);
      stallTimer = window.setTimeout(function () { controller.why = "stalled"; controller.abort(); }, STALL_MS);
    }
    watch();
    var sending = false; // bytes of the photo have left: a failure now cut the upload off, not a server never reached
    var stoppedAt = -1; // the percentage sent, while the upload is under way; -1: all sent (or not known)

    state.lastFile = file;
    var form = new FormData();
    form.append("file", file, file.name || "photo");
    var headers = { Accept: "application/json" };
    if (state.apiKey) headers.Authorization = "Bearer " + state.apiKey;
    el.error.hidden = true;
    retryWait.stop();
    el.result.hidden = true;
    setBusy(true);
    post("v1/classify", form, headers, controller.signal, function (sent, total) {
      if (state.controller !== controller) return;
      watch();
      if (sent > 0) sending = true;
      stoppedAt = sent < total ? Math.floor((sent / total) * 100) : -1;
      el.busyText.textContent = sent < total ? "Sending photo… " + Math.floor((sent / total) * 100) + "%" : "Classifying…";
    })
      .then(function (res) {
        return res.text().then(function (text) {
          var body = null;
          try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
          if (!res.ok) {
            var message = errorFromResponse(res, body) + (T.serverFault ? T.serverFault(res.status) : "");
            var retry = res.headers.get("Retry-After");
            var failure = new Error(message);
            // 429 (rate limit) and 503 (model loading, queue full) both say when to come back: the
            // message and "Try again" count it down (retry.js).
            if (res.status === 429 || res.status === 503) failure.waitSeconds = T.retrySeconds(retry);
            // Not the photo's fault: the same photo is answered a moment later.
            failure.title = T.failureTitle(res.status);
            if (res.status === 502 || res.status === 504) loadModelInfo(); // the header said "ready"
            if (res.status === 401 || res.status === 403) {
              failure.title = keyTitle(res.status, headers.Authorization);
              askForKey();
            }
            // The server's words for a request without a key are for API clients ("send 'Authorization:
            // Bearer <key>'"): a person on this page sends no header, and is told what to do here.
            if (res.status === 401 && !headers.Authorization) {
              failure.message = "This server needs an API key (HTTP 401). Enter yours below and the photo is sent again.";
            }
            failure.retryable = res.status === 408 || res.status === 429 || res.status >= 500;
            throw failure;
          }
          hideKeyForm();
          if (!body || typeof body.label !== "string") throw T.unexpectedAnswer(text);
          return body;
        });
      })
      .then(function (body) {
        if (state.controller !== controller) return;
        // An image to the server, whatever its type here ("" for "IMG_1234" from a chat app): previewed.
        showPreview(file, (body.image || body).format);
        showResult(body);
      })
      .catch(function (err) {
        if (controller.why === "stalled" && stoppedAt >= 0) {
          // A link gone quiet mid-upload was told "The server did not answer", as if the photo had reached it.
          showError("The upload of " + (file.name ? "“" + file.name + "”" : "the photo") + " stopped at " + stoppedAt +
            "%, so it was not classified. Check your connection, then press Try again to send the same photo.", file,
            "The upload did not reach the server");
          return;
        }
        if (controller.why === "stalled") {
          showError("The server did not answer for " + STALL_MS / 1000 + " s. Check your connection and try again.", file,
            "The server did not answer");
          return;
        }
        if (controller.why === "cancelled") {
          clearStatus();
          var p = document.createElement("p");
          p.className = "placeholder";
          p.textContent = "Upload cancelled. No photo classified.";
          el.status.appendChild(p);
          return;
        }
        if (controller.signal.aborted) return; // superseded by a newer photo
        if (!(err instanceof TypeError)) {
          showError(err.message, err.retryable ? file : null, err.title, err.waitSeconds);
          return;
        }
        // fetch fails alike when it cannot read the file (a dropped folder, a photo moved or deleted
        // since it was chosen): read one byte before blaming the connection.
        return readable(file).then(function (ok) {
          if (controller.signal.aborted) return;
          if (ok && sending) {
            // A link lost mid-upload (a phone out of signal) was told "The server could not be reached",
            // as if it had never been there. The photo is kept: "Try again" sends it again.
            showError("The connection was lost while " + (file.name ? "“" + file.name + "”" : "the photo") + " was being " +
              "sent, so it was not classified. Check your connection, then press Try again to send the same photo.", file,
              "The upload did not reach the server");
            loadModelInfo();
          } else if (ok) {
            showError("Could not reach the server. Check your connection and try again.", file, "The server could not be reached");
            loadModelInfo();
          }
          else showError("“" + file.name + "” could not be read: is it a folder, or a file moved or deleted since it was chosen? Please choose a photo.");
        });
      })
      .finally(function () {
        window.clearTimeout(stallTimer);
        if (state.controller === controller) {
          state.controller = null;
          setBusy(false);
        }
      });
  }

  el.retryButton.addEventListener("click", function () {
    if (retryWait.waiting()) return; // it says how long is left
    // The button hides with the error: hand the keyboard focus on rather than drop it to <body>.
    el.chooseButton.focus();
    if (state.retryFile) classify(state.retryFile);
  });

  el.cancelButton.addEventListener("click", function () {
    if (!state.controller) return;
    state.controller.why = "cancelled";
    state.controller.abort();
  });

  /* ---------- the API key form (key.js) ---------- */

  var keyForm = window.capsightKeys.form(el, state, { classify: classify, showError: showError });
  var askForKey = keyForm.ask, hideKeyForm = keyForm.hide;

  /* ---------- choosing, dropping, pasting a photo (input.js) ---------- */

  window.capsightInput(el, state, { classify: classify, clearPreview: clearPreview, showError: showError });

  el.maxSize.textContent = formatBytes(state.maxUploadBytes);
  loadModelInfo();
})();
