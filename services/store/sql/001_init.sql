-- 001_init.sql - newspipe's tables, indexes, analyst views and roles
--
-- Applied by newspipe-store at start, inside the migration transaction (see store_db.c), and
-- recorded in schema_migrations. Never edit a migration that has shipped: add a new file.
--
-- Roles. newspipe_writer may insert, select and update newspipe's tables (what store needs);
-- newspipe_reader may only select (analysts, Grafana). Both are NOLOGIN groups: a deployment
-- creates its login users in them, e.g.
--     CREATE ROLE store_app LOGIN PASSWORD '...' IN ROLE newspipe_writer;
--     CREATE ROLE analyst LOGIN PASSWORD '...' IN ROLE newspipe_reader;
-- Roles are cluster-wide while this file runs once per database, so creating them tolerates
-- another database (or another store) having created them first. A store that connects as a
-- newspipe_writer user cannot run DDL: apply migrations once as the owner
-- (newspipe-store --migrate-only), after which the writer finds nothing to apply.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'newspipe_writer') THEN
        BEGIN
            CREATE ROLE newspipe_writer NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'newspipe_reader') THEN
        BEGIN
            CREATE ROLE newspipe_reader NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;
        END;
    END IF;
END
$$;

-- One row per article id. Columns hold what analysts query; the article's remaining fields
-- (background, insights, authors, unknown client fields) are in extra. tags is denormalised
-- from article_tags for fast "articles with tag X" queries (GIN).
CREATE TABLE articles (
    id           text PRIMARY KEY,
    url          text,
    title        text NOT NULL,
    body         text,
    summary      text,
    source       text,
    lang         text,
    region       text,
    published_at timestamptz,
    received_at  timestamptz NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    tags         text[] NOT NULL DEFAULT '{}',
    source_tags  text[] NOT NULL DEFAULT '{}',
    content_hash text NOT NULL,
    classifier   text,
    extra        jsonb NOT NULL DEFAULT '{}',
    ingest_seq   bigint
);

CREATE INDEX articles_tags_gin ON articles USING gin (tags);
CREATE INDEX articles_published_at ON articles (published_at);
CREATE INDEX articles_received_at ON articles (received_at);

-- Why an article carries a tag: score and evidence (phrases, field, count, first offset).
CREATE TABLE article_tags (
    article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    tag        text NOT NULL,
    score      real,
    evidence   jsonb,
    classifier text,
    PRIMARY KEY (article_id, tag)
);

CREATE INDEX article_tags_tag ON article_tags (tag);

CREATE TABLE article_entities (
    article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    entity     text NOT NULL,
    kind       text,
    mentions   integer,
    PRIMARY KEY (article_id, entity)
);

CREATE INDEX article_entities_entity ON article_entities (entity);

-- Everything refused anywhere in the pipeline, raw bytes included, so nothing pushed is lost
-- silently. (origin, seq) identifies a journaled message: a redelivered rejection is not a
-- second row. Rows without a seq (garbled between workers) are all kept.
CREATE TABLE rejected_messages (
    id          bigserial PRIMARY KEY,
    received_at timestamptz,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    stage       text NOT NULL,
    channel     text,
    reason      text NOT NULL,
    field       text,
    sqlstate    text,
    origin      text,
    seq         bigint,
    raw         bytea,
    envelope    bytea,
    UNIQUE (origin, seq)
);

CREATE INDEX rejected_messages_stored_at ON rejected_messages (stored_at);

-- Analyst views.

-- One row per article, with its tags, entities and region.
CREATE VIEW article_overview AS
SELECT a.id,
       a.title,
       a.url,
       a.source,
       a.lang,
       a.region,
       a.published_at,
       a.received_at,
       a.stored_at,
       a.tags,
       a.source_tags,
       a.classifier,
       coalesce(e.entities, '{}') AS entities,
       coalesce(e.entity_details, '[]') AS entity_details
FROM articles a
LEFT JOIN LATERAL (
    SELECT array_agg(ae.entity ORDER BY ae.mentions DESC NULLS LAST, ae.entity) AS entities,
           jsonb_agg(jsonb_build_object('entity', ae.entity, 'kind', ae.kind,
                                        'mentions', ae.mentions)
                     ORDER BY ae.mentions DESC NULLS LAST, ae.entity) AS entity_details
    FROM article_entities ae
    WHERE ae.article_id = a.id
) e ON true;

-- Articles per tag per day (UTC), by publication date, else by arrival.
CREATE VIEW tag_daily AS
SELECT (coalesce(a.published_at, a.received_at) AT TIME ZONE 'UTC')::date AS day,
       t.tag,
       count(*) AS articles
FROM articles a
CROSS JOIN LATERAL unnest(a.tags) AS t(tag)
GROUP BY 1, 2;

-- Tags that occur together, each unordered pair once (tag_a < tag_b).
CREATE VIEW tag_pairs AS
SELECT t1.tag AS tag_a,
       t2.tag AS tag_b,
       count(*) AS articles
FROM articles a
CROSS JOIN LATERAL unnest(a.tags) AS t1(tag)
CROSS JOIN LATERAL unnest(a.tags) AS t2(tag)
WHERE t1.tag < t2.tag
GROUP BY 1, 2;

-- Privileges (the roles exist by now). TEMPORARY: store stages each batch in temp tables.
GRANT SELECT, INSERT, UPDATE ON articles, article_tags, article_entities, rejected_messages
    TO newspipe_writer;
GRANT SELECT ON schema_migrations TO newspipe_writer;
GRANT USAGE, SELECT ON SEQUENCE rejected_messages_id_seq TO newspipe_writer;
GRANT SELECT ON articles, article_tags, article_entities, rejected_messages, schema_migrations,
    article_overview, tag_daily, tag_pairs TO newspipe_reader;

DO $$
BEGIN
    EXECUTE format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO newspipe_writer',
                   current_database());
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO newspipe_reader', current_database());
END
$$;
