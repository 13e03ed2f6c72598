-- A ready-made answer made from an earlier generation can never be served
-- again (the generation only moves forward), and one kept under an older
-- build's or public URL's format joins them at the next change. The pool's
-- idle collection (the photo collection's run) deletes them.
GRANT DELETE ON public_documents TO portal_app;
