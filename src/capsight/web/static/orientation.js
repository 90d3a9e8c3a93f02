/* capsight upload page: a WebP photo's preview turned the way its EXIF orientation says, as the server
 * turns it before classifying. Chromium and Firefox draw a WebP as stored (a JPEG they turn themselves),
 * so a phone photo lay on its side beside the answer about it. Loaded before app.js, which uses
 * window.capsightOrientation.webpPreviewUrl; kept apart because it is self-contained byte reading.
 */
(function () {
  "use strict";

  // A 2x1 WebP whose EXIF says "turn 90 degrees": a browser that honours WebP orientation shows it 1x2.
  var WEBP_TURN_PROBE = "data:image/webp;base64,UklGRlIAAABXRUJQVlA4WAoAAAAIAAAAAQAAAAAAVlA4TBEAAAAvAQAAAAdQjyLXo/+BiOh/" +
    "AABFWElGGgAAAE1NACoAAAAIAAEBEgADAAAAAQAGAAAAAAAA";
  var webpTurnedByBrowser = null; // a Promise of true/false, asked once

  function browserTurnsWebp() {
    if (!webpTurnedByBrowser) {
      webpTurnedByBrowser = new Promise(function (resolve) {
        var probe = new Image();
        probe.onload = function () { resolve(probe.naturalWidth === 1); };
        probe.onerror = function () { resolve(true); }; // no WebP at all: nothing to turn
        probe.src = WEBP_TURN_PROBE;
      });
    }
    return webpTurnedByBrowser;
  }

  // The EXIF orientation (1 to 8) of a WebP file, 1 when it has none. The EXIF chunk usually comes
  // after the pixels, so the whole file is read (it is one the server has just accepted).
  function webpOrientation(file) {
    return file.arrayBuffer().then(function (buf) {
      var v = new DataView(buf);
      if (buf.byteLength < 12 || v.getUint32(0) !== 0x52494646 || v.getUint32(8) !== 0x57454250) return 1; // RIFF WEBP
      var at = 12;
      while (at + 8 <= buf.byteLength) {
        var size = v.getUint32(at + 4, true);
        if (v.getUint32(at) === 0x45584946) return exifOrientation(v, at + 8, Math.min(size, buf.byteLength - at - 8)); // EXIF
        at += 8 + size + (size & 1);
      }
      return 1;
    }).catch(function () { return 1; }); // unreadable or malformed: shown as stored
  }

  function exifOrientation(v, start, length) {
    if (length >= 6 && v.getUint32(start) === 0x45786966) { start += 6; length -= 6; } // "Exif\0\0" first, from some writers
    var end = start + length;
    if (length < 8) return 1;
    var little = v.getUint16(start) === 0x4949; // "II"
    var ifd = start + v.getUint32(start + 4, little);
    if (ifd + 2 > end) return 1;
    for (var i = 0, n = v.getUint16(ifd, little); i < n && ifd + 14 + i * 12 <= end; i++) {
      var entry = ifd + 2 + i * 12;
      if (v.getUint16(entry, little) === 0x0112) {
        var o = v.getUint16(entry + 8, little);
        return o >= 1 && o <= 8 ? o : 1;
      }
    }
    return 1;
  }

  // The photo drawn the way round its orientation says (at most 1600 px, a preview), as a PNG's URL.
  function turnedUrl(url, orientation) {
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onerror = reject;
      img.onload = function () {
        var scale = Math.min(1, 1600 / Math.max(img.naturalWidth, img.naturalHeight));
        var w = Math.max(1, Math.round(img.naturalWidth * scale));
        var h = Math.max(1, Math.round(img.naturalHeight * scale));
        var canvas = document.createElement("canvas");
        var sideways = orientation >= 5;
        canvas.width = sideways ? h : w;
        canvas.height = sideways ? w : h;
        var ctx = canvas.getContext("2d");
        // The EXIF orientations as canvas transforms: 2 mirrored, 3 upside down, 4 flipped, 5 to 8 on
        // their side (6: turn clockwise, 8: anticlockwise; 5 and 7 mirrored as well).
        var m = {
          2: [-1, 0, 0, 1, w, 0], 3: [-1, 0, 0, -1, w, h], 4: [1, 0, 0, -1, 0, h], 5: [0, 1, 1, 0, 0, 0],
          6: [0, 1, -1, 0, h, 0], 7: [0, -1, -1, 0, h, w], 8: [0, -1, 1, 0, 0, w],
        }[orientation];
        ctx.transform(m[0], m[1], m[2], m[3], m[4], m[5]);
        ctx.drawImage(img, 0, 0, w, h);
        canvas.toBlob(function (blob) {
          if (blob) resolve(URL.createObjectURL(blob));
          else reject(new Error("no preview"));
        });
      };
      img.src = url;
    });
  }

  // The URL to show for a WebP photo: `url` itself, or a turned copy's (the caller revokes `url` then).
  function webpPreviewUrl(file, url) {
    return Promise.all([webpOrientation(file), browserTurnsWebp()]).then(function (found) {
      return found[0] > 1 && !found[1] ? turnedUrl(url, found[0]) : url;
    });
  }

  window.capsightOrientation = { webpPreviewUrl: webpPreviewUrl };
})();
