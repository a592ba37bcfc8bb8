// The questions page's keyboard: j/k move between cards, 1–9 pick a choice on the current
// card, d declines it, / searches the history, ? lists the keys. Keys typed into a field, or
// with Ctrl/Alt/Meta held, are left alone.
(function () {
  "use strict";

  function typing(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable]"));
  }

  // page: {cards(): the visible cards in order, onPick(card, index), onDecline(card),
  //        onSearch(), dialog: the <dialog> that lists the keys}
  function install(page) {
    let current = null;

    function currentCard() {
      const cards = page.cards();
      const focused = document.activeElement && document.activeElement.closest
        ? document.activeElement.closest("li.card")
        : null;
      if (focused && cards.indexOf(focused) >= 0) return focused;
      if (current && cards.indexOf(current) >= 0) return current;
      return cards.length === 1 ? cards[0] : null;
    }

    function select(card) {
      if (current) current.classList.remove("card--current");
      current = card;
      if (!card) return;
      card.classList.add("card--current");
      card.focus({ preventScroll: true });
      card.scrollIntoView({ block: "nearest" });
    }

    function move(step) {
      const cards = page.cards();
      if (!cards.length) return;
      const at = cards.indexOf(currentCard());
      const to = at < 0 ? (step > 0 ? 0 : cards.length - 1)
        : Math.min(cards.length - 1, Math.max(0, at + step));
      select(cards[to]);
    }

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      if (typing(event.target) || (page.dialog && page.dialog.open)) return;
      const key = event.key;
      if (key === "j" || key === "k") {
        move(key === "j" ? 1 : -1);
      } else if (key >= "1" && key <= "9" && key.length === 1) {
        const card = currentCard();
        if (!card || !page.onPick(card, Number(key) - 1)) return;
      } else if (key === "d") {
        const card = currentCard();
        if (!card) return;
        page.onDecline(card);
      } else if (key === "/") {
        page.onSearch();
      } else if (key === "?") {
        if (page.dialog && !page.dialog.open) page.dialog.showModal();
      } else {
        return;
      }
      event.preventDefault();
    });

    return { select: select, current: currentCard };
  }

  window.Makima = window.Makima || {};
  window.Makima.keys = { install: install };
})();
