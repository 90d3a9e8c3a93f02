/* capsight upload page: an animated photo's preview held on its first frame, the one the server
 * classifies (it decodes frame 0 of a GIF, WebP or APNG). The preview played the whole animation
 * beside an answer about one frame of it. Loaded before app.js as window.capsightStill; result.js uses
 * it when present (a page cached before it came simply plays the animation).
 */
(function () {
  "use strict";

  // GIF: more than one image descriptor. Blocks are walked, not searched for, so no pixel byte is
  // taken for a descriptor.
  function gifFrames(v) {
    var n = v.byteLength, at = 13, frames = 0;
    if (n < 13) return 0;
    var flags = v.getUint8(10);
    if (flags & 0x80) at += 3 << ((flags & 7) + 1); // global colour table
    function skipSubBlocks() {
      while (at < n) {
        var size = v.getUint8(at);
        at += 1 + size;
        if (!size) return;
      }
    }
    while (at < n && frames < 2) {
      var kind = v.getUint8(at);
      if (kind === 0x2c) { // image descriptor
        if (at + 10 > n) break;
        var local = v.getUint8(at + 9);
        at += 10 + ((local & 0x80) ? 3 << ((local & 7) + 1) : 0) + 1; // descriptor, colour table, LZW size
        frames += 1;
        skipSubBlocks();
      } else if (kind === 0x21) { // extension
        at += 2;
        skipSubBlocks();
      } else break; // 0x3b, the trailer, or damage
    }
    return frames;
  }

  // WebP: the animation flag of its VP8X header. PNG: an acTL chunk before the first IDAT (APNG).
  function isAnimated(buf, format) {
    var v = new DataView(buf);
    if (format === "GIF") return gifFrames(v) > 1;
    if (format === "WEBP") {
      return buf.byteLength >= 21 && v.getUint32(12) === 0x56503858 && (v.getUint8(20) & 0x02) !== 0; // "VP8X"
    }
    if (format === "PNG") {
      for (var at = 8; at + 8 <= buf.byteLength; at += 12 + v.getUint32(at)) {
        var type = v.getUint32(at + 4);
        if (type === 0x6163544c) return true; // acTL
        if (type === 0x49444154) return false; // IDAT
      }
    }
    return false;
  }

  function animated(file, format) {
    return file.arrayBuffer()
      .then(function (buf) { return isAnimated(buf, format); })
      .catch(function () { return false; });
  }

  // The first frame as a still PNG's URL: a canvas draws an animated image's first frame.
  function firstFrameUrl(url) {
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onerror = reject;
      img.onload = function () {
        var canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        canvas.getContext("2d").drawImage(img, 0, 0);
        canvas.toBlob(function (blob) {
          if (blob) resolve(URL.createObjectURL(blob));
          else reject(new Error("no preview"));
        });
      };
      img.src = url;
    });
  }

  // The URL to show: `url` itself, or a still copy's (the caller revokes `url` then).
  function previewUrl(file, format, url) {
    return animated(file, format).then(function (yes) { return yes ? firstFrameUrl(url) : url; });
  }

  window.capsightStill = { previewUrl: previewUrl };
})();
