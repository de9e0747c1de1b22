-- 006_section.sql - the publisher's section of an article ("China / Economy")
--
-- The article field `section` (np/article.h's field table) has a column of its own; articles
-- stored before this migration, and articles that do not say, keep NULL.
ALTER TABLE articles ADD COLUMN section text;
