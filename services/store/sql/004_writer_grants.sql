-- 004_writer_grants.sql - what the search indexer needs as newspipe_writer
--
-- The indexer takes queued ids with SELECT ... FOR UPDATE SKIP LOCKED, which needs UPDATE on
-- search_queue; 002 granted only SELECT, INSERT and DELETE. Found by test_writer_role (store
-- running as a login member of newspipe_writer, as docker compose runs it).
GRANT UPDATE ON search_queue TO newspipe_writer;
