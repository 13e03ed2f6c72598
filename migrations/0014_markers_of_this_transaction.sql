-- Two fixes from an outside review of 0012 and 0013.
--
-- The transaction-local settings by which a function tells a trigger "done
-- in this transaction" (portal.public_outdated: the generation has moved;
-- portal.vote_checked: vote_cast has checked this case under its lock) were
-- plain values, which a session could also set for itself, at session
-- level, and so talk the trigger out of its work in every later
-- transaction. Each now names its transaction too, and a value left from
-- another transaction means nothing.
--
-- A ready-made answer's ETag and content type go into response headers as
-- they are stored: the table now takes only what the pool makes.

ALTER TABLE public_documents
    ADD CONSTRAINT public_documents_etag_hex CHECK (etag ~ '^[0-9a-f]{24}$'),
    ADD CONSTRAINT public_documents_content_type_known
        CHECK (content_type IN ('application/json', 'text/html; charset=utf-8'));

CREATE OR REPLACE FUNCTION public_documents_outdate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    this_tx text := txid_current()::text;
BEGIN
    IF current_setting('portal.public_outdated', true) = this_tx THEN
        RETURN NULL;
    END IF;
    UPDATE public_generation SET generation = generation + 1;
    PERFORM set_config('portal.public_outdated', this_tx, true);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION votes_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    the_edition bigint;
    allowed text[];
BEGIN
    IF current_setting('portal.vote_checked', true) =
            NEW.case_id::text || ' ' || txid_current()::text THEN
        NEW.at := clock_timestamp();
        RETURN NEW;
    END IF;
    SELECT c.edition_id INTO the_edition FROM cases c WHERE c.id = NEW.case_id;
    IF the_edition IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock_shared(edition_vote_lock_key(the_edition));
    END IF;
    -- a statement of its own: it sees a close that committed while we waited
    SELECT e.choices INTO allowed
      FROM cases c JOIN editions e ON e.id = c.edition_id
     WHERE c.id = NEW.case_id AND c.state = 'voting' AND e.state = 'voting'
       AND clock_timestamp() < e.closes_at;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'voting on this case is closed' USING ERRCODE = 'check_violation';
    END IF;
    IF NOT NEW.choice = ANY (allowed) THEN
        RAISE EXCEPTION 'not a choice of this edition' USING ERRCODE = 'check_violation';
    END IF;
    NEW.at := clock_timestamp();
    RETURN NEW;
END $$;

-- As in 0013, with the marker naming the transaction.
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
      FROM cases c WHERE c.id = p_case AND c.state IN ('published', 'voting', 'closed');
    IF the_edition IS NULL THEN
        outcome := 'not_found';
        RETURN NEXT;
        RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock_shared(edition_vote_lock_key(the_edition));
    SELECT c.state = 'voting' AND e.state = 'voting' AND clock_timestamp() < e.closes_at,
           e.choices
      INTO open_now, e_choices
      FROM cases c JOIN editions e ON e.id = c.edition_id
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
    PERFORM set_config('portal.vote_checked', p_case::text || ' ' || txid_current()::text, true);
    INSERT INTO votes AS v (case_id, choice, voter, receipt)
    VALUES (p_case, p_choice, p_voter, p_receipt)
    ON CONFLICT (case_id, voter) DO NOTHING
    RETURNING v.id INTO counted;
    PERFORM set_config('portal.vote_checked', '', true);
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
        -- last: the row of this case and address is locked from here to
        -- COMMIT, and one office's votes queue on it
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
