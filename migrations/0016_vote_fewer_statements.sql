-- vote_cast in fewer statements, each of which PostgreSQL sets up and
-- tears down on every vote: the edition's lookup takes its lock in the same
-- statement, and the check under the lock sets the guard's marker in the
-- same statement (set for a vote that is then refused as closed or with an
-- unknown choice, it names a case and transaction that insert nothing, so
-- it lets nothing past the guard). The marker is no longer cleared after
-- the insert: it names this transaction, which inserts no other vote.
-- What vote_cast answers is unchanged.

CREATE OR REPLACE FUNCTION vote_cast(p_case bigint, p_voter text, p_choice text, p_receipt text,
                                     p_address text, p_address_cap integer)
    RETURNS TABLE (outcome text, choice text, receipt text, votes json)
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    the_edition bigint;
    open_now boolean;
    e_choices text[];
    counted bigint;
    from_address integer;
BEGIN
    SELECT c.edition_id INTO the_edition
      FROM cases c, pg_advisory_xact_lock_shared(edition_vote_lock_key(c.edition_id))
     WHERE c.id = p_case AND c.state IN ('published', 'voting', 'closed');
    IF the_edition IS NULL THEN
        outcome := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    SELECT c.state = 'voting' AND e.state = 'voting' AND clock_timestamp() < e.closes_at,
           e.choices
      INTO open_now, e_choices
      FROM cases c JOIN editions e ON e.id = c.edition_id,
           set_config('portal.vote_checked', p_case::text || ' ' || txid_current()::text, true)
     WHERE c.id = p_case;
    IF open_now IS NOT TRUE THEN
        outcome := 'closed';
        RETURN NEXT;
        RETURN;
    END IF;
    IF NOT p_choice = ANY (e_choices) THEN
        outcome := 'bad_choice';
        votes := to_json(e_choices);
        RETURN NEXT;
        RETURN;
    END IF;
    INSERT INTO votes AS v (case_id, choice, voter, receipt)
    VALUES (p_case, p_choice, p_voter, p_receipt)
    ON CONFLICT (case_id, voter) DO NOTHING
    RETURNING v.id INTO counted;
    IF counted IS NULL THEN
        outcome := 'repeat';
        SELECT v.choice, v.receipt INTO choice, receipt
          FROM votes v WHERE v.case_id = p_case AND v.voter = p_voter;
        votes := vote_tally(p_case, e_choices);
    ELSE
        outcome := 'counted';
        choice := p_choice;
        receipt := p_receipt;
        votes := vote_tally(p_case, e_choices);
        INSERT INTO vote_addresses AS a (case_id, address, n) VALUES (p_case, p_address, 1)
        ON CONFLICT (case_id, address) DO UPDATE SET n = a.n + 1 WHERE a.n < p_address_cap
        RETURNING a.n INTO from_address;
        IF from_address IS NULL THEN
            RAISE EXCEPTION 'too many votes on this case from one address'
                USING ERRCODE = 'PV429';
        END IF;
    END IF;
    RETURN NEXT;
END $$;
