/* A "Copy" button: [data-copy] names the element whose text it copies; what it did is
   said in the page's live region and on the button. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.dataset.copy);
    if (!source) return;
    var text = source.textContent.trim();
    function done() {
      var region = document.getElementById("live-status");
      if (region) region.textContent = button.dataset.copied;
      button.dataset.state = "copied";
    }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done);
    } else {
      // Without the clipboard API (plain HTTP): select the text and copy the selection.
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      if (document.execCommand("copy")) done();
    }
  });
})();
