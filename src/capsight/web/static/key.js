/* capsight upload page: the API key a person enters when the server requires one, kept in
 * sessionStorage (gone when the tab closes). Loaded before app.js as window.capsightKeys: read() for
 * the key kept so far, form(el, state, helpers) to wire the key form once.
 */
(function () {
  "use strict";

  var KEY_STORAGE = "capsight-api-key"; // sessionStorage: gone when the tab closes
  var KEY_CHARS = /^[\x21-\x7e]*$/; // what an HTTP header can carry, less spaces

  // A key kept by an earlier version of the page was not checked (see the key form): one that cannot
  // go in a header made every upload fail with the browser's own message.
  function readKey() {
    var key = "";
    try { key = window.sessionStorage.getItem(KEY_STORAGE) || ""; } catch (e) { return ""; }
    return KEY_CHARS.test(key) ? key : "";
  }

  function saveKey(key) {
    try { window.sessionStorage.setItem(KEY_STORAGE, key); } catch (e) { /* private mode: memory only */ }
  }

  function form(el, state, helpers) {
    var classify = helpers.classify;
    var showError = helpers.showError;

    function askForKey() {
      el.keyForm.hidden = false;
      el.apiKey.value = state.apiKey;
      // After the error is announced, put the cursor where the fix goes.
      window.setTimeout(function () { el.apiKey.focus(); }, 0);
    }

    function hideKeyForm() {
      // Hiding the form that holds the keyboard focus would drop it to <body>: a keyboard user who just
      // entered the key would have to tab through the page again. Hand it to the next thing to do.
      var hadFocus = el.keyForm.contains(document.activeElement);
      el.keyForm.hidden = true;
      if (hadFocus) el.chooseButton.focus();
    }

    el.keyForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var key = el.apiKey.value.trim();
      // A key is printable ASCII. Anything else (a "…" copied from a cut-off terminal line) cannot go in a
      // header: fetch would fail as if the server were unreachable, for this photo and every one after.
      if (!KEY_CHARS.test(key)) {
        el.apiKey.setAttribute("aria-invalid", "true");
        showError("That API key has a character no key has (a space, “…” or a letter outside A-Z). Please paste it again.",
          null, "The API key was not accepted");
        el.apiKey.focus();
        return;
      }
      el.apiKey.removeAttribute("aria-invalid");
      state.apiKey = key;
      saveKey(state.apiKey);
      if (state.lastFile) classify(state.lastFile);
    });

    return { ask: askForKey, hide: hideKeyForm };
  }

  window.capsightKeys = { read: readKey, form: form };
})();
