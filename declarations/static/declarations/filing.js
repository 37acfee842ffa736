// The filing form's small enhancements; the form works without them.
(function () {
  "use strict";
  var lastHsInput = null;

  function hsInputs() {
    return Array.prototype.slice.call(document.querySelectorAll("input[name$='-hs_code']"));
  }

  function showUseButtons() {
    document.querySelectorAll("button[data-hs-code][hidden]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("focusin", function (event) {
    var target = event.target;
    if (target.matches && target.matches("input[name$='-hs_code']")) { lastHsInput = target; }
  });

  // "Use 851830" fills the HS code field last visited, or else the first empty one.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-hs-code]");
    if (!button) { return; }
    var inputs = hsInputs();
    var target = lastHsInput && document.body.contains(lastHsInput) ? lastHsInput : null;
    if (!target) {
      target = inputs.filter(function (input) { return !input.value; })[0] || inputs[inputs.length - 1];
    }
    if (target) {
      target.value = button.getAttribute("data-hs-code");
      target.focus();
    }
  });

  document.body.addEventListener("htmx:afterSwap", showUseButtons);
  showUseButtons();
})();
