-- A CTE and a UNION ALL: large payments and delayed flights as one stream of alerts, append mode.
-- The second CTE names its columns. Batch 0 reads tx/1 (user 2 paid 300) and flights/1 (F1 45
-- and F3 60 minutes late); batch 1 reads tx/2 (user 2 paid 300 and 900; user 1's empty amount
-- is null, and null >= 300 is not true) and flights/2 (F5 50; F6 at 35 is not over 40).
-- Each batch's rows come sorted.
CREATE STREAM tx (user_id BIGINT, amount BIGINT, ts BIGINT)
  USING csv OPTIONS (path 'data/tx', header 'true', maxFilesPerTrigger '1');
CREATE STREAM flights (flight STRING, airport STRING, delay BIGINT)
  USING csv OPTIONS (path 'data/flights', header 'true', maxFilesPerTrigger '1');
CREATE SINK out USING console OPTIONS (outputMode 'append');
INSERT INTO out
WITH big AS (SELECT CAST(user_id AS STRING) AS what, amount AS size FROM tx WHERE amount >= 300),
     late (what, size) AS (SELECT flight, delay FROM flights WHERE delay > 40)
SELECT what, size FROM big
UNION ALL
SELECT * FROM late;
