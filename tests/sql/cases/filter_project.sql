-- Projection, arithmetic, CASE, BETWEEN, IN and IS NULL over a csv stream, append mode.
CREATE STREAM tx (user_id BIGINT, amount BIGINT, ts BIGINT)
  USING csv OPTIONS (path 'data/tx', header 'true', maxFilesPerTrigger '1');
SELECT user_id,
       amount * 2 AS double_amount,
       CASE WHEN amount >= 100 THEN 'big' WHEN amount IS NULL THEN 'none' ELSE 'small' END AS size,
       amount / 4 AS quarter
FROM tx
WHERE (amount BETWEEN 10 AND 500 OR amount IS NULL) AND user_id IN (1, 2);
