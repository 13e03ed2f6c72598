-- The state machine as the database holds it, for clients that draw it.
SELECT json_build_object(
    'states', (SELECT json_agg(state ORDER BY position) FROM case_states),
    'actions', (SELECT json_agg(json_build_object('action', action, 'from', from_state,
                                                  'to', to_state, 'role', role, 'scope', scope,
                                                  'needs_note', needs_note,
                                                  'needs_edition', needs_edition)
                                ORDER BY action, from_state, role) FROM case_actions)) AS doc
