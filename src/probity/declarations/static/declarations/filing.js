// E-filing: move the focus to the error summary so that screen readers announce the problems.
// The pages work without this script.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
});
