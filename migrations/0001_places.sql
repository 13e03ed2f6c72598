-- The places the portal is about: the district (the deployment's owner),
-- its streets (the tenants) and their communities with their elected
-- committees. Runs as the owner role; the application role portal_app gets
-- only what it needs. Row-level security for tenant data comes with the
-- accounts migration.

GRANT SELECT ON schema_migrations TO portal_app;

CREATE TABLE districts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name       text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 100),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE streets (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    district_id bigint NOT NULL REFERENCES districts (id),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (district_id, name)
);

CREATE TABLE communities (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    street_id            bigint NOT NULL REFERENCES streets (id),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    committee_elected_on date,
    committee_size       integer CHECK (committee_size BETWEEN 1 AND 99),
    secretary_name       text CHECK (length(secretary_name) <= 50),
    secretary_post       text CHECK (length(secretary_post) <= 100),
    created_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (street_id, name)
);
CREATE INDEX communities_street_idx ON communities (street_id);

GRANT SELECT ON districts, streets, communities TO portal_app;
