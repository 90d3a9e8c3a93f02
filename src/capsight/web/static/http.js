/* capsight upload page: the upload request, and whether a file can still be read when it fails.
 * Loaded before app.js as window.capsightHttp.
 *
 * While an upload is in flight, leaving the page (the "API docs" link, closing the tab) asks first:
 * it left at once, a minute of a phone's upload lost without a word. An answer to "Is this right?"
 * on its way holds the page alike (feedback.js calls hold()). Idle, nothing is asked (a beforeunload
 * handler kept for good would ask every time, and keeps a page out of the back-forward cache): the
 * handler is there only while a request is.
 */
(function () {
  "use strict";

  function readable(file) {
    return new Promise(function (resolve) {
      var reader = new FileReader();
      reader.onload = function () { resolve(true); };
      reader.onerror = function () { resolve(false); };
      reader.readAsArrayBuffer(file.slice(0, 1));
    });
  }

  var inFlight = 0;

  function askBeforeLeaving(e) {
    e.preventDefault();
    e.returnValue = ""; // browsers before preventDefault() was honoured here
  }

  // Leaving asks first until the function returned is called (once counts; more calls do nothing).
  function hold() {
    var held = true;
    if (inFlight++ === 0) window.addEventListener("beforeunload", askBeforeLeaving);
    return function release() {
      if (!held) return;
      held = false;
      if (--inFlight === 0) window.removeEventListener("beforeunload", askBeforeLeaving);
    };
  }

  function track(xhr) {
    xhr.addEventListener("loadend", hold()); // after an answer, an error, an abort alike
  }

  // fetch cannot report how much of the body is sent, and a 15 MB photo takes a minute from a phone:
  // XMLHttpRequest, answering like fetch (status, ok, headers.get, text(); TypeError when unreachable).
  function post(url, body, headers, signal, onProgress) {
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", url);
      Object.keys(headers).forEach(function (name) { xhr.setRequestHeader(name, headers[name]); });
      xhr.upload.onprogress = function (e) { if (e.lengthComputable) onProgress(e.loaded, e.total); };
      xhr.onload = function () {
        resolve({
          status: xhr.status,
          ok: xhr.status >= 200 && xhr.status < 300,
          headers: { get: function (name) { return xhr.getResponseHeader(name); } },
          text: function () { return Promise.resolve(xhr.responseText); },
        });
      };
      xhr.onerror = function () { reject(new TypeError("network error")); };
      xhr.onabort = function () { reject(new Error("aborted")); };
      signal.addEventListener("abort", function () { xhr.abort(); });
      track(xhr);
      xhr.send(body);
    });
  }

  window.capsightHttp = { post: post, readable: readable, hold: hold };
})();
