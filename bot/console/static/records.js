// The Records list: a changed select filters at once (the button stays for typed words).
(function () {
  var form = document.getElementById("record-filters");
  if (!form) { return; }
  form.querySelectorAll("select").forEach(function (select) {
    select.addEventListener("change", function () {
      if (select.name === "period") { form.elements.typed.value = ""; }
      form.submit();
    });
  });
}());
