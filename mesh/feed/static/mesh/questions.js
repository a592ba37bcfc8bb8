// The owners' questions page (/questions/, and /questions/<id>/ for one question): pending
// questions from the feed websocket (connection.js), answered and declined over the same
// socket; cards from cards.js; the History tab (history.js) from the REST list; the keyboard
// (keys.js). After this page answers or declines, the card shows the outcome for
// data-outcome-ms (at least 5 s by default) before it moves to History. No build step.
//
// Multi-select answers are sent as a JSON array of the chosen options in a string, e.g.
// '["staging","production"]' (unambiguous even when an option contains a comma).
(function () {
  "use strict";

  const BASE_TITLE = "Questions — Makima mesh";
  const TICK_MS = 1000;
  const GONE_CODES = new Set(["ALREADY_ANSWERED", "ALREADY_SETTLED", "NOT_FOUND"]);
  const M = window.Makima;
  const cards = M.cards;

  const page = document.querySelector("main.page");
  const mode = page.dataset.mode; // "list", "single" (one pending question) or "settled"
  const outcomeMs = Number(page.dataset.outcomeMs) || 5000;
  const username = page.dataset.username || null;
  const list = document.getElementById("questions");
  const template = document.getElementById("question-template");
  const emptyNote = document.getElementById("empty");
  const countBadge = document.getElementById("count");
  const moreNote = document.getElementById("more");
  const banner = document.getElementById("banner");
  const announcer = document.getElementById("announcer");
  const notifyButton = document.getElementById("notify");
  const notifyState = document.getElementById("notify-state");
  const keysDialog = document.getElementById("keys");
  const tabs = {
    pending: document.getElementById("tab-pending"),
    history: document.getElementById("tab-history"),
  };

  // questionId -> {data, element, notification, sent, settled}
  const questions = new Map();
  let notShown = 0;
  let history = null;

  const feed = M.connection.create({
    path: page.dataset.socketPath,
    onFrame: handleFrame,
    onSignedOut: signedOut,
    announce: announce,
  });

  // --- Frames ------------------------------------------------------------------------------
  function handleFrame(frame) {
    switch (frame.type) {
      case "snapshot":
        hideBanner();
        applySnapshot(frame.questions || [], frame.total);
        break;
      case "question.asked":
        if (mode === "list" && !questions.has(frame.question.questionId)) {
          addQuestion(frame.question, true);
          announce("New question from " + (frame.question.taskName || "a task") + ".");
          notify(frame.question);
        }
        break;
      case "question.answered":
        settle(frame.questionId, "answered", frame.response, null, frame.answeredAt, false);
        break;
      case "question.declined":
      case "question.cancelled":
      case "question.expired":
        settle(frame.questionId, frame.status, null, frame.reason, null, false);
        break;
      case "answer.accepted": {
        const entry = questions.get(frame.questionId);
        const sent = entry && entry.sent;
        settle(frame.questionId, "answered", sent ? sent.response : null, null,
          frame.answeredAt, true);
        break;
      }
      case "decline.accepted": {
        const entry = questions.get(frame.questionId);
        const sent = entry && entry.sent;
        settle(frame.questionId, "declined", null, sent ? sent.reason : null,
          frame.settledAt, true);
        break;
      }
      case "error":
        handleError(frame);
        break;
      default:
        break;
    }
  }

  function applySnapshot(items, total) {
    if (mode === "single") {
      // The deep link's question may be past the snapshot's 100; it stays until settled.
      questions.forEach(function (entry) { if (!entry.settled) cards.setBusy(entry.element, false); });
      return;
    }
    // The snapshot holds the oldest questions that fit; the rest come with a later snapshot.
    notShown = Math.max(0, (typeof total === "number" ? total : items.length) - items.length);
    const fresh = new Set(items.map(function (item) { return item.questionId; }));
    Array.from(questions.entries()).forEach(function (pair) {
      if (!fresh.has(pair[0]) && !pair[1].settled) removeQuestion(pair[0], null);
    });
    items.forEach(function (item) {
      const known = questions.get(item.questionId);
      if (known) {
        if (!known.settled) cards.setBusy(known.element, false);
      } else {
        addQuestion(item, false);
      }
    });
    refreshCount();
  }

  function handleError(frame) {
    const entry = frame.questionId ? questions.get(frame.questionId) : null;
    if (!entry || entry.settled) {
      if (!entry) showBanner(frame.message || "The server reported an error.");
      return;
    }
    if (GONE_CODES.has(frame.code) && mode === "list") {
      removeQuestion(frame.questionId, frame.message);
      return;
    }
    // The send failed: say why, keep what was written, and let the owner try again.
    entry.sent = null;
    cards.setBusy(entry.element, false);
    cards.showError(entry.element, "Not sent: " + (frame.message || frame.code));
  }

  // --- Settling ------------------------------------------------------------------------------
  function settle(id, status, response, reason, settledAt, accepted) {
    const entry = questions.get(id);
    if (!entry) {
      // Not on this page (past the snapshot's 100, say): History reads it from REST.
      if (history && mode === "list") history.settled({ id: id, status: status, question: "" });
      return;
    }
    if (entry.settled) return;
    const sent = entry.sent;
    const mine = accepted || Boolean(sent && (
      (status === "answered" && sent.kind === "answer" && sent.response === response) ||
      (status === "declined" && sent.kind === "decline")));
    entry.settled = true;
    const record = Object.assign({}, entry.data, {
      id: id,
      status: status,
      response: response,
      reason: reason,
      settledAt: settledAt || new Date().toISOString(),
      settledBy: mine ? username : null,
    });
    refreshCount();
    if (entry.notification) entry.notification.close();
    const outcome = cards.describe(status, response, reason, mine);
    if (mode === "single" || mine) {
      cards.showOutcome(entry.element, outcome);
      announce(entry.element.querySelector(".card__outcome").textContent);
      if (mode === "list") {
        setTimeout(function () { toHistory(record); }, outcomeMs);
      }
      return;
    }
    toHistory(record);
    announce(outcome.label.replace(/:$/, "") + ": " + (entry.data.question || "a question"));
  }

  function toHistory(record) {
    removeQuestion(record.id, null);
    if (history) history.settled(record);
  }

  function send(id, frame, sent) {
    const entry = questions.get(id);
    if (!entry || entry.settled) return;
    if (!feed.send(frame)) {
      cards.showError(entry.element,
        "Not connected, so nothing was sent. Try again once the page shows Live.");
      return;
    }
    entry.sent = sent;
    cards.hideError(entry.element);
    cards.setBusy(entry.element, true);
  }

  const handlers = {
    answer: function (id, response) {
      send(id, { type: "answer", questionId: id, response: response },
        { kind: "answer", response: response });
    },
    decline: function (id, reason) {
      send(id, { type: "decline", questionId: id, reason: reason },
        { kind: "decline", reason: reason });
    },
  };

  // --- Cards -------------------------------------------------------------------------------
  function addQuestion(item, isNew) {
    const element = cards.build(item, template, handlers);
    if (isNew) element.classList.add("card--new");
    // Oldest first: the task that has waited longest is at the top.
    const before = Array.from(list.children).find(function (child) {
      const other = questions.get(child.dataset.questionId);
      return other && Date.parse(other.data.createdAt) > Date.parse(item.createdAt);
    });
    list.insertBefore(element, before || null);
    questions.set(item.questionId, { data: item, element: element, notification: null,
      sent: null, settled: false });
    refreshCount();
  }

  function removeQuestion(id, message) {
    const entry = questions.get(id);
    if (!entry) return;
    const hadFocus = entry.element.contains(document.activeElement);
    const next = entry.element.nextElementSibling || entry.element.previousElementSibling;
    if (entry.notification) entry.notification.close();
    entry.element.remove();
    questions.delete(id);
    refreshCount();
    if (hadFocus) {
      // Keep keyboard users in place: focus the next question's first control.
      const target = next ? next.querySelector("button, textarea") : null;
      (target || document.getElementById("questions-heading")).focus();
    }
    if (message) announce(message);
  }

  // --- Tabs ----------------------------------------------------------------------------------
  function showTab(name, focus) {
    if (!tabs.pending) return;
    Object.keys(tabs).forEach(function (key) {
      const selected = key === name;
      tabs[key].setAttribute("aria-selected", selected ? "true" : "false");
      tabs[key].tabIndex = selected ? 0 : -1;
      document.getElementById(tabs[key].getAttribute("aria-controls")).hidden = !selected;
    });
    if (focus) tabs[name].focus();
    if (name === "history") history.show();
    const hash = name === "history" ? "#history" : "";
    if (window.location.hash !== hash) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search + hash);
    }
  }

  function activeTab() {
    return tabs.history && tabs.history.getAttribute("aria-selected") === "true"
      ? "history" : "pending";
  }

  if (tabs.pending) {
    history = M.history.create({
      apiPath: page.dataset.historyPath,
      list: document.getElementById("history"),
      template: document.getElementById("history-template"),
      search: document.getElementById("history-search"),
      status: document.getElementById("history-status"),
      more: document.getElementById("history-more"),
      empty: document.getElementById("history-empty"),
      error: document.getElementById("history-error"),
      onSignedOut: signedOut,
    });
    tabs.pending.addEventListener("click", function () { showTab("pending", false); });
    tabs.history.addEventListener("click", function () { showTab("history", false); });
    document.querySelector('[role="tablist"]').addEventListener("keydown", function (event) {
      if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
        event.preventDefault();
        showTab(activeTab() === "pending" ? "history" : "pending", true);
      }
    });
  }

  M.keys.install({
    dialog: keysDialog,
    cards: function () {
      const root = activeTab() === "history" ? document.getElementById("history") : list;
      return root ? Array.from(root.querySelectorAll(":scope > li.card")) : [];
    },
    onPick: function (card, index) {
      const entry = questions.get(card.dataset.questionId);
      return Boolean(entry && !entry.settled && entry.element === card &&
        cards.pickChoice(card, index));
    },
    onDecline: function (card) {
      const entry = questions.get(card.dataset.questionId);
      if (entry && !entry.settled && entry.element === card) cards.openDecline(card);
    },
    onSearch: function () {
      if (!history) return;
      showTab("history", false);
      history.focusSearch();
    },
  });
  const keysOpen = document.getElementById("keys-open");
  if (keysOpen && keysDialog) keysOpen.addEventListener("click", function () { keysDialog.showModal(); });

  // --- Page chrome ---------------------------------------------------------------------------
  function pendingCount() {
    let count = notShown;
    questions.forEach(function (entry) { if (!entry.settled) count += 1; });
    return count;
  }

  function refreshCount() {
    if (mode !== "list") return;
    const count = pendingCount();
    moreNote.hidden = notShown === 0;
    moreNote.textContent = notShown
      ? notShown + " more pending question(s) are not shown yet; reload to see them."
      : "";
    countBadge.textContent = String(count);
    document.title = count ? "(" + count + ") " + BASE_TITLE : BASE_TITLE;
    emptyNote.hidden = questions.size !== 0 || notShown !== 0;
  }

  function announce(message) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = message; }, 50);
  }

  function signedOut() {
    showBanner("Your session has ended. ", "Log in again", page.dataset.loginUrl);
  }

  function showBanner(message, linkText, href) {
    banner.textContent = message;
    if (linkText && href) {
      const link = document.createElement("a");
      link.href = href;
      link.textContent = linkText;
      banner.appendChild(link);
      banner.appendChild(document.createTextNode("."));
    }
    banner.hidden = false;
  }

  function hideBanner() {
    banner.hidden = true;
    banner.textContent = "";
  }

  // --- Browser notifications (opt-in: permission is asked only on a click) -----------------
  function refreshNotifyControls() {
    if (!("Notification" in window)) return;
    notifyButton.hidden = Notification.permission !== "default";
    notifyState.hidden = Notification.permission === "default";
    notifyState.textContent =
      Notification.permission === "granted" ? "Notifications on" : "Notifications blocked";
  }

  function notify(item) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    if (document.visibilityState === "visible" && document.hasFocus()) return;
    const entry = questions.get(item.questionId);
    const notification = new Notification("Question from " + (item.taskName || "a task"), {
      body: item.question,
      tag: item.questionId,
    });
    notification.addEventListener("click", function () {
      window.focus();
      const first = entry && entry.element.querySelector("button, textarea");
      if (first) first.focus();
      notification.close();
    });
    if (entry) entry.notification = notification;
  }

  notifyButton.addEventListener("click", function () {
    Notification.requestPermission().then(refreshNotifyControls);
  });

  // --- Start ---------------------------------------------------------------------------------
  refreshNotifyControls();
  setInterval(function () { if (list) cards.refreshTimes(list); }, TICK_MS);
  if (mode === "settled") {
    document.getElementById("connection").hidden = true;
    return;
  }
  if (mode === "single") {
    const data = JSON.parse(document.getElementById("question-data").textContent);
    addQuestion(data, false);
    const card = questions.get(data.questionId).element;
    const details = card.querySelector(".card__context");
    if (!details.hidden) details.open = true;
    card.classList.add("card--current");
  } else {
    refreshCount();
    emptyNote.hidden = true;
    if (window.location.hash === "#history") showTab("history", false);
  }
  feed.connect();
})();
