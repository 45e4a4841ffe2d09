/* Optional enhancement of the report form: solves the small proof-of-work the server offers, so a
   reporter whose browser runs JavaScript need not wait before sending. Without JavaScript the form
   still works: the server then only asks that a few seconds pass between showing and sending it. */
(function () {
  "use strict";
  var input = document.getElementById("pow-nonce");
  if (!input || !window.crypto || !window.crypto.subtle || !window.TextEncoder) { return; }
  var challenge = input.getAttribute("data-challenge");
  var bits = parseInt(input.getAttribute("data-bits"), 10);
  if (!challenge || !(bits > 0)) { return; }
  var encoder = new TextEncoder();

  function leadingZeroBits(bytes) {
    var count = 0;
    for (var i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) { count += 8; continue; }
      var b = bytes[i];
      while ((b & 0x80) === 0) { count += 1; b <<= 1; }
      break;
    }
    return count;
  }

  function attempt(nonce) {
    var data = encoder.encode(challenge + ":" + nonce);
    return window.crypto.subtle.digest("SHA-256", data).then(function (digest) {
      if (leadingZeroBits(new Uint8Array(digest)) >= bits) {
        input.value = String(nonce);
        return null;
      }
      return nonce + 1;
    });
  }

  function run(nonce) {
    attempt(nonce).then(function (next) { if (next !== null && next < 50000000) { run(next); } });
  }
  run(0);
})();
