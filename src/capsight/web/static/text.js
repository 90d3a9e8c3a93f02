/* capsight upload page: the words and numbers it shows (sizes, percentages, versions, the server's
 * refusals and when to come back). Pure functions, loaded before app.js as window.capsightText.
 */
(function () {
  "use strict";

  function formatBytes(n) {
    if (n >= 1024 * 1024) return (n / (1024 * 1024)).toFixed(1).replace(/\.0$/, "") + " MB"; // "16 MB", not "16.0"
    if (n >= 1024) return Math.round(n / 1024) + " KB";
    return n + " bytes";
  }

  function versionText(version) {
    var v = String(version);
    return /^\d/.test(v) ? "v" + v : v; // "v1.2.0", but "test-1" as it is
  }

  // A label may be in a right-to-left script: set apart (<bdi>, dir=auto), it keeps its own order
  // ("زجاجة مفتوحة!" ends with its "!" on the left) and leaves the sentence around it in order.
  function bdi(text) {
    var node = document.createElement("bdi");
    node.textContent = text;
    return node;
  }

  function percent(p) {
    var v = Math.max(0, Math.min(1, Number(p) || 0)) * 100;
    return (v >= 99.95 || v < 0.05 ? v.toFixed(0) : v.toFixed(1)) + "%";
  }

  function errorFromResponse(res, body) {
    if (body && typeof body.error === "string" && body.error) return body.error;
    if (body && typeof body.detail === "string" && body.detail) return body.detail;
    // A gateway's own refusal (no JSON to quote) is about the key: "rejected this file" sent people
    // looking for a fault in their photo.
    if (res.status === 401) return "This server needs a valid API key (HTTP 401).";
    if (res.status === 403) return "The server refused access (HTTP 403); an API key with more rights may be needed.";
    if (res.status === 408) return "The upload took too long to reach the server. Please try again, on a faster connection if you can.";
    if (res.status === 413) return "The file is too large for this server.";
    if (res.status === 429) return "Too many requests; please wait a moment and try again.";
    // A proxy's own answer while the app behind it restarts or is gone: the photo never reached it.
    if (res.status === 502 || res.status === 504) return "The server is not answering right now (HTTP " + res.status + " from the proxy in front of it). Please try again in a moment.";
    if (res.status >= 500) return "The server failed (HTTP " + res.status + ").";
    return "The server rejected this file (HTTP " + res.status + ").";
  }

  // Retry-After is seconds or an HTTP date (a gateway's, often): how many seconds from now; NaN when
  // unreadable or absent. Shown as a wait from now (retry.js), never as the raw date (in a time zone
  // the person is not in).
  function retrySeconds(value) {
    var text = (value || "").trim();
    if (!text) return NaN;
    return /^\d+$/.test(text) ? Number(text) : (Date.parse(text) - Date.now()) / 1000;
  }

  // Past this a countdown ("retry in 20 h 5 min") is no help: the moment is said on the clock instead.
  var LONG_WAIT_S = 6 * 3600;
  // Past this the wait is not believed (a gateway's clock years off sent "retry in 95488 h"): "later".
  var ABSURD_WAIT_S = 7 * 24 * 3600;

  // A moment on the person's clock, rounded up to the minute: "18:20", or "Mon 30 Nov, 10:00" when it
  // is not today (a time alone for a date days away read as today). In the page's English, as every
  // other wait it says ("retry in 90 s"): in the browser's language it read "Try again after Mo., 30.
  // Nov., 10:00" or "after ٠٦:٢٠ م" inside an English sentence. The time zone stays the person's own.
  var CLOCK_LOCALE = "en-GB";
  function clockText(seconds) {
    var at = new Date(Math.ceil((Date.now() + seconds * 1000) / 60000) * 60000);
    var time = at.toLocaleTimeString(CLOCK_LOCALE, { hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    if (at.toDateString() === new Date().toDateString()) return time;
    return at.toLocaleDateString(CLOCK_LOCALE, { weekday: "short", day: "numeric", month: "short" }) + ", " + time;
  }

  // When to come back, as a time on the person's clock: a wait in minutes, written once in a line that
  // stays on screen, goes stale. "" when the server did not say.
  function againAt(retryAfter) {
    var seconds = retrySeconds(retryAfter);
    if (!(seconds > 0)) return "";
    return seconds > ABSURD_WAIT_S ? " Please try again later." : " Please try again after " + clockText(seconds) + ".";
  }

  // A wait as a person reads it: "90 s", not "2 min"; an hour not as "3600 s" nor "60 min".
  function waitText(seconds) {
    if (seconds < 120) return Math.ceil(seconds) + " s";
    var minutes = Math.ceil(seconds / 60);
    if (minutes < 60) return minutes + " min";
    var hours = Math.floor(minutes / 60);
    return hours + " h" + (minutes % 60 ? " " + (minutes % 60) + " min" : "");
  }

  // The heading of a refused upload that was not the photo's fault (undefined: it may have been).
  function failureTitle(status) {
    // The body arrived too slowly (a weak mobile link): the same photo goes through on a better one.
    if (status === 408) return "The upload did not reach the server in time";
    if (status === 429) return "Too many requests for now";
    if (status === 503) return "The server is busy";
    if (status === 502 || status === 504) return "The server could not be reached";
    if (status >= 500) return "Something went wrong on the server";
    return undefined;
  }

  // Said after the server's own words for a failure of its own (500: "Inference failed."): under
  // "Try again" alone, people could not tell a broken server from a bad photo, and tried other photos.
  function serverFault(status) {
    if (status < 500 || status === 502 || status === 503 || status === 504) return "";
    return " The fault is on the server, not your photo: try again now, or later if it fails again.";
  }

  // A 200 that is no classification: a café's Wi-Fi wanting a sign-in answers with its own web page.
  // Not the photo's fault, and the same photo is answered once the network lets it through.
  function unexpectedAnswer(text) {
    var failure = new Error(/^\s*</.test(text || "")
      ? "A web page came back instead of an answer: this network may want you to sign in first (open any web site to see), or a proxy is in the way. Please try again."
      : "The server sent an unexpected answer.");
    failure.title = "The answer was not from the classifier";
    failure.retryable = true;
    return failure;
  }

  function keyTitle(status, sentKey) {
    if (status === 403) return "This API key may not do this";
    return sentKey ? "The API key was not accepted" : "An API key is needed";
  }

  // Why a file is refused before it is sent (null: send it). The server stays the authority on what it
  // reads; refusing here saves a phone from uploading 20 MB to learn that.
  function uploadProblem(file, maxBytes) {
    if (!file) return "No file was selected.";
    if (file.size === 0) return "The file “" + file.name + "” is empty (0 bytes). Please choose a photo.";
    if (file.size > maxBytes) {
      // Dropped or pasted (the file dialog offers photos only), a screen recording was told to be a
      // "smaller photo": no copy of it would be classified.
      var kind = /^video\//.test(file.type) ? "a video" : /^audio\//.test(file.type) ? "a sound file" : "";
      if (kind) {
        return "“" + file.name + "” is " + kind + " (" + file.type + "), not a photo. Please choose a JPEG, PNG, " +
          "HEIC, WebP, AVIF, GIF, BMP or TIFF photo.";
      }
      var size = formatBytes(file.size);
      var limit = formatBytes(maxBytes);
      if (size === limit) {
        // "is 977 KB; the limit is 977 KB" read as within the limit: the bytes tell them apart.
        size += " (" + file.size.toLocaleString("en") + " bytes)";
        limit += " (" + maxBytes.toLocaleString("en") + " bytes)";
      }
      return "The file “" + file.name + "” is " + size + "; the limit is " + limit + ". Please choose a smaller photo.";
    }
    return null;
  }

  window.capsightText = {
    formatBytes: formatBytes, versionText: versionText, bdi: bdi, percent: percent,
    errorFromResponse: errorFromResponse, keyTitle: keyTitle, failureTitle: failureTitle,
    unexpectedAnswer: unexpectedAnswer, uploadProblem: uploadProblem, serverFault: serverFault,
    retrySeconds: retrySeconds, waitText: waitText, againAt: againAt, clockText: clockText,
    longWaitSeconds: LONG_WAIT_S, absurdWaitSeconds: ABSURD_WAIT_S,
  };
})();
