/* gemcheck HTML report: filter findings by severity, status and domain.
   Plain JavaScript, no libraries, no network, and no HTML built from data: the script only
   toggles the `hidden` attribute and sets textContent. Without JavaScript the page is complete
   and the same checkboxes filter through CSS. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.getElementById("filters");
  if (!form) {
    return;
  }
  var findings = Array.prototype.slice.call(document.querySelectorAll(".finding"));
  var rules = Array.prototype.slice.call(document.querySelectorAll(".rule"));
  var domains = Array.prototype.slice.call(document.querySelectorAll("section.domain"));
  var shown = document.getElementById("shown-count");

  function ticked(name) {
    var values = {};
    var boxes = form.querySelectorAll("input[type=checkbox][name=" + name + "]");
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.checked) {
        values[box.value] = true;
      }
    });
    return values;
  }

  function apply() {
    var severity = ticked("severity");
    var status = ticked("status");
    var domain = ticked("domain");
    var count = 0;
    findings.forEach(function (item) {
      var show = severity[item.getAttribute("data-severity")] === true &&
        status[item.getAttribute("data-status")] === true &&
        domain[item.getAttribute("data-domain")] === true;
      item.hidden = !show;
      if (show) {
        count += 1;
      }
    });
    rules.forEach(function (rule) {
      rule.hidden = rule.querySelector(".finding:not([hidden])") === null;
    });
    domains.forEach(function (section) {
      section.hidden = section.querySelector(".rule:not([hidden])") === null;
    });
    if (shown) {
      shown.textContent = String(count);
    }
  }

  form.addEventListener("change", apply);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
  });
  Array.prototype.forEach.call(form.querySelectorAll("button[data-set]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var group = button.getAttribute("data-group");
      var on = button.getAttribute("data-set") === "all";
      var boxes = form.querySelectorAll("input[type=checkbox][name=" + group + "]");
      Array.prototype.forEach.call(boxes, function (box) {
        box.checked = on;
      });
      apply();
    });
  });

  /* Print what is filtered in, with every group opened; restore afterwards. */
  var closed = [];
  window.addEventListener("beforeprint", function () {
    closed = rules.filter(function (rule) {
      return !rule.open;
    });
    closed.forEach(function (rule) {
      rule.open = true;
    });
  });
  window.addEventListener("afterprint", function () {
    closed.forEach(function (rule) {
      rule.open = false;
    });
    closed = [];
  });

  apply();
}());
