// The questions page's feed socket (/ws/v1/mesh/questions/): connect, reconnect with backoff,
// heartbeat, and the connection pill in the top bar. Frames go to the page's onFrame.
(function () {
  "use strict";

  const BACKOFF_FIRST_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const PING_EVERY_MS = 25000;
  const PONG_WITHIN_MS = 10000;
  const CLOSE_UNAUTHORIZED = 4401;
  const STATE_ANNOUNCEMENTS = {
    live: "Connected: questions are live.",
    offline: "Connection lost; reconnecting.",
    "signed-out": "Signed out.",
  };

  // options: {path, onFrame(frame), onSignedOut(), announce(message)}
  function create(options) {
    const connection = document.getElementById("connection");
    const connectionText = document.getElementById("connection-text");
    const reconnectButton = document.getElementById("reconnect-now");
    let socket = null;
    let attempt = 0;
    let reconnectAt = 0;
    let reconnectTimer = null;
    let countdownTimer = null;
    let pingTimer = null;
    let pongTimer = null;

    function socketUrl() {
      const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
      return scheme + "//" + window.location.host + options.path;
    }

    function setState(state, text) {
      // Announce changes of state, not every tick of the reconnect countdown.
      if (state !== connection.dataset.state && STATE_ANNOUNCEMENTS[state]) {
        options.announce(STATE_ANNOUNCEMENTS[state]);
      }
      connection.dataset.state = state;
      connectionText.textContent = text;
      reconnectButton.hidden = state !== "offline";
    }

    function connect() {
      clearTimeout(reconnectTimer);
      clearInterval(countdownTimer);
      setState("connecting", attempt === 0 ? "Connecting…" : "Reconnecting…");
      let ws;
      try {
        ws = new WebSocket(socketUrl());
      } catch (error) {
        scheduleReconnect();
        return;
      }
      socket = ws;
      ws.addEventListener("message", function (event) {
        if (ws !== socket) return;
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (frame.type === "snapshot") {
          attempt = 0;
          setState("live", "Live");
          startHeartbeat();
        } else if (frame.type === "pong") {
          clearTimeout(pongTimer);
          return;
        }
        options.onFrame(frame);
      });
      ws.addEventListener("close", function (event) {
        if (ws !== socket) return;
        socket = null;
        stopHeartbeat();
        if (event.code === CLOSE_UNAUTHORIZED) {
          setState("signed-out", "Signed out");
          options.onSignedOut();
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
      setState("offline", "Offline — reconnecting in " + seconds + " s");
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

    return {
      connect: connect,
      // Send a frame; false when the socket is not open (nothing was sent).
      send: function (frame) {
        if (!socket || socket.readyState !== WebSocket.OPEN) return false;
        socket.send(JSON.stringify(frame));
        return true;
      },
    };
  }

  window.Makima = window.Makima || {};
  window.Makima.connection = { create: create };
})();
