-- Ready-made public answers. Every public read (an edition's JSON or page,
-- a case, the index, the results) used to build its document from the
-- cases, photos, counts and corrections on each request that got past
-- nginx's cache. Now the pool keeps what it answered here, keyed by the
-- route and its parameters, and the next reader's request is one
-- primary-key row.
--
-- A stored answer is good while public_generation has not moved since the
-- snapshot it was built from: any committed change to what the public
-- reads moves it (the triggers below, in the same transaction as the
-- change, so no reader can build from a snapshot without the change and
-- store it as current). Counts are the exception: a vote does not move the
-- generation (every vote would queue on its row), so an answer built while
-- any edition takes votes is also good only until fresh_until, a second
-- after its snapshot.

CREATE TABLE public_generation (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    generation bigint NOT NULL
);
INSERT INTO public_generation VALUES (true, 1);

CREATE TABLE public_documents (
    key          text PRIMARY KEY CHECK (length(key) <= 200),
    content_type text NOT NULL,
    body         text NOT NULL,
    etag         text NOT NULL,
    generation   bigint NOT NULL,
    built_at     timestamptz NOT NULL, -- its snapshot's time
    fresh_until  timestamptz           -- NULL: until the generation moves
);

-- The pool reads and keeps them as the public, whose answers they are;
-- it never deletes one (an outdated row is only replaced).
GRANT SELECT ON public_generation TO portal_app;
GRANT SELECT, INSERT, UPDATE ON public_documents TO portal_app;

-- Moves the generation once per transaction, at its end (a deferred
-- trigger): the row's lock is the last one a writer takes and is held
-- only while it commits, so two writers cannot wait on each other for it.
CREATE FUNCTION public_documents_outdate() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF current_setting('portal.public_outdated', true) = 'yes' THEN
        RETURN NULL;
    END IF;
    UPDATE public_generation SET generation = generation + 1;
    PERFORM set_config('portal.public_outdated', 'yes', true);
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION public_documents_outdate() FROM PUBLIC;

-- Every table a public answer is made from, but votes and their counts
-- (see fresh_until above). A draft's changes leave them alone where a row
-- says so (cases, events); a photo's row does not name its case's state,
-- so any photo change moves the generation.
CREATE CONSTRAINT TRIGGER districts_outdate_public AFTER INSERT OR UPDATE OR DELETE ON districts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER streets_outdate_public AFTER INSERT OR UPDATE OR DELETE ON streets
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER communities_outdate_public
    AFTER INSERT OR UPDATE OR DELETE ON communities
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER editions_outdate_public AFTER INSERT OR UPDATE OR DELETE ON editions
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER edition_tallies_outdate_public
    AFTER INSERT OR UPDATE OR DELETE ON edition_tallies
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER case_photos_outdate_public
    AFTER INSERT OR UPDATE OR DELETE ON case_photos
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER cases_insert_outdate_public AFTER INSERT ON cases
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.state IN ('published', 'voting', 'closed'))
    EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER cases_update_outdate_public AFTER UPDATE ON cases
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.state IN ('published', 'voting', 'closed')
          OR NEW.state IN ('published', 'voting', 'closed'))
    EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER cases_delete_outdate_public AFTER DELETE ON cases
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.state IN ('published', 'voting', 'closed'))
    EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER case_events_insert_outdate_public AFTER INSERT ON case_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.action = 'correct')
    EXECUTE FUNCTION public_documents_outdate();
CREATE CONSTRAINT TRIGGER case_events_change_outdate_public
    AFTER UPDATE OR DELETE ON case_events
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public_documents_outdate();

-- TRUNCATE fires no row trigger: a statement one does the same.
CREATE FUNCTION public_documents_outdate_now() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    UPDATE public_generation SET generation = generation + 1;
    RETURN NULL;
END $$;
REVOKE ALL ON FUNCTION public_documents_outdate_now() FROM PUBLIC;
CREATE TRIGGER districts_truncate_outdate_public AFTER TRUNCATE ON districts
    FOR EACH STATEMENT EXECUTE FUNCTION public_documents_outdate_now();
CREATE TRIGGER streets_truncate_outdate_public AFTER TRUNCATE ON streets
    FOR EACH STATEMENT EXECUTE FUNCTION public_documents_outdate_now();
CREATE TRIGGER communities_truncate_outdate_public AFTER TRUNCATE ON communities
    FOR EACH STATEMENT EXECUTE FUNCTION public_documents_outdate_now();
CREATE TRIGGER editions_truncate_outdate_public AFTER TRUNCATE ON editions
    FOR EACH STATEMENT EXECUTE FUNCTION public_documents_outdate_now();
CREATE TRIGGER cases_truncate_outdate_public AFTER TRUNCATE ON cases
    FOR EACH STATEMENT EXECUTE FUNCTION public_documents_outdate_now();
CREATE TRIGGER case_photos_truncate_outdate_public AFTER TRUNCATE ON case_photos
    FOR EACH STATEMENT EXECUTE FUNCTION public_documents_outdate_now();
CREATE TRIGGER case_events_truncate_outdate_public AFTER TRUNCATE ON case_events
    FOR EACH STATEMENT EXECUTE FUNCTION public_documents_outdate_now();
