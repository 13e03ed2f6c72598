// Unsaved case text kept in this browser until the server has it: a session
// that expires, a closed tab or a conflict loses nothing. Text only: never
// the token. Keyed by account and case ("new" for a draft not yet created).

const PREFIX = "portal.console.draft.";

function key(userId, caseKey) {
  return `${PREFIX}${userId}.${caseKey}`;
}

export function keep(userId, caseKey, base, content) {
  try {
    localStorage.setItem(key(userId, caseKey),
      JSON.stringify({ base, content, kept_at: new Date().toISOString() }));
  } catch {
    /* storage full or off: the editor still holds the text */
  }
}

export function take(userId, caseKey) {
  try {
    const v = localStorage.getItem(key(userId, caseKey));
    return v ? JSON.parse(v) : null;
  } catch {
    return null;
  }
}

export function drop(userId, caseKey) {
  try {
    localStorage.removeItem(key(userId, caseKey));
  } catch {
    /* nothing kept */
  }
}

export function list(userId) {
  const out = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k && k.startsWith(`${PREFIX}${userId}.`)) out.push(k.slice(`${PREFIX}${userId}.`.length));
    }
  } catch {
    /* none */
  }
  return out;
}

export function dropAll(userId) {
  for (const k of list(userId)) drop(userId, k);
}
