/* Storyboard editor: add, remove and reorder shots, keeping the `shot_<n>_*` names in order (chosen files stay
   with their row when it moves), hide a chained shot's frame input, and ask for the new total (htmx). */
(function () {
  "use strict";

  function init() {
    var form = document.getElementById("storyboard-form");
    if (!form) return;
    var list = form.querySelector("[data-shot-list]");
    var template = form.querySelector("[data-shot-template]");
    var count = form.querySelector("[data-shot-count]");
    var addButton = form.querySelector("[data-shot-add]");
    var max = parseInt(form.getAttribute("data-max-shots"), 10) || 8;

    function rows() { return Array.prototype.slice.call(list.querySelectorAll("[data-shot-row]")); }

    function renumber() {
      rows().forEach(function (row, index) {
        var n = index + 1;
        row.querySelector("[data-shot-number]").textContent = n;
        row.querySelectorAll("[data-field]").forEach(function (input) {
          var name = "shot_" + n + "_" + input.getAttribute("data-field");
          input.name = name;
          input.id = name;
        });
        row.querySelectorAll("label[data-for]").forEach(function (label) {
          label.htmlFor = "shot_" + n + "_" + label.getAttribute("data-for");
        });
        var chained = row.querySelector("[data-field=continue]");
        if (n === 1 && chained) chained.checked = false;
        if (chained) chained.disabled = n === 1;
        var frame = row.querySelector("[data-own-frame]");
        if (frame) frame.hidden = !!(chained && chained.checked);
        row.querySelector("[data-shot-up]").disabled = n === 1;
        row.querySelector("[data-shot-down]").disabled = n === rows().length;
        row.querySelector("[data-shot-remove]").disabled = rows().length <= 2;
      });
      count.value = rows().length;
      addButton.disabled = rows().length >= max;
      document.body.dispatchEvent(new CustomEvent("shots-changed"));
    }

    list.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      var row = button.closest("[data-shot-row]");
      if (button.hasAttribute("data-shot-remove")) row.remove();
      else if (button.hasAttribute("data-shot-up") && row.previousElementSibling) list.insertBefore(row, row.previousElementSibling);
      else if (button.hasAttribute("data-shot-down") && row.nextElementSibling) list.insertBefore(row.nextElementSibling, row);
      else return;
      renumber();
    });
    list.addEventListener("change", function (event) {
      if (event.target.getAttribute("data-field") === "continue") renumber();
    });
    addButton.addEventListener("click", function () {
      if (rows().length >= max) return;
      var fragment = template.content.cloneNode(true);
      var chained = fragment.querySelector("[data-field=continue]");
      if (chained) chained.checked = true;
      var duration = fragment.querySelector("[data-field=duration]");
      if (duration) duration.value = "5";
      list.appendChild(fragment);
      renumber();
    });
    renumber();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
