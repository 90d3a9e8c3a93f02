/* capsight upload page: the ways a photo comes in (the two buttons, the drop zone, a drop anywhere on
 * the page, a paste), each handed to classify. Loaded before app.js, which calls
 * window.capsightInput(el, state, helpers) once to wire them.
 */
(function () {
  "use strict";

  window.capsightInput = function (el, state, helpers) {
    var classify = helpers.classify;
    var clearPreview = helpers.clearPreview;
    var showError = helpers.showError;

    // The formats the server reads, known by their first bytes as it knows them (imaging/decode.py):
    // a type is only a guess from the name, and a note renamed "notes.jpg" is typed image/jpeg.
    var SIGNATURES = ["\xff\xd8\xff", "\x89PNG\r\n\x1a\n", "GIF87a", "GIF89a", "BM", "II*\x00", "MM\x00*", "II+\x00", "MM\x00+"];
    var ISO_BRANDS = /^(avif|avis|heic|heix|heim|heis|hevc|hevx|hevm|hevs|mif1|msf1)$/;
    function isImage(b) {
      function at(offset, text) {
        for (var i = 0; i < text.length; i++) if (b[offset + i] !== text.charCodeAt(i)) return false;
        return text.length > 0;
      }
      if (at(0, "RIFF") && at(8, "WEBP")) return true;
      if (at(4, "ftyp")) { // HEIF, AVIF: the major brand, then the compatible ones (not an MP4 video's)
        var size = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
        var end = Math.min(b.length, size >= 16 && size <= 4096 ? size : 16);
        for (var i = 8; i + 4 <= end; i += i === 8 ? 8 : 4) {
          if (ISO_BRANDS.test(String.fromCharCode(b[i], b[i + 1], b[i + 2], b[i + 3]))) return true;
        }
        return false;
      }
      return SIGNATURES.some(function (magic) { return at(0, magic); });
    }
    // "image", "other", or "unreadable" (a folder, a file gone since it was chosen).
    function sniff(file) {
      return file.slice(0, 64).arrayBuffer().then(
        function (head) { return isImage(new Uint8Array(head)) ? "image" : "other"; },
        function () { return "unreadable"; }
      );
    }

    // Every file given is read (only the first 20 were: a photo further down was never considered, a
    // note renamed ".jpg" there never named), a few at a time: a few bytes each, whatever its size.
    var SNIFF_AT_ONCE = 16;
    function sniffAll(list) {
      var kinds = [];
      function next(start) {
        if (start >= list.length) return Promise.resolve(kinds);
        return Promise.all(list.slice(start, start + SNIFF_AT_ONCE).map(sniff)).then(function (some) {
          kinds = kinds.concat(some);
          return next(start + SNIFF_AT_ONCE);
        });
      }
      return next(0);
    }

    var picking = 0; // the latest files given: an older pick still being read is dropped
    // folders: which of the files are folders, where the browser could tell (a drop); else unknown.
    function takeFirst(files, folders) {
      if (!files || !files.length) return;
      var list = Array.prototype.slice.call(files); // read now: an input's list empties when reset
      var count = files.length;
      var turn = ++picking;
      sniffAll(list).then(function (kinds) {
        if (turn !== picking) return;
        // The page shows one answer: of several files (dropped or pasted), the first that is an image by
        // its bytes, else the first named like one (the server says what is wrong with it), and says so.
        var pick = kinds.indexOf("image");
        for (var i = 0; pick < 0 && i < list.length; i++) {
          if (kinds[i] === "other" && /^image\//.test(list[i].type)) pick = i;
        }
        if (pick < 0) pick = kinds.indexOf("other");
        if (pick >= 0) {
          // The others that are no photo by their bytes are named beside the one classified.
          var notPhotos = list.filter(function (file, i) { return i !== pick && kinds[i] !== "image"; })
            .map(function (file) { return file.name; });
          classify(list[pick], count, notPhotos);
          return;
        }
        // Given in place of a photo being sent, as a photo would be: that upload's answer no longer matters
        // (left going, it wiped this message).
        if (state.controller) state.controller.abort();
        clearPreview();
        el.fileName.hidden = true;
        var name = list[0].name;
        showError(folders && folders[0]
          ? "“" + name + "” is a folder: this page classifies one photo at a time. Open the folder and drop or " +
            "choose a photo from it; a whole folder is classified by the capsight batch command, or by the jobs API (see API docs)."
          : "“" + name + "” could not be read: is it a folder, or a file moved or deleted since it was chosen? Please choose a photo.");
      });
    }

    // Only while the drop event runs can the browser say which dropped files are folders.
    function folders(transfer) {
      return Array.prototype.filter.call(transfer.items || [], function (item) { return item.kind === "file"; })
        .map(function (item) {
          var entry = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
          return Boolean(entry && entry.isDirectory);
        });
    }

    // A drag started on this page (a click on the photo that moved a little, selected text) brings no
    // file: dropped, it wiped the photo and its answer for "a picture dragged from a web page". Ignored.
    var dragFromPage = false;
    document.addEventListener("dragstart", function () { dragFromPage = true; });
    document.addEventListener("dragend", function () { dragFromPage = false; });

    // A picture dragged from another web page may come as its address only (Safari), a text selection
    // as text: nothing to send, and the page did nothing at all, the prompt still asking for a drop.
    function takeDropped(transfer) {
      if (dragFromPage) return;
      if (transfer && transfer.files && transfer.files.length) takeFirst(transfer.files, folders(transfer));
      else if (transfer && transfer.types && transfer.types.length) {
        clearPreview(); // as for a file refused here: no earlier photo left beside the message
        el.fileName.hidden = true;
        showError("Only a photo file can be dropped here: a picture dragged from a web page comes as its " +
          "address. Save the picture first, then drop or choose the file.");
      }
    }

    // "Take photo" is offered where the browser honours capture (style.css; a touch-first device is
    // told by a media query there).
    if ("capture" in el.cameraInput) document.documentElement.classList.add("can-capture");

    el.chooseButton.addEventListener("click", function () { if (!state.busy) el.fileInput.click(); });
    el.cameraButton.addEventListener("click", function () { if (!state.busy) el.cameraInput.click(); });
    // Busy, the zone opens nothing either: a tap on its progress brought up the gallery, and the photo
    // picked there started the upload again from 0 %. A drop or a paste still replaces it on purpose.
    el.dropZone.addEventListener("click", function () { if (!state.busy) el.fileInput.click(); });
    el.dropZone.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        if (!state.busy) el.fileInput.click();
      }
    });
    [el.fileInput, el.cameraInput].forEach(function (input) {
      input.addEventListener("change", function () {
        takeFirst(input.files);
        input.value = ""; // choosing the same file again still triggers a change
      });
    });

    var dragDepth = 0;
    el.dropZone.addEventListener("dragenter", function (e) {
      e.preventDefault();
      if (dragFromPage) return;
      dragDepth += 1;
      el.dropZone.classList.add("dragging");
    });
    el.dropZone.addEventListener("dragover", function (e) {
      e.preventDefault();
      if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
    });
    el.dropZone.addEventListener("dragleave", function () {
      dragDepth = Math.max(0, dragDepth - 1);
      if (!dragDepth) el.dropZone.classList.remove("dragging");
    });
    el.dropZone.addEventListener("drop", function (e) {
      e.preventDefault();
      dragDepth = 0;
      el.dropZone.classList.remove("dragging");
      takeDropped(e.dataTransfer);
    });
    // A photo dropped beside the zone must not make the browser navigate away from the page, nor vanish
    // without a word (on a wide screen the zone is a small part of the page): it is classified too.
    // Text dragged into the API key field (a key from another window) goes in as it would anywhere else.
    function intoKeyField(e) {
      var types = (e.dataTransfer && e.dataTransfer.types) || [];
      return e.target === el.apiKey && Array.prototype.indexOf.call(types, "Files") < 0;
    }
    ["dragover", "drop"].forEach(function (type) {
      window.addEventListener(type, function (e) { if (!intoKeyField(e)) e.preventDefault(); });
    });
    window.addEventListener("drop", function (e) {
      if (!el.dropZone.contains(e.target) && !intoKeyField(e)) takeDropped(e.dataTransfer);
    });
    // A drop or a photo picked before this ran (a slow link) was held by index.html's inline script:
    // taken now.
    var early = window.capsightEarlyDrop;
    if (early && !early.taken) {
      early.taken = true;
      if (early.files.length || early.types.length) takeDropped(early);
    }
    window.addEventListener("paste", function (e) {
      var files = e.clipboardData && e.clipboardData.files;
      if (files && files.length) {
        e.preventDefault();
        takeFirst(files);
      }
    });
  };
})();
