-- expect-error: UNSUPPORTED_FEATURE 5:32
CREATE STREAM tx (user_id BIGINT, amount BIGINT, ts BIGINT) USING csv OPTIONS (path 'data/tx', header 'true');
CREATE TABLE users (user_id BIGINT, name STRING, city STRING)
  USING csv OPTIONS (path 'data/users.csv', header 'true');
SELECT * FROM tx JOIN users ON amount > 3;
