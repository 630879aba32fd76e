// Inside Telegram: the Mini App's address carries Telegram's signed initData in its fragment
// (tgWebAppData). It is posted once to the server, which checks the signature and sets the
// session cookie; then the console opens.
(function () {
  var params = new URLSearchParams(location.hash.slice(1));
  var data = params.get("tgWebAppData");
  function failed() {
    document.getElementById("status").hidden = true;
    document.getElementById("failed").hidden = false;
  }
  if (!data) { failed(); return; }
  fetch("/console/webapp", {
    method: "POST",
    headers: {"Content-Type": "application/x-www-form-urlencoded"},
    body: new URLSearchParams({init_data: data}),
    credentials: "same-origin"
  }).then(function (response) {
    if (response.ok) { location.replace("/console/"); }
    else { response.text().then(function (page) { document.open(); document.write(page); document.close(); }); }
  }).catch(failed);
})();
