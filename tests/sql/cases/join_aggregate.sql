-- A stream joined with a static table (USING), filtered and aggregated per city; complete mode.
CREATE STREAM tx (user_id BIGINT, amount BIGINT, ts BIGINT)
  USING csv OPTIONS (path 'data/tx', header 'true', maxFilesPerTrigger '1');
CREATE TABLE users (user_id BIGINT, name STRING, city STRING)
  USING csv OPTIONS (path 'data/users.csv', header 'true');
SELECT city, count(*) AS n, sum(amount) AS total
FROM tx JOIN users USING (user_id)
WHERE city <> ''
GROUP BY city;
