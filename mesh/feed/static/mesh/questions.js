// The owners' live questions page (/questions/): pending questions from the feed websocket
// (/ws/v1/mesh/questions/, session auth), answered over the same socket. No build step.
//
// Multi-select answers are sent as a JSON array of the chosen options in a string, e.g.
// '["staging","production"]' (unambiguous even when an option contains a comma).
(function () {
  "use strict";

  const BASE_TITLE = "Questions — Makima mesh";
  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const PING_EVERY_MS = 25000;
  const PONG_WITHIN_MS = 10000;
  const AGE_TICK_MS = 5000;
  const CLOSE_UNAUTHORIZED = 4401;
  const GONE_CODES = new Set(["ALREADY_ANSWERED", "ALREADY_SETTLED", "NOT_FOUND"]);
  const TYPE_LABELS = {
    phase_confirmation: "Phase confirmation",
    contract_complete: "Contract complete",
  };

  const page = document.querySelector("main.page");
  const list = document.getElementById("questions");
  const template = document.getElementById("question-template");
  const emptyNote = document.getElementById("empty");
  const countBadge = document.getElementById("count");
  const moreNote = document.getElementById("more");
  const banner = document.getElementById("banner");
  const announcer = document.getElementById("announcer");
  const connection = document.getElementById("connection");
  const connectionText = document.getElementById("connection-text");
  const reconnectButton = document.getElementById("reconnect-now");
  const notifyButton = document.getElementById("notify");
  const notifyState = document.getElementById("notify-state");

  // questionId -> {data, element, notification}
  const questions = new Map();
  let socket = null;
  let attempt = 0;
  let reconnectAt = 0;
  let reconnectTimer = null;
  let countdownTimer = null;
  let pingTimer = null;
  let pongTimer = null;
  let cardSerial = 0;
  let notShown = 0;

  // --- Connection ------------------------------------------------------------------------
  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + window.location.host + page.dataset.socketPath;
  }

  const STATE_ANNOUNCEMENTS = {
    live: "Connected: questions are live.",
    offline: "Connection lost; reconnecting.",
    "signed-out": "Signed out.",
  };

  function setConnection(state, text) {
    // Announce changes of state, not every tick of the reconnect countdown.
    if (state !== connection.dataset.state && STATE_ANNOUNCEMENTS[state]) {
      announce(STATE_ANNOUNCEMENTS[state]);
    }
    connection.dataset.state = state;
    connectionText.textContent = text;
    reconnectButton.hidden = state !== "offline";
  }

  function connect() {
    clearTimeout(reconnectTimer);
    clearInterval(countdownTimer);
    setConnection("connecting", attempt === 0 ? "Connecting…" : "Reconnecting…");
    let ws;
    try {
      ws = new WebSocket(socketUrl());
    } catch (error) {
      scheduleReconnect();
      return;
    }
    socket = ws;
    ws.addEventListener("message", function (event) {
      if (ws === socket) handleFrame(event.data);
    });
    ws.addEventListener("close", function (event) {
      if (ws !== socket) return;
      socket = null;
      stopHeartbeat();
      if (event.code === CLOSE_UNAUTHORIZED) {
        signedOut();
      } else {
        scheduleReconnect();
      }
    });
  }

  function scheduleReconnect() {
    // Exponential backoff with jitter: 1 s, 2 s, 4 s … capped at 30 s.
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, attempt));
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    attempt += 1;
    reconnectAt = Date.now() + delay;
    reconnectTimer = setTimeout(connect, delay);
    updateCountdown();
    countdownTimer = setInterval(updateCountdown, 1000);
  }

  function updateCountdown() {
    const seconds = Math.max(0, Math.ceil((reconnectAt - Date.now()) / 1000));
    setConnection("offline", "Offline — reconnecting in " + seconds + " s");
  }

  function signedOut() {
    setConnection("signed-out", "Signed out");
    showBanner("Your session has ended. ", "Log in again", page.dataset.loginUrl);
  }

  function startHeartbeat() {
    stopHeartbeat();
    pingTimer = setInterval(function () {
      if (!socket || socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ type: "ping" }));
      clearTimeout(pongTimer);
      // A silent connection (laptop sleep, dead proxy) is closed so the backoff takes over.
      pongTimer = setTimeout(function () {
        if (socket) socket.close();
      }, PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  function stopHeartbeat() {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
  }

  // --- Frames ------------------------------------------------------------------------------
  function handleFrame(text) {
    let frame;
    try {
      frame = JSON.parse(text);
    } catch (error) {
      return;
    }
    switch (frame.type) {
      case "snapshot":
        attempt = 0;
        setConnection("live", "Live");
        hideBanner();
        startHeartbeat();
        applySnapshot(frame.questions || [], frame.total);
        break;
      case "question.asked":
        if (!questions.has(frame.question.questionId)) {
          addQuestion(frame.question, true);
          announce("New question from " + (frame.question.taskName || "a task") + ".");
          notify(frame.question);
        }
        break;
      case "question.answered":
        removeQuestion(frame.questionId, "A question was answered.");
        break;
      case "question.expired":
        removeQuestion(frame.questionId, "A question expired.");
        break;
      case "question.declined":
        removeQuestion(frame.questionId, "A question was declined.");
        break;
      case "question.cancelled":
        removeQuestion(frame.questionId, "A question was withdrawn by its task.");
        break;
      case "answer.accepted":
        removeQuestion(frame.questionId, "Answer sent.");
        break;
      case "error":
        handleError(frame);
        break;
      case "pong":
        clearTimeout(pongTimer);
        break;
      default:
        break;
    }
  }

  function applySnapshot(items, total) {
    // The snapshot holds the oldest questions that fit; the rest come with a later snapshot.
    notShown = Math.max(0, (typeof total === "number" ? total : items.length) - items.length);
    const fresh = new Set(items.map(function (item) { return item.questionId; }));
    Array.from(questions.keys()).forEach(function (id) {
      if (!fresh.has(id)) removeQuestion(id, null);
    });
    items.forEach(function (item) {
      const known = questions.get(item.questionId);
      if (known) {
        setBusy(known.element, false);
      } else {
        addQuestion(item, false);
      }
    });
    refreshCount();
  }

  function handleError(frame) {
    const entry = frame.questionId ? questions.get(frame.questionId) : null;
    if (!entry) {
      showBanner(frame.message || "The server reported an error.");
      return;
    }
    if (GONE_CODES.has(frame.code)) {
      removeQuestion(frame.questionId, frame.message);
      return;
    }
    setBusy(entry.element, false);
    showCardError(entry.element, frame.message);
  }

  // --- Cards -------------------------------------------------------------------------------
  function addQuestion(item, isNew) {
    const element = buildCard(item);
    if (isNew) element.classList.add("card--new");
    // Oldest first: the task that has waited longest is at the top.
    const before = Array.from(list.children).find(function (child) {
      const other = questions.get(child.dataset.questionId);
      return other && Date.parse(other.data.createdAt) > Date.parse(item.createdAt);
    });
    list.insertBefore(element, before || null);
    questions.set(item.questionId, { data: item, element: element, notification: null });
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

  function buildCard(item) {
    cardSerial += 1;
    const serial = cardSerial;
    const element = template.content.firstElementChild.cloneNode(true);
    element.dataset.questionId = item.questionId;
    const field = function (name) { return element.querySelector('[data-field="' + name + '"]'); };

    const article = element.querySelector("article");
    const heading = field("question");
    heading.id = "question-" + serial;
    heading.textContent = item.question;
    article.setAttribute("aria-labelledby", heading.id);

    field("taskName").textContent = item.taskName || item.taskId;
    const directive = element.querySelector(".card__directive");
    if (item.directiveTitle || item.directiveId) {
      field("directiveTitle").textContent = item.directiveTitle || item.directiveId;
    } else {
      directive.remove();
    }
    const badge = field("questionType");
    if (TYPE_LABELS[item.questionType]) {
      badge.textContent = TYPE_LABELS[item.questionType];
      badge.hidden = false;
    }
    const age = field("age");
    age.dateTime = item.createdAt;
    age.title = new Date(item.createdAt).toLocaleString();
    age.textContent = ageText(item.createdAt);

    if (item.context) {
      const details = element.querySelector(".card__context");
      field("context").textContent = item.context;
      details.hidden = false;
    }

    const choices = Array.isArray(item.choices) ? item.choices : [];
    if (choices.length && item.multiSelect) {
      buildMultiSelect(element, item, choices, serial);
    } else if (choices.length) {
      const group = element.querySelector(".card__choices");
      group.setAttribute("aria-label", "Answer with one of the choices");
      choices.forEach(function (choice) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button button--choice";
        button.textContent = choice;
        button.addEventListener("click", function () { sendAnswer(item.questionId, choice); });
        group.appendChild(button);
      });
      group.hidden = false;
    }

    const form = element.querySelector(".card__free");
    const textarea = form.querySelector("textarea");
    const label = form.querySelector("label");
    textarea.id = "answer-" + serial;
    label.htmlFor = textarea.id;
    label.textContent = choices.length ? "Or answer in your own words" : "Your answer";
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      const text = textarea.value.trim();
      if (!text) {
        showCardError(element, "Write an answer first.");
        textarea.focus();
        return;
      }
      sendAnswer(item.questionId, text);
    });
    return element;
  }

  function buildMultiSelect(element, item, choices, serial) {
    const fieldset = element.querySelector(".card__multi");
    const options = fieldset.querySelector(".card__options");
    choices.forEach(function (choice, index) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = choice;
      box.id = "choice-" + serial + "-" + index;
      label.htmlFor = box.id;
      label.appendChild(box);
      label.appendChild(document.createTextNode(choice));
      options.appendChild(label);
    });
    fieldset.querySelector('[data-action="send-selected"]').addEventListener("click", function () {
      const chosen = Array.from(options.querySelectorAll("input:checked")).map(function (box) {
        return box.value;
      });
      if (!chosen.length) {
        showCardError(element, "Choose at least one option, or answer in your own words.");
        return;
      }
      sendAnswer(item.questionId, JSON.stringify(chosen));
    });
    fieldset.hidden = false;
  }

  function sendAnswer(id, response) {
    const entry = questions.get(id);
    if (!entry) return;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      showCardError(entry.element, "Not connected, so the answer was not sent. Try again once the page shows Live.");
      return;
    }
    hideCardError(entry.element);
    setBusy(entry.element, true);
    socket.send(JSON.stringify({ type: "answer", questionId: id, response: response }));
  }

  function setBusy(element, busy) {
    element.setAttribute("aria-busy", busy ? "true" : "false");
    element.querySelectorAll("button, textarea, input").forEach(function (control) {
      control.disabled = busy;
    });
  }

  function showCardError(element, message) {
    const note = element.querySelector(".card__error");
    note.textContent = message;
    note.hidden = false;
  }

  function hideCardError(element) {
    element.querySelector(".card__error").hidden = true;
  }

  // --- Page chrome ---------------------------------------------------------------------------
  function refreshCount() {
    const count = questions.size + notShown;
    moreNote.hidden = notShown === 0;
    moreNote.textContent = notShown
      ? notShown + " more pending question(s) are not shown yet; reload to see them."
      : "";
    countBadge.textContent = String(count);
    document.title = count ? "(" + count + ") " + BASE_TITLE : BASE_TITLE;
    emptyNote.hidden = count !== 0;
  }

  function ageText(iso) {
    const seconds = Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000));
    if (seconds < 10) return "just now";
    if (seconds < 60) return seconds + " s ago";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min ago";
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + (minutes % 60) + " min ago";
    return Math.floor(hours / 24) + " days ago";
  }

  function refreshAges() {
    list.querySelectorAll("time.card__age").forEach(function (time) {
      time.textContent = ageText(time.dateTime);
    });
  }

  function announce(message) {
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = message; }, 50);
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

  reconnectButton.addEventListener("click", function () {
    attempt = 0;
    connect();
  });

  window.addEventListener("online", function () {
    if (!socket) {
      attempt = 0;
      connect();
    }
  });

  refreshNotifyControls();
  refreshCount();
  emptyNote.hidden = true;
  setInterval(refreshAges, AGE_TICK_MS);
  connect();
})();
