// The order page's background job: poll /jobs/<id> every second, move the progress bar, and reload the page
// once the job has ended so that it shows the result. No library; without JavaScript the page refreshes itself.
(function () {
  "use strict";
  var box = document.querySelector("[data-job-url]");
  if (!box) {
    return;
  }
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-job-text]");
  var url = box.getAttribute("data-job-url");

  function later(seconds) {
    window.setTimeout(poll, seconds * 1000);
  }

  function show(job) {
    box.setAttribute("data-job-state", job.state);
    if (job.state === "done" || job.state === "failed") {
      window.location.reload();
      return;
    }
    if (job.done > 0 && bar) {
      bar.value = job.percent;
      bar.textContent = job.percent + "%";
    }
    if (text) {
      text.textContent = job.done + " / " + job.total;
    }
    later(1);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (job) {
        if (job) {
          show(job);
        } else {
          later(5);
        }
      })
      .catch(function () {
        later(5);
      });
  }

  later(1);
})();
