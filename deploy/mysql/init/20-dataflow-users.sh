#!/bin/bash
# Runs once, on an empty data directory, after 10-oltp_orders.sql (docker-entrypoint-initdb.d order).
# Creates the two service accounts with the least privileges each needs:
#   debezium      the CDC connector: read + replication (Debezium's documented grant set)
#   dataflow_bot  the bot: read oltp.*, ALTER for an approved rollback (DROP COLUMN) and the chaos
#                 drill, the binlog for DDL forensics (SHOW BINARY LOGS / SHOW BINLOG EVENTS), and
#                 PROCESS: the revert's guard must see other sessions' open transactions (INNODB_TRX)
#                 that an ALTER would wait for. scripts/stack/stacklib/mariadb.py grants the same.
# dataflow_bot uses mysql_native_password: PyMySQL's caching_sha2_password needs TLS or the
# `cryptography` package for the first login, and this stack talks plain TCP on a private network.
# The image may source this file rather than execute it, so no `set -u` (it would leak into its shell).

for var in MYSQL_ROOT_PASSWORD MYSQL_DEBEZIUM_PASSWORD MYSQL_BOT_PASSWORD; do
  if [ -z "${!var:-}" ]; then
    echo "20-dataflow-users.sh: $var is not set" >&2
    exit 1
  fi
done

# A string literal for SQL: backslashes and single quotes doubled.
sql_string() {
  local value=${1//\\/\\\\}
  printf "'%s'" "${value//\'/\'\'}"
}

MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql --protocol=socket -uroot <<SQL
CREATE USER IF NOT EXISTS 'debezium'@'%' IDENTIFIED BY $(sql_string "$MYSQL_DEBEZIUM_PASSWORD");
GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'debezium'@'%';
CREATE USER IF NOT EXISTS 'dataflow_bot'@'%'
  IDENTIFIED WITH mysql_native_password BY $(sql_string "$MYSQL_BOT_PASSWORD");
GRANT SELECT, ALTER ON oltp.* TO 'dataflow_bot'@'%';
GRANT REPLICATION SLAVE, REPLICATION CLIENT, PROCESS ON *.* TO 'dataflow_bot'@'%';
FLUSH PRIVILEGES;
SQL
