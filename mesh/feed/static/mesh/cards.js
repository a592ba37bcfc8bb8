// The questions page's cards (mesh/feed/templates/mesh/_card.html): building a pending
// question's card, its live age and countdown, its context (sanitised HTML the server renders
// at /questions/<id>/context/), the decline form and the outcome shown after a settlement.
// Text from tasks is only ever set with textContent; the context is the server's HTML.
(function () {
  "use strict";

  const TYPE_LABELS = {
    phase_confirmation: "Phase confirmation",
    contract_complete: "Contract complete",
  };
  const HOUR_MS = 3600 * 1000;
  let serial = 0;

  function field(element, name) {
    return element.querySelector('[data-field="' + name + '"]');
  }

  function duration(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    if (seconds < 60) return seconds + " s";
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min";
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return hours + " h " + (minutes % 60) + " min";
    return Math.floor(hours / 24) + " days";
  }

  function ageText(iso, now) {
    return "waiting " + duration(((now || Date.now()) - Date.parse(iso)) / 1000);
  }

  // "expires in 12:34" within the hour before expiresAt, else null.
  function countdownText(iso, now) {
    if (!iso) return null;
    const left = Date.parse(iso) - (now || Date.now());
    if (!(left < HOUR_MS)) return null;
    if (left <= 0) return "expiring now";
    const seconds = Math.ceil(left / 1000);
    const mm = Math.floor(seconds / 60);
    const ss = String(seconds % 60).padStart(2, "0");
    return "expires in " + mm + ":" + ss;
  }

  function refreshTimes(root) {
    const now = Date.now();
    root.querySelectorAll("li.card[data-question-id]").forEach(function (card) {
      if (card.classList.contains("card--settled")) return; // its wait has ended
      const age = field(card, "age");
      if (age && age.dateTime) age.textContent = ageText(age.dateTime, now);
      const countdown = field(card, "countdown");
      if (countdown && countdown.dataset.expiresAt) {
        const text = countdownText(countdown.dataset.expiresAt, now);
        countdown.hidden = text === null;
        countdown.textContent = text || "";
      }
    });
  }

  // A multi-select answer is a JSON array in a string; show its options joined.
  function responseText(response) {
    if (typeof response !== "string") return "";
    if (response.charAt(0) === "[") {
      try {
        const chosen = JSON.parse(response);
        if (Array.isArray(chosen)) return chosen.join(", ");
      } catch (error) {
        // not JSON: shown as written
      }
    }
    return response;
  }

  function loadContext(element, id) {
    const body = field(element, "context");
    if (body.dataset.loaded) return;
    body.dataset.loaded = "loading";
    body.textContent = "Loading…";
    fetch("/questions/" + encodeURIComponent(id) + "/context/", {
      credentials: "same-origin",
      headers: { Accept: "text/html" },
    })
      .then(function (reply) {
        if (!reply.ok) throw new Error("HTTP " + reply.status);
        return reply.text();
      })
      .then(function (html) {
        // The server's markdown-it output with raw HTML off: escaped text and safe links.
        body.innerHTML = html;
        body.dataset.loaded = "yes";
      })
      .catch(function () {
        body.textContent = "The context could not be loaded; close and open it to try again.";
        delete body.dataset.loaded;
      });
  }

  // handlers: {answer(id, text, element), decline(id, reason, element)}
  function build(item, template, handlers) {
    serial += 1;
    const n = serial;
    const element = template.content.firstElementChild.cloneNode(true);
    element.dataset.questionId = item.questionId;
    const article = element.querySelector("article");
    const heading = field(element, "question");
    heading.id = "question-" + n;
    heading.textContent = item.question;
    article.setAttribute("aria-labelledby", heading.id);

    field(element, "taskName").textContent = item.taskName || item.taskId;
    if (item.directiveTitle || item.directiveId) {
      field(element, "directiveTitle").textContent = item.directiveTitle || item.directiveId;
    } else {
      element.querySelector(".card__directive").remove();
    }
    const badge = field(element, "questionType");
    if (TYPE_LABELS[item.questionType]) {
      badge.textContent = TYPE_LABELS[item.questionType];
      badge.hidden = false;
    }
    const age = field(element, "age");
    age.dateTime = item.createdAt;
    age.title = "Asked " + new Date(item.createdAt).toLocaleString();
    const countdown = field(element, "countdown");
    if (item.expiresAt) countdown.dataset.expiresAt = item.expiresAt;
    const link = field(element, "link");
    link.href = "/questions/" + encodeURIComponent(item.questionId) + "/";
    link.setAttribute("aria-label", "Link to this question");
    refreshTimes({ querySelectorAll: function () { return [element]; } });

    if (item.context) {
      const details = element.querySelector(".card__context");
      details.hidden = false;
      details.addEventListener("toggle", function () {
        if (details.open) loadContext(element, item.questionId);
      });
    }

    const choices = Array.isArray(item.choices) ? item.choices : [];
    if (choices.length && item.multiSelect) {
      buildMultiSelect(element, item, choices, n, handlers);
    } else if (choices.length) {
      const group = element.querySelector(".card__choices");
      group.setAttribute("aria-label", "Answer with one of the choices");
      choices.forEach(function (choice) {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button button--choice";
        button.dir = "auto";
        button.textContent = choice;
        button.addEventListener("click", function () {
          handlers.answer(item.questionId, choice, element);
        });
        group.appendChild(button);
      });
      group.hidden = false;
    }
    buildFreeText(element, item, choices, n, handlers);
    buildDecline(element, item, n, handlers);
    return element;
  }

  function buildFreeText(element, item, choices, n, handlers) {
    const form = element.querySelector(".card__free");
    const textarea = form.querySelector("textarea");
    const label = form.querySelector("label");
    textarea.id = "answer-" + n;
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
        showError(element, "Write an answer first.");
        textarea.focus();
        return;
      }
      handlers.answer(item.questionId, text, element);
    });
  }

  function buildDecline(element, item, n, handlers) {
    const form = element.querySelector(".card__decline");
    const open = element.querySelector('[data-action="decline"]');
    const textarea = form.querySelector("textarea");
    textarea.id = "decline-" + n;
    form.querySelector("label").htmlFor = textarea.id;
    open.addEventListener("click", function () { openDecline(element); });
    form.querySelector('[data-action="decline-cancel"]').addEventListener("click", function () {
      closeDecline(element);
    });
    textarea.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        event.preventDefault();
        closeDecline(element);
      } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      handlers.decline(item.questionId, textarea.value.trim() || null, element);
    });
  }

  function openDecline(element) {
    const form = element.querySelector(".card__decline");
    if (!form || element.classList.contains("card--settled")) return;
    form.hidden = false;
    element.querySelector('[data-action="decline"]').setAttribute("aria-expanded", "true");
    form.querySelector("textarea").focus();
  }

  function closeDecline(element) {
    element.querySelector(".card__decline").hidden = true;
    const open = element.querySelector('[data-action="decline"]');
    open.setAttribute("aria-expanded", "false");
    open.focus();
  }

  function buildMultiSelect(element, item, choices, n, handlers) {
    const fieldset = element.querySelector(".card__multi");
    const options = fieldset.querySelector(".card__options");
    choices.forEach(function (choice, index) {
      const label = document.createElement("label");
      const box = document.createElement("input");
      const text = document.createElement("span");
      box.type = "checkbox";
      box.value = choice;
      box.id = "choice-" + n + "-" + index;
      label.htmlFor = box.id;
      text.dir = "auto";
      text.textContent = choice;
      label.appendChild(box);
      label.appendChild(text);
      options.appendChild(label);
    });
    fieldset.querySelector('[data-action="send-selected"]').addEventListener("click", function () {
      const chosen = Array.from(options.querySelectorAll("input:checked")).map(function (box) {
        return box.value;
      });
      if (!chosen.length) {
        showError(element, "Choose at least one option, or answer in your own words.");
        return;
      }
      handlers.answer(item.questionId, JSON.stringify(chosen), element);
    });
    fieldset.hidden = false;
  }

  // Pick choice `index` (0-based) of a card: a single-choice answer is sent at once, a
  // multi-select option is toggled. Returns whether there was such a choice.
  function pickChoice(element, index) {
    const boxes = element.querySelectorAll(".card__multi:not([hidden]) input[type=checkbox]");
    if (boxes.length) {
      if (index >= boxes.length || boxes[index].disabled) return false;
      boxes[index].checked = !boxes[index].checked;
      boxes[index].focus();
      return true;
    }
    const buttons = element.querySelectorAll(".card__choices:not([hidden]) .button--choice");
    if (index >= buttons.length || buttons[index].disabled) return false;
    buttons[index].click();
    return true;
  }

  function setBusy(element, busy) {
    element.setAttribute("aria-busy", busy ? "true" : "false");
    element.querySelectorAll(".card__answer button, .card__answer textarea, .card__answer input")
      .forEach(function (control) { control.disabled = busy; });
  }

  function showError(element, message) {
    const note = element.querySelector(".card__error");
    note.textContent = message;
    note.hidden = false;
  }

  function hideError(element) {
    element.querySelector(".card__error").hidden = true;
  }

  // The settled card: "Answered: yes — the task has it", in place of the answer controls.
  function showOutcome(element, outcome) {
    const note = element.querySelector(".card__outcome");
    const label = document.createElement("strong");
    const value = document.createElement("bdi");
    note.textContent = "";
    label.textContent = outcome.label;
    note.appendChild(label);
    if (outcome.value) {
      value.textContent = outcome.value;
      note.appendChild(document.createTextNode(" "));
      note.appendChild(value);
    }
    if (outcome.tail) note.appendChild(document.createTextNode(" — " + outcome.tail));
    note.dataset.status = outcome.status;
    note.hidden = false;
    element.classList.add("card--settled");
    field(element, "countdown").hidden = true;
    element.setAttribute("aria-busy", "false");
    element.querySelector(".card__answer").hidden = true;
    hideError(element);
  }

  // What a settlement says on a card; `mine` when this page sent it.
  function describe(status, response, reason, mine) {
    const by = mine ? "" : " elsewhere";
    if (status === "answered") {
      return { status: status, label: "Answered" + by + ":", value: responseText(response),
        tail: "the task has it" };
    }
    if (status === "declined") {
      return { status: status, label: "Declined" + by + (reason ? ":" : ""), value: reason || "",
        tail: "the task has been told" };
    }
    if (status === "cancelled") {
      return { status: status, label: "Withdrawn by the task" + (reason ? ":" : ""),
        value: reason || "", tail: "" };
    }
    return { status: status, label: "Expired" + (reason ? ":" : ""), value: reason || "",
      tail: "no answer reached the task" };
  }

  window.Makima = window.Makima || {};
  window.Makima.cards = {
    build: build,
    describe: describe,
    duration: duration,
    field: field,
    hideError: hideError,
    openDecline: openDecline,
    pickChoice: pickChoice,
    refreshTimes: refreshTimes,
    responseText: responseText,
    setBusy: setBusy,
    showError: showError,
    showOutcome: showOutcome,
  };
})();
