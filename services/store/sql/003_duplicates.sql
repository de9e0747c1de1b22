-- 003_duplicates.sql - duplicates of stored articles, for "duplicates over time"
--
-- An article message whose id is already stored, with another ingest seq than the stored row
-- (a redelivery keeps its seq: that is not a duplicate), is recorded here instead of becoming a
-- second row. ingest marks the ones it recognises ("duplicate" reply); others (after a restart,
-- or once the id left ingest's memory) are found by store the same way. UNIQUE makes a
-- redelivered duplicate count once.
CREATE TABLE article_duplicates (
    article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    ingest_seq bigint NOT NULL,
    received_at timestamptz NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (article_id, ingest_seq)
);
CREATE INDEX article_duplicates_received_at ON article_duplicates (received_at);

GRANT SELECT, INSERT ON article_duplicates TO newspipe_writer;
GRANT SELECT ON article_duplicates TO newspipe_reader;
