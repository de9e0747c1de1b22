-- postgres-init.sql - login roles for docker compose (run once, when the cluster is created)
--
-- newspipe_writer and newspipe_reader are NOLOGIN roles that store's migrations grant rights
-- to (services/store/sql/001_init.sql); here they get login members. The owner ("newspipe",
-- POSTGRES_USER) applies the migrations (the compose service "migrate"); store then runs as
-- newspipe_store, which can only read and write newspipe's tables; analysts use
-- newspipe_analyst, which can only read. Change the passwords for anything but a laptop.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'newspipe_writer') THEN
        CREATE ROLE newspipe_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'newspipe_reader') THEN
        CREATE ROLE newspipe_reader NOLOGIN;
    END IF;
END
$$;

CREATE ROLE newspipe_store LOGIN PASSWORD 'newspipe_store' IN ROLE newspipe_writer;
CREATE ROLE newspipe_analyst LOGIN PASSWORD 'newspipe_analyst' IN ROLE newspipe_reader;
