-- 005_entity_about.sql - whether the story is about an entity, and how salient it is
--
-- classify marks each entity with a salience in [0, 1] (title, lead, dateline, share of the
-- mentions of its kind) and `about` when the story is about it (salience >= the taxonomy's
-- about_min); the article's region comes from the countries it is about. A country named by
-- hints only (a corporate form, a currency; no mention) has mentions 0 and about true. Rows
-- from a classifier that does not send them keep NULL.
ALTER TABLE article_entities
    ADD COLUMN salience real,
    ADD COLUMN about    boolean;

-- "Articles about Japan" reads the about rows only.
CREATE INDEX article_entities_about ON article_entities (entity) WHERE about;
