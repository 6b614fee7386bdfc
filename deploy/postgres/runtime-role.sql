-- The role the services serve as (issue 4): it logs in and owns nothing. Each part's migration
-- (run as the tables' owner) grants it what serving needs: rows of its tables, only SELECT and
-- INSERT on audit_entry, and EXECUTE on audit_entry_prune (services/common/migrate.py).
-- Run by the tables' owner, as often as you like (it sets the password each time):
--   psql -v ON_ERROR_STOP=1 -v password="$ZHUCUN_SERVICE_PASSWORD" -d postgres -f runtime-role.sql
SELECT 'CREATE ROLE zhucun_service'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'zhucun_service') \gexec
ALTER ROLE zhucun_service
  LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD :'password';
