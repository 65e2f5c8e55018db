-- GROUP BY with every aggregate, HAVING, and expressions over aggregates; update mode.
CREATE STREAM tx (user_id BIGINT, amount BIGINT, ts BIGINT)
  USING csv OPTIONS (path 'data/tx', header 'true', maxFilesPerTrigger '1');
CREATE SINK out USING console OPTIONS (outputMode 'update');
INSERT INTO out
SELECT user_id,
       count(*) AS n,
       count(amount) AS amounts,
       count(DISTINCT amount) AS kinds,
       sum(amount) AS total,
       avg(amount) AS mean,
       min(amount) AS lo,
       max(amount) - min(amount) AS spread
FROM tx
GROUP BY user_id
HAVING count(*) >= 2;
