// The language switch in the layout applies the language as soon as it is chosen
// (without JavaScript, its "OK" button does). A file, not an inline handler: the
// Content-Security-Policy allows no inline script.
document.getElementById("language-select")?.addEventListener("change", (event) => {
  event.target.form.submit();
});
