(function () {
  var field = document.getElementById("feed-url");
  var button = document.getElementById("copy");
  var status = document.getElementById("copy-status");
  if (!field || !button || !status) return;
  button.hidden = false;
  field.addEventListener("focus", function () { field.select(); });
  function say(text) { status.textContent = text; }
  var manual = "Select the address and copy it (Ctrl+C, or Cmd+C on a Mac).";
  button.addEventListener("click", function () {
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () { say("Copied."); }, function () { say(manual); });
    } else {
      say(document.execCommand("copy") ? "Copied." : manual);
    }
  });
})();
