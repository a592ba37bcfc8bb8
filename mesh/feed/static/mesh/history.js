// The questions page's History tab: the owner's settled questions from the REST list
// GET /api/v1/questions/ (session auth; paginated count/next/previous/results), with a
// search box, a status filter and a "More" button; questions settled while the page is open
// are added at the top as they happen.
(function () {
  "use strict";

  const PAGE_SIZE = 20;
  const SEARCH_DELAY_MS = 250;
  const STATUS_LABELS = {
    answered: "Answered",
    declined: "Declined",
    cancelled: "Withdrawn",
    expired: "Expired",
  };

  function create(options) {
    const list = options.list;
    const template = options.template;
    const search = options.search;
    const status = options.status;
    const moreButton = options.more;
    const empty = options.empty;
    const error = options.error;
    const shown = new Set();
    let loaded = false;
    let next = null;
    let generation = 0;
    let searchTimer = null;
    const cards = window.Makima.cards;

    function url() {
      const params = new URLSearchParams();
      params.set("status", status.value);
      params.set("ordering", "-settledAt");
      params.set("pageSize", String(PAGE_SIZE));
      if (search.value.trim()) params.set("search", search.value.trim());
      return options.apiPath + "?" + params.toString();
    }

    function fetchPage(address, reset) {
      generation += 1;
      const mine = generation;
      list.setAttribute("aria-busy", "true");
      moreButton.disabled = true;
      return fetch(address, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (reply) {
          if (reply.status === 401 || reply.status === 403) options.onSignedOut();
          return reply.json().then(function (body) {
            if (!reply.ok) throw new Error(body.message || "HTTP " + reply.status);
            return body;
          });
        })
        .then(function (body) {
          if (mine !== generation) return;
          if (reset) {
            list.textContent = "";
            shown.clear();
          }
          (body.results || []).forEach(function (record) { append(record, false); });
          next = body.next || null;
          loaded = true;
          error.hidden = true;
          refresh();
        })
        .catch(function (failure) {
          if (mine !== generation) return;
          error.textContent = "The history could not be loaded: " + failure.message + ". ";
          error.hidden = false;
        })
        .finally(function () {
          if (mine !== generation) return;
          list.setAttribute("aria-busy", "false");
          moreButton.disabled = false;
        });
    }

    function refresh() {
      moreButton.hidden = !next;
      empty.hidden = !loaded || list.children.length !== 0;
    }

    function build(record) {
      const element = template.content.firstElementChild.cloneNode(true);
      const field = function (name) { return cards.field(element, name); };
      element.dataset.questionId = record.id;
      const badge = field("status");
      badge.textContent = STATUS_LABELS[record.status] || record.status;
      badge.className = "status status--" + record.status;
      field("taskName").textContent = record.taskName || record.taskId || "";
      if (record.directiveTitle || record.directiveId) {
        field("directiveTitle").textContent = record.directiveTitle || record.directiveId;
      } else {
        element.querySelector(".card__directive").remove();
      }
      const when = field("settledAt");
      if (record.settledAt) {
        when.dateTime = record.settledAt;
        when.textContent = new Date(record.settledAt).toLocaleString();
      }
      const link = field("question");
      link.href = "/questions/" + encodeURIComponent(record.id) + "/";
      link.textContent = record.question;
      if (record.status === "answered") {
        field("outcomeLabel").textContent = "Answer:";
        field("outcome").textContent = cards.responseText(record.response);
      } else {
        field("outcomeLabel").textContent = record.reason ? "Reason:" : "No reason given.";
        field("outcome").textContent = record.reason || "";
      }
      field("who").textContent = record.settledBy ? "By " + record.settledBy + "." : "";
      const wait = typeof record.waitSeconds === "number"
        ? record.waitSeconds
        : record.settledAt && record.createdAt
          ? (Date.parse(record.settledAt) - Date.parse(record.createdAt)) / 1000
          : null;
      field("waited").textContent =
        wait === null ? "" : "The task waited " + cards.duration(wait) + ".";
      return element;
    }

    function append(record, atTop) {
      if (shown.has(record.id)) return;
      shown.add(record.id);
      const element = build(record);
      list.insertBefore(element, atTop ? list.firstElementChild : null);
    }

    function matches(record) {
      if (status.value.split(",").indexOf(record.status) < 0) return false;
      const words = search.value.trim().toLowerCase();
      if (!words) return true;
      return (record.question + "\n" + (record.context || "")).toLowerCase().indexOf(words) >= 0;
    }

    search.addEventListener("input", function () {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(function () { fetchPage(url(), true); }, SEARCH_DELAY_MS);
    });
    search.form.addEventListener("submit", function (event) {
      event.preventDefault();
      clearTimeout(searchTimer);
      fetchPage(url(), true);
    });
    status.addEventListener("change", function () { fetchPage(url(), true); });
    moreButton.addEventListener("click", function () {
      if (next) fetchPage(next, false);
    });

    return {
      // The first time the tab is shown, load its first page.
      show: function () {
        if (!loaded) fetchPage(url(), true);
      },
      // A question settled while the page is open (from the feed): its REST item (who
      // settled it, how long the task waited) at the top, if it fits the filters; the
      // feed's own record when that read fails.
      settled: function (record) {
        if (!loaded) return;
        fetch(options.apiPath + encodeURIComponent(record.id) + "/", {
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        })
          .then(function (reply) {
            if (!reply.ok) throw new Error("HTTP " + reply.status);
            return reply.json();
          })
          .catch(function () { return record; })
          .then(function (item) {
            if (!item.question || !matches(item)) return;
            append(item, true);
            refresh();
          });
      },
      focusSearch: function () {
        search.focus();
        search.select();
      },
    };
  }

  window.Makima = window.Makima || {};
  window.Makima.history = { create: create };
})();
