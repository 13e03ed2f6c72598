/* The public pages work without this script: it only adds the vote and
 * live counts. It talks to /api/public with the voter cookie (HttpOnly: no
 * script can read it) and keeps each vote's choice, receipt and the counts it
 * answered with on this device, so a reader sees their vote again, counted,
 * after a reload. */
(function () {
  "use strict";
  var POLL_MS = 10000;
  var voterReady = null;

  function getVoter() {
    if (!voterReady) {
      voterReady = fetch("/api/public/voter", { method: "POST", credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) throw new Error("voter " + r.status);
        })
        .catch(function (e) { voterReady = null; throw e; });
    }
    return voterReady;
  }

  function remembered(caseId) {
    try {
      return JSON.parse(localStorage.getItem("portal.vote." + caseId) || "null");
    } catch (e) {
      return null;
    }
  }

  function remember(caseId, vote) {
    try {
      localStorage.setItem("portal.vote." + caseId, JSON.stringify(vote));
    } catch (e) { /* private mode: the vote still counted */ }
  }

  /* Counts only grow, so a smaller number is an older answer (the page or a
   * poll from nginx's brief cache, taken before this reader's vote): it never
   * replaces a larger one already shown. */
  function showCounts(ballot, votes) {
    var counts = ballot.querySelectorAll(".count");
    var total = 0;
    counts.forEach(function (el) {
      var n = votes[el.getAttribute("data-choice")];
      if (typeof n === "number" && n > (Number(el.textContent) || 0)) el.textContent = String(n);
      total += Number(el.textContent) || 0;
    });
    ballot.querySelectorAll("meter").forEach(function (m, i) {
      m.max = Math.max(total, 1);
      m.value = Number(counts[i].textContent) || 0;
    });
    var t = ballot.querySelector(".total-count");
    if (t) t.textContent = String(total);
  }

  function showMine(ballot, vote) {
    ballot.querySelectorAll(".choice").forEach(function (b) {
      var mine = vote && b.getAttribute("data-choice") === vote.choice;
      b.setAttribute("aria-pressed", mine ? "true" : "false");
      if (vote) b.disabled = true;
    });
    if (vote) {
      var status = ballot.querySelector(".vote-status");
      status.textContent = "";
      status.appendChild(document.createTextNode("您已投票:" + vote.choice + "。回执 "));
      var code = document.createElement("span");
      code.className = "receipt";
      code.textContent = vote.receipt || "";
      status.appendChild(code);
    }
  }

  function say(ballot, text) {
    ballot.querySelector(".vote-status").textContent = text;
  }

  function vote(ballot, choice) {
    var caseId = ballot.getAttribute("data-case");
    var buttons = ballot.querySelectorAll(".choice");
    buttons.forEach(function (b) { b.disabled = true; });
    say(ballot, "正在投票…");
    getVoter()
      .then(function () {
        return fetch("/api/public/cases/" + caseId + "/votes", {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ choice: choice })
        });
      })
      .then(function (r) {
        return r.json().then(function (body) { return { status: r.status, body: body }; });
      })
      .then(function (res) {
        if (res.status === 200 || res.status === 201) {
          var mine = { choice: res.body.choice, receipt: res.body.receipt, votes: res.body.votes };
          remember(caseId, mine);
          showCounts(ballot, res.body.votes);
          showMine(ballot, mine);
          return;
        }
        if (res.status === 409) {
          /* closed (by hand or at the deadline): the buttons stay off */
          ballot.setAttribute("data-voting", "0");
          say(ballot, "投票已截止。");
          return;
        }
        /* a refused voter cookie: the next try asks for a new one */
        if (res.status === 401 || res.status === 403) voterReady = null;
        buttons.forEach(function (b) { b.disabled = false; });
        /* readers get the problem's Chinese title, never its English detail */
        say(ballot, ((res.body && res.body.title_zh) || "投票没有成功") + ",请稍后再试。");
      })
      .catch(function () {
        buttons.forEach(function (b) { b.disabled = false; });
        say(ballot, "网络不畅,投票没有成功,请稍后再试。");
      });
  }

  function refresh(ballot) {
    var caseId = ballot.getAttribute("data-case");
    fetch("/api/public/cases/" + caseId, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (c) {
        if (!c) return;
        showCounts(ballot, c.votes);
        if (!c.edition.voting && ballot.getAttribute("data-voting") === "1") {
          ballot.setAttribute("data-voting", "0");
          ballot.querySelectorAll(".choice").forEach(function (b) { b.disabled = true; });
          say(ballot, "投票已截止。");
        }
      })
      .catch(function () { /* the next poll tries again */ });
  }

  function setUp(ballot) {
    var caseId = ballot.getAttribute("data-case");
    var mine = remembered(caseId);
    /* the counts this reader's vote answered with: a page from the cache may
     * be older than the vote, and the reader must not see it uncounted */
    if (mine && mine.votes && typeof mine.votes === "object") showCounts(ballot, mine.votes);
    if (ballot.getAttribute("data-voting") !== "1") {
      if (mine) showMine(ballot, mine);
      return;
    }
    ballot.querySelectorAll(".choice").forEach(function (b) {
      b.disabled = false;
      b.setAttribute("aria-pressed", "false");
      b.addEventListener("click", function () { vote(ballot, b.getAttribute("data-choice")); });
    });
    if (mine) showMine(ballot, mine);
    setInterval(function () {
      if (!document.hidden) refresh(ballot);
    }, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".ballot[data-case]").forEach(setUp);
  });
})();

/* The receipt search on a closed edition's page: looks the receipt up in
 * the published ballot list (the same file anyone can check with
 * sha256sum), and offers the receipts kept on this device. */
(function () {
  "use strict";
  function kept() {
    var mine = [];
    try {
      for (var i = 0; i < localStorage.length; i++) {
        var k = localStorage.key(i);
        if (k && k.indexOf("portal.vote.") === 0) {
          var v = JSON.parse(localStorage.getItem(k) || "null");
          if (v && v.receipt) mine.push(v.receipt);
        }
      }
    } catch (e) { /* nothing kept */ }
    return mine;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("form.receipt-search");
    if (!form) return;
    var input = form.querySelector("input");
    var result = form.querySelector(".receipt-result");
    var mine = kept();
    if (mine.length && !input.value) input.value = mine[0];
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var receipt = input.value.trim().toLowerCase();
      if (!/^[0-9a-f]{32}$/.test(receipt)) {
        result.textContent = "回执码是 32 位的数字和字母 a–f。";
        return;
      }
      result.textContent = "正在查找…";
      fetch(form.getAttribute("data-ballots"), { credentials: "same-origin" })
        .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.text(); })
        .then(function (csv) {
          var line = csv.split("\n").filter(function (l) {
            return l.slice(-33) === "," + receipt;
          })[0];
          if (!line) {
            result.textContent = "清单中没有这个回执码。";
            return;
          }
          var fields = line.split(",");
          result.textContent = "已计入:案例 " + fields[0] + ",选择“" +
            fields.slice(1, -1).join(",").replace(/^"|"$/g, "").replace(/""/g, "\"") + "”。";
        })
        .catch(function () { result.textContent = "清单暂时无法下载,请稍后再试。"; });
    });
  });
})();
