// BL Intake's one script, small and optional: the pages work without it.
// After a post that came back (errors, or "check and send again"), move focus to the summary at
// the top, so that keyboard and screen-reader users start where the problem is said.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector("[data-focus-on-load]");
  if (summary) {
    summary.focus();
  }
});
