-- expect-error: INVALID_PLAN 4:17
CREATE STREAM tx (user_id BIGINT, amount BIGINT, ts BIGINT)
  USING csv OPTIONS (path 'data/tx', header 'true');
SELECT user_id, amount FROM tx GROUP BY user_id;
