/* The one script of the site; every page works without it.
   A form sent back with errors: the error summary takes the focus, so that a screen reader reads it out and a
   keyboard user starts from its links to the fields (WCAG 3.3.1; the GOV.UK error summary pattern). */
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".error-summary");
  if (summary) {
    summary.focus();
  }
});
