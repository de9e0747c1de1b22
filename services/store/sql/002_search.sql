-- 002_search.sql - full-text search, filled behind the writer
--
-- Computing a tsvector while inserting caps the write path (measured here on Reuters, COPY:
-- 49k rows/s plain; 14k with a precomputed tsvector column, because PostgreSQL parses tsvector
-- literals slowly; 4.8k with its GIN index; to_tsvector itself ~8.6k rows/s). So the write
-- transaction only queues the new article's id (one narrow row), and store's indexer moves
-- queued articles into article_search in batches, on its own connection, yielding while the
-- writer is saturated. Search is therefore eventually consistent: an article is searchable
-- shortly after it is stored, later when the pipeline runs flat out. Ranking weights: title A,
-- summary B, body C, background and insights D.

CREATE FUNCTION newspipe_document(title text, summary text, body text, extra jsonb)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT setweight(to_tsvector('english', coalesce(title, '')), 'A')
        || setweight(to_tsvector('english', coalesce(summary, '')), 'B')
        || setweight(to_tsvector('english', coalesce(body, '')), 'C')
        || setweight(to_tsvector('english', coalesce(extra ->> 'background', '') || ' '
                                            || coalesce(extra ->> 'insights', '')), 'D')
$$;

CREATE TABLE search_queue (
    article_id text PRIMARY KEY
);

CREATE TABLE article_search (
    article_id text PRIMARY KEY REFERENCES articles (id) ON DELETE CASCADE,
    document tsvector NOT NULL,
    indexed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX article_search_document ON article_search USING gin (document);

-- Articles stored before this migration get indexed too.
INSERT INTO search_queue (article_id) SELECT id FROM articles;

GRANT SELECT, INSERT, DELETE ON search_queue TO newspipe_writer;
GRANT SELECT, INSERT, UPDATE ON article_search TO newspipe_writer;
GRANT SELECT ON article_search TO newspipe_reader;
