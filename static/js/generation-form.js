/* New-video form: drag-and-drop, previews, and the 30 MB / JPEG-PNG-WebP rule checked before upload
   (the server checks again by content). */
(function () {
  "use strict";
  var TYPES = ["image/jpeg", "image/png", "image/webp"];

  function setup(zone) {
    var input = zone.querySelector("input[type=file]");
    var error = zone.querySelector(".client-error");
    var preview = zone.querySelector(".preview");
    if (!input) return;
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);

    function check() {
      var file = input.files && input.files[0];
      error.hidden = true;
      preview.hidden = true;
      input.setCustomValidity("");
      if (!file) return;
      var problem = null;
      if (TYPES.indexOf(file.type) < 0) problem = "Use a JPEG, PNG or WebP image.";
      else if (file.size > maxBytes) problem = "This image is " + (file.size / 1048576).toFixed(1) + " MB; the limit is " + Math.floor(maxBytes / 1048576) + " MB.";
      if (problem) {
        error.textContent = problem;
        error.hidden = false;
        input.setCustomValidity(problem);
        input.value = "";
        return;
      }
      preview.src = URL.createObjectURL(file);
      preview.hidden = false;
    }

    input.addEventListener("change", check);
    zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("dragging");
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        check();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-dropzone]"), setup);
  });
})();
