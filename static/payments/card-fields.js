// The card fields on the Take Payment page, whichever gateway hosts them. The fields belong to the
// gateway (an iframe from its origin); this script only mounts them and, when the gateway says the card
// was submitted, asks the status fragment to look again. The status below the fields is what counts:
// the payment is settled by the webhook or a status fetch, never by what the browser reports.
(function () {
  "use strict";

  var box = document.getElementById("card-fields");
  if (!box) { return; }
  var data = box.dataset;

  function refreshStatus() {
    if (window.htmx && document.getElementById("payment-status-poll")) {
      window.htmx.trigger("#payment-status-poll", "refresh");
    }
  }

  function showError(text) {
    var node = document.getElementById("card-fields-error");
    if (node) { node.textContent = text || ""; node.hidden = !text; }
  }

  function sandbox() {
    window.addEventListener("message", function (event) {
      if (event.origin !== window.location.origin || !event.data || event.data.type !== "sandbox:result") { return; }
      refreshStatus();
    });
  }

  function stripe() {
    if (!window.Stripe) { showError("The card form could not be loaded from Stripe."); return; }
    var client = window.Stripe(data.publishableKey);
    var elements = client.elements({clientSecret: data.clientToken});
    elements.create("payment").mount("#stripe-payment-element");
    document.getElementById("card-fields-form").addEventListener("submit", function (event) {
      event.preventDefault();
      showError("");
      client.confirmPayment({elements: elements, redirect: "if_required",
                             confirmParams: {return_url: data.returnUrl}})
        .then(function (result) {
          if (result.error) { showError(result.error.message); }
          refreshStatus();
        });
    });
  }

  function cashflows() {
    if (!window.CashflowsClientLib) { showError("The card form could not be loaded."); return; }
    var client = new window.CashflowsClientLib.Cashflows(data.clientToken, data.integration === "true");
    client.initCard("#card-number", "#card-name", "#card-expiration", "#card-cvc", "#pay-with-card")
      .catch(function (reason) { showError(String(reason)); });
    client.checkout()
      .then(refreshStatus)
      .catch(function () { refreshStatus(); });
  }

  ({sandbox: sandbox, stripe: stripe, cashflows: cashflows}[data.provider] || function () {})();
})();
