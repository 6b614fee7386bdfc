-- The role the services serve as (issue 4): it logs in and owns nothing. Each part's migration
-- (run as the tables' owner) grants it what serving needs: rows of its tables, only SELECT and
-- INSERT on audit_entry, and EXECUTE on audit_entry_prune (services/common/migrate.py).
-- Run by the tables' owner (a superuser is not needed: CREATEROLE is enough), as often as you
-- like; the password comes from the environment, so it shows in no command line:
--   ZHUCUN_SERVICE_PASSWORD=... psql -v ON_ERROR_STOP=1 -d postgres -f runtime-role.sql
\getenv password ZHUCUN_SERVICE_PASSWORD
-- A new role is NOSUPERUSER, NOCREATEDB, NOCREATEROLE, NOREPLICATION and NOBYPASSRLS already.
SELECT 'CREATE ROLE zhucun_service LOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'zhucun_service') \gexec
ALTER ROLE zhucun_service LOGIN PASSWORD :'password';
