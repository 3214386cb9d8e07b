-- The demo table of the orders pipeline (config/pipelines.yml) and a few seed rows.
-- Must match schemas/oltp/orders.yml, the table's contract: tests/schema checks that it does.
CREATE DATABASE IF NOT EXISTS oltp;
USE oltp;

CREATE TABLE IF NOT EXISTS orders (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  customer_id BIGINT UNSIGNED NOT NULL,
  status      VARCHAR(32)     NOT NULL DEFAULT 'pending',
  amount      DECIMAL(12,2)   NOT NULL,
  currency    CHAR(3)         NOT NULL DEFAULT 'USD',
  created_at  TIMESTAMP       NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at  TIMESTAMP       NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
  PRIMARY KEY (id),
  KEY idx_orders_customer_id (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='dataflow-demo';

-- INSERT IGNORE with fixed ids: running this file again adds nothing.
INSERT IGNORE INTO orders (id, customer_id, status, amount, currency) VALUES
  (1, 1001, 'pending', 19.99, 'USD'),
  (2, 1002, 'paid', 250.00, 'EUR'),
  (3, 1003, 'shipped', 5.50, 'USD'),
  (4, 1001, 'paid', 42.00, 'USD');
