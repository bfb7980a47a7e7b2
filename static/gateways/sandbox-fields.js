// Sandbox card fields, inside an <iframe> on the payment page. Submits the card to the sandbox and tells
// the parent page the outcome: window.parent.postMessage({type: "sandbox:result", status, checkout, message}).
// The parent treats it as a hint only; the payment is settled by the webhook or a status fetch.
(function () {
  "use strict";

  function tellParent(data) {
    if (window.parent && window.parent !== window) {
      window.parent.postMessage({type: "sandbox:result", status: data.status, checkout: data.checkout,
                                 message: data.message || ""}, "*");
    }
  }

  function clearErrors(form) {
    form.querySelectorAll("p.error[data-js]").forEach(function (node) { node.remove(); });
    form.querySelectorAll(".field.invalid").forEach(function (node) { node.classList.remove("invalid"); });
  }

  function showErrors(form, errors) {
    Object.keys(errors).forEach(function (name) {
      var input = form.elements[name];
      if (!input) { return; }
      var field = input.closest(".field");
      field.classList.add("invalid");
      errors[name].forEach(function (text) {
        var p = document.createElement("p");
        p.className = "error";
        p.dataset.js = "1";
        p.textContent = text;
        field.appendChild(p);
      });
    });
  }

  function showResult(text, ok) {
    var box = document.querySelector("[data-result]");
    box.textContent = text;
    box.hidden = !text;
    box.className = ok ? "message" : "errors";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form[data-sandbox-fields]");
    if (!form) {  // nothing to pay here any more: say so to the parent at once
      var root = document.querySelector("[data-checkout]");
      tellParent({status: root.dataset.status, checkout: root.dataset.checkout,
                  message: document.querySelector("[data-result]").textContent.trim()});
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      clearErrors(form);
      showResult("");
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: {"Accept": "application/json"},
      }).then(function (response) {
        return response.json();
      }).then(function (data) {
        button.disabled = false;
        if (data.status === "invalid") {
          showErrors(form, data.errors || {});
          return;
        }
        // Declined: the fields stay for another card. Anything else leaves nothing to pay here.
        form.hidden = data.status !== "failed";
        showResult(data.message || "", data.status === "succeeded" || data.status === "processing");
        tellParent(data);
      }).catch(function () {
        button.disabled = false;
        showResult("The sandbox did not answer. Try again.");
      });
    });
  });
})();
