/* The scan box of the pick and pack pages.
 *
 * Without this file the pages still work: the scan form posts, the server redirects back
 * and shows the result. With it:
 * - the scan box keeps the focus, so a handheld scanner (a keyboard that types a code and
 *   Enter) always types into it;
 * - a scan is posted in the background and the page's main part is swapped for the answer,
 *   so the next scan can follow at once;
 * - a refusal beeps (WebAudio: a low, harsh triple tone), a confirmation chirps once;
 * - "Use camera" reads barcodes with the phone's camera: the browser's own BarcodeDetector
 *   where it has one, else the vendored ZXing library (static/warehouse/vendor/), loaded only
 *   when the camera is first used. Each code read goes into the same scan form.
 */
(function () {
  "use strict";

  var audio = null;
  function audioContext() {
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return null;
    if (!audio) audio = new Ctx();
    if (audio.state === "suspended") audio.resume();
    return audio;
  }
  // Browsers start audio only after a gesture: a key (the scanner types) or a tap unlocks it.
  ["keydown", "pointerdown"].forEach(function (type) {
    window.addEventListener(type, audioContext, { once: true, capture: true });
  });

  function tone(ctx, at, freq, length, wave, volume) {
    var osc = ctx.createOscillator();
    var gain = ctx.createGain();
    osc.type = wave;
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(volume, at);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    osc.connect(gain).connect(ctx.destination);
    osc.start(at);
    osc.stop(at + length);
  }

  function beep(kind) {
    var root = document.documentElement;
    root.dataset.beeps = String(Number(root.dataset.beeps || 0) + 1);
    root.dataset.lastBeep = kind;
    var ctx = audioContext();
    if (!ctx) return;
    var now = ctx.currentTime;
    if (kind === "error") {
      for (var i = 0; i < 3; i++) tone(ctx, now + i * 0.2, 196, 0.16, "square", 0.4);
      if (navigator.vibrate) navigator.vibrate([200, 80, 200, 80, 200]);
    } else {
      tone(ctx, now, 1320, 0.09, "sine", 0.25);
    }
  }

  function main() { return document.getElementById("wh-main"); }
  function scanInput() { return document.querySelector("[data-scan-form] input[name=code]"); }

  function focusScan() {
    var input = scanInput();
    if (input && document.activeElement !== input) input.focus({ preventScroll: true });
  }

  // Keep the focus in the scan box unless the person is working another control.
  function isControl(el) {
    return el && el !== document.body && /^(INPUT|SELECT|TEXTAREA|BUTTON|SUMMARY|A|VIDEO)$/.test(el.tagName);
  }
  document.addEventListener("focusout", function () {
    setTimeout(function () { if (!isControl(document.activeElement)) focusScan(); }, 150);
  });

  function announce() {
    var refused = document.querySelector(".messages .error");
    var box = document.querySelector(".scan");
    if (box) box.classList.toggle("refused", !!refused);
    if (refused) beep("error");
    else if (document.querySelector(".messages .success")) beep("ok");
  }

  var busy = false;
  function submitScan(form) {
    if (busy) return;
    busy = true;
    var body = new FormData(form);
    var input = form.querySelector("input[name=code]");
    if (input) { input.value = ""; }
    fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    }).then(function (response) {
      return response.text().then(function (html) { return { response: response, html: html }; });
    }).then(function (result) {
      var doc = new DOMParser().parseFromString(result.html, "text/html");
      var fresh = doc.getElementById("wh-main");
      if (!fresh) { window.location.assign(result.response.url || window.location.href); return; }
      main().replaceWith(fresh);
      if (!doc.querySelector("[data-scan-form]")) {
        // nothing left to scan here: the box and the camera go
        var panel = document.querySelector("[data-camera]");
        if (panel) stopCamera(panel);
        var box = document.querySelector(".scan");
        if (box) box.remove();
      }
      if (result.response.url) history.replaceState(null, "", result.response.url);
      bind();
      announce();
      focusScan();
    }).catch(function () {
      form.submit();  // the network hiccupped: fall back to a plain post
    }).then(function () { busy = false; });
  }

  // --- the camera ---------------------------------------------------------------------
  var camera = { stream: null, stop: null, last: "", lastAt: 0 };

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      if (window.ZXingBrowser) return resolve();
      var s = document.createElement("script");
      s.src = src;
      s.onload = function () { resolve(); };
      s.onerror = function () { reject(new Error("could not load " + src)); };
      document.head.appendChild(s);
    });
  }

  function onCode(text) {
    var now = Date.now();
    if (!text || (text === camera.last && now - camera.lastAt < 2500)) return;
    camera.last = text;
    camera.lastAt = now;
    var form = document.querySelector("[data-scan-form]");
    var input = scanInput();
    if (!form || !input) return;
    input.value = text;
    submitScan(form);
  }

  function nativeDetector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      var wanted = ["ean_13", "ean_8", "upc_a", "upc_e", "code_128", "code_39", "qr_code", "itf", "data_matrix"];
      var usable = wanted.filter(function (f) { return formats.indexOf(f) >= 0; });
      return usable.length ? new window.BarcodeDetector({ formats: usable }) : null;
    }).catch(function () { return null; });
  }

  function startCamera(panel) {
    var video = panel.querySelector("video");
    var status = panel.querySelector("[data-camera-status]");
    panel.hidden = false;
    status.textContent = "Starting the camera…";
    return nativeDetector().then(function (detector) {
      if (detector) {
        return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false })
          .then(function (stream) {
            camera.stream = stream;
            video.srcObject = stream;
            return video.play();
          }).then(function () {
            status.textContent = "Point the camera at a barcode.";
            var running = true;
            camera.stop = function () { running = false; };
            (function tick() {
              if (!running) return;
              detector.detect(video).then(function (codes) {
                if (codes.length) onCode(codes[0].rawValue);
              }).catch(function () {}).then(function () { if (running) setTimeout(tick, 200); });
            })();
          });
      }
      return loadScript(panel.dataset.zxingSrc).then(function () {
        var reader = new window.ZXingBrowser.BrowserMultiFormatReader();
        return reader.decodeFromConstraints(
          { video: { facingMode: "environment" }, audio: false }, video,
          function (result) { if (result) onCode(result.getText()); }
        ).then(function (controls) {
          camera.stop = function () { controls.stop(); };
          status.textContent = "Point the camera at a barcode.";
        });
      });
    }).catch(function (err) {
      status.textContent = "The camera could not start: " + (err && err.message ? err.message : err);
    });
  }

  function stopCamera(panel) {
    if (camera.stop) camera.stop();
    if (camera.stream) camera.stream.getTracks().forEach(function (t) { t.stop(); });
    camera.stop = null;
    camera.stream = null;
    panel.hidden = true;
    focusScan();
  }

  function bind() {
    var form = document.querySelector("[data-scan-form]");
    if (form && !form.dataset.bound) {
      form.dataset.bound = "1";
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        var input = form.querySelector("input[name=code]");
        if (input && !input.value.trim()) { focusScan(); return; }
        submitScan(form);
      });
    }
    var start = document.querySelector("[data-camera-start]");
    var panel = document.querySelector("[data-camera]");
    if (start && panel && !start.dataset.bound) {
      start.dataset.bound = "1";
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        start.hidden = true;  // no camera API (or not a secure context): the scanner still works
      } else {
        start.hidden = false;
        start.addEventListener("click", function () {
          if (panel.hidden) { startCamera(panel); start.textContent = "Stop camera"; }
          else { stopCamera(panel); start.textContent = "Use camera"; }
        });
      }
    }
  }

  // Back from the print dialog: the scanner types into the box again.
  window.addEventListener("afterprint", function () { setTimeout(focusScan, 0); });

  document.addEventListener("DOMContentLoaded", function () {
    bind();
    announce();
    focusScan();
  });
})();
