// A form that sends (a broadcast) or asks for a preview is sent once: a second tap while the
// first is on its way would send the notice twice.
for (const form of document.querySelectorAll("form.send")) {
  form.addEventListener("submit", () => {
    for (const button of form.querySelectorAll("button[type=submit]")) {
      button.disabled = true;
    }
  });
}
